// Small helpers the phases share: waiting, taking turns, and progress lines on stderr.

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `arr` rotated by `k`: round k of an interleaved phase starts with a different path. */
export const rotate = (arr, k) => arr.map((_, i) => arr[(i + k) % arr.length]);

export function progress(label, done, total) {
  if (!process.stderr.isTTY) {
    if (done === total || done % Math.max(1, Math.round(total / 4)) === 0)
      console.error(`  ${label}: ${done}/${total}`);
    return;
  }
  process.stderr.write(`\r  ${label}: ${done}/${total}   ${done === total ? '\n' : ''}`);
}
