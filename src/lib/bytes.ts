/** Byte chunks as one, copied once (a single chunk is returned as it is). */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  let size = 0;
  for (const p of parts) size += p.byteLength;
  const all = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return all;
}

const LF = 0x0a;

/**
 * The records in `bytes`, each ending at a line feed (`blank`: at a blank line, two line feeds),
 * as views into `bytes`, without decoding them. Bytes after the last record's end are dropped.
 */
export function records(bytes: Uint8Array, blank: boolean): Uint8Array[] {
  const out: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== LF) continue;
    if (blank) {
      if (bytes[i + 1] !== LF) continue;
      i++;
    }
    if (i + 1 - start > (blank ? 2 : 1)) out.push(bytes.subarray(start, i + 1));
    start = i + 1;
  }
  return out;
}
