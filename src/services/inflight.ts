/**
 * Post-stream bookkeeping still running in this isolate, by job. `complete` waits for these so
 * a client that completes a job right after `[DONE]` gets costs that include that call. Across
 * isolates the call row lands a few milliseconds later and shows up in later reads.
 */
const pending = new Map<string, Set<Promise<unknown>>>();

export function track(jobId: string, work: Promise<unknown>): Promise<unknown> {
  let set = pending.get(jobId);
  if (!set) pending.set(jobId, (set = new Set()));
  set.add(work);
  const done = work.finally(() => {
    set.delete(work);
    if (set.size === 0) pending.delete(jobId);
  });
  return done;
}

export async function settled(jobId: string, timeoutMs = 5000): Promise<void> {
  const set = pending.get(jobId);
  if (!set?.size) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled([...set]),
    new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  if (timer !== undefined) clearTimeout(timer);
}
