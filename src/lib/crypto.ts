const encoder = new TextEncoder();

function toHex(buf: ArrayBuffer): string {
  return Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Virtual keys are 256-bit random secrets, so a fast hash is enough to store them:
 * nobody can brute-force the preimage, and a lookup by hash never compares secrets.
 */
export async function hashKey(secret: string): Promise<string> {
  return toHex(await crypto.subtle.digest('SHA-256', encoder.encode(secret)));
}

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** 43 random base62 characters: about 256 bits. */
function randomSecret(): string {
  let out = '';
  while (out.length < 43) {
    // Bytes from 248 up are dropped so that every character is equally likely (248 = 4 * 62).
    for (const b of crypto.getRandomValues(new Uint8Array(64))) {
      if (b < 248 && out.length < 43) out += BASE62[b % 62];
    }
  }
  return out;
}

/** A new virtual key: `sk-sluice-` followed by 43 base62 characters (~256 bits). */
export const generateKey = (): string => `sk-sluice-${randomSecret()}`;

/** A new stream token (one call's stream, for a while): `st-sluice-` and 43 base62 characters. */
export const generateStreamToken = (): string => `st-sluice-${randomSecret()}`;

/** The part of a key that may be shown again after creation. */
export const keyPrefix = (secret: string) => secret.slice(0, 14);

/** Constant-time equality for secrets of any length (compares their digests). */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([
    crypto.subtle.digest('SHA-256', encoder.encode(a)),
    crypto.subtle.digest('SHA-256', encoder.encode(b)),
  ]);
  return crypto.subtle.timingSafeEqual(da, db);
}

export const newId = (prefix: string) => `${prefix}_${crypto.randomUUID().replaceAll('-', '')}`;
