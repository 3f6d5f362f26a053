import { z } from '@hono/zod-openapi';
import { badRequest } from '../errors';

/** `?limit=&cursor=` on every list route. The cursor is opaque to callers. */
export const PageQueryShape = {
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .openapi({ param: { name: 'limit', in: 'query' }, description: 'Page size (1-200, default 50)' }),
  cursor: z
    .string()
    .min(1)
    .max(512)
    .optional()
    .openapi({ param: { name: 'cursor', in: 'query' }, description: 'The `next_cursor` of the previous page' }),
};

/** A page of `item`s; `next_cursor` is null on the last page. */
export const page = <T extends z.ZodType>(item: T, name: string) =>
  z.object({ data: z.array(item), next_cursor: z.string().nullable() }).openapi(name);

type Key = (string | number)[];

/**
 * Cursors carry the sort key of the last row shown (keyset pagination, so rows inserted
 * meanwhile never shift a page). base64url JSON: opaque to callers, cheap to check.
 */
export function encodeCursor(key: Key): string {
  const bytes = new TextEncoder().encode(JSON.stringify(key));
  return btoa(String.fromCharCode(...bytes))
    .replaceAll('+', '-')
    .replaceAll('/', '_')
    .replace(/=+$/, '');
}

/** The sort key inside `cursor`, checked against `shape`; anything else is a 400 naming `cursor`. */
export function decodeCursor<T extends z.ZodType<Key>>(cursor: string | undefined, shape: T): z.infer<T> | null {
  if (cursor === undefined) return null;
  try {
    const b64 = cursor.replaceAll('-', '+').replaceAll('_', '/');
    const bytes = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
    const parsed = shape.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through: not base64 or not JSON
  }
  throw badRequest('cursor is not a cursor this list returned', 'cursor', 'invalid_cursor');
}

/**
 * Rows were fetched with `limit + 1`: the extra row only says that another page exists,
 * and the cursor points after the last row kept.
 */
export function paginate<R, V>(rows: R[], limit: number, key: (row: R) => Key, view: (row: R) => V) {
  const kept = rows.slice(0, limit);
  const last = kept[kept.length - 1];
  return {
    data: kept.map(view),
    next_cursor: rows.length > limit && last !== undefined ? encodeCursor(key(last)) : null,
  };
}
