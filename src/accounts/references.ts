import { badRequest } from '../errors';
import { batch, namedSql, rows } from '../db/statement';

const orgExists = namedSql('SELECT id FROM organizations WHERE id = :id');
const knownAliases = namedSql('SELECT alias FROM models WHERE alias IN (SELECT value FROM json_each(:aliases))');

/** `allowed_models` may only name catalog aliases, and an organization must exist: 400 naming the field otherwise. */
export async function checkReferences(
  d1: D1Database,
  refs: { organization_id?: string | null; allowed_models?: string[] | null },
): Promise<void> {
  const aliases = refs.allowed_models ?? [];
  if (!refs.organization_id && !aliases.length) return;
  const [orgRows, known] = await batch(d1, [
    rows<{ id: string }>(orgExists, { id: refs.organization_id ?? '' }),
    rows<{ alias: string }>(knownAliases, { aliases: JSON.stringify(aliases) }),
  ]);
  if (refs.organization_id && !orgRows[0])
    throw badRequest(`No organization '${refs.organization_id}'`, 'organization_id', 'organization_not_found');
  const have = new Set(known.map((m) => m.alias));
  const missing = aliases.findIndex((a) => !have.has(a));
  if (missing >= 0)
    throw badRequest(`No model '${aliases[missing]}' in the catalog`, `allowed_models.${missing}`, 'model_not_found');
}

/** A foreign key failing means the organization went away between the check and the write. */
export function orgGone(err: unknown, orgId: string | null | undefined): never {
  if (orgId && String(err).includes('FOREIGN KEY constraint failed'))
    throw badRequest(`No organization '${orgId}'`, 'organization_id', 'organization_not_found');
  throw err;
}
