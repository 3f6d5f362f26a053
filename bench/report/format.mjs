// How figures are written in the console tables.

export const KiB = 1024;
export const MiB = 1024 * 1024;

const missing = (v) => v === null || v === undefined || Number.isNaN(v);
/** A figure with `d` decimals, or `-` when there is none. */
export const f = (v, d = 2) => (missing(v) ? '-' : v.toFixed(d));
/** A difference: signed, with `d` decimals, or `-` when there is none. */
export const sgn = (v, d = 2) => (missing(v) ? '-' : (v >= 0 ? '+' : '') + v.toFixed(d));

/** Prints a table: the first column left-aligned, the others right-aligned, a rule under the header. */
export function printTable(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (r) =>
    r.map((v, i) => (i === 0 ? String(v).padEnd(widths[i]) : String(v).padStart(widths[i]))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}
