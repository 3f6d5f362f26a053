/**
 * A job's calls whose books this isolate is still writing. `complete` waits for them, so a
 * client that completes a job right after `[DONE]` gets costs that include that call. Across
 * isolates the call row lands a few milliseconds later and shows up in later reads.
 */
const pending = new Map<string, Set<Promise<unknown>>>();

/** Registers a call's books for its job until they are written (or failed). */
export function trackSettling(jobId: string, work: Promise<unknown>): Promise<unknown> {
  let set = pending.get(jobId);
  if (!set) pending.set(jobId, (set = new Set()));
  set.add(work);
  return work.finally(() => {
    set.delete(work);
    if (set.size === 0) pending.delete(jobId);
  });
}

/** Resolves once this isolate has written the books of the job's calls, or after `timeoutMs`. */
export async function callsSettled(jobId: string, timeoutMs = 5000): Promise<void> {
  const set = pending.get(jobId);
  if (!set?.size) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled([...set]),
    new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  if (timer !== undefined) clearTimeout(timer);
}
