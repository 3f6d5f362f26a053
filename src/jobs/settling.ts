/**
 * Calls whose books this isolate is still writing, by their job's id and by their own. A read
 * that must see a call's row waits for them: `complete` (a client that completes a job right
 * after `[DONE]` gets costs that include that call), and a Responses request that refers to the
 * answer it just streamed. Across isolates the call row lands a few milliseconds later and
 * shows up in later reads.
 */
const pending = new Map<string, Set<Promise<unknown>>>();

/** Registers a call's books under each of `ids` (its job's, its own) until they are written (or failed). */
export function trackSettling(ids: readonly string[], work: Promise<unknown>): Promise<unknown> {
  for (const id of ids) {
    let set = pending.get(id);
    if (!set) pending.set(id, (set = new Set()));
    set.add(work);
  }
  return work.finally(() => {
    for (const id of ids) {
      const set = pending.get(id);
      set?.delete(work);
      if (set?.size === 0) pending.delete(id);
    }
  });
}

/** Resolves once this isolate has written the books registered under `id`, or after `timeoutMs`. */
export async function booksSettled(id: string, timeoutMs = 5000): Promise<void> {
  const set = pending.get(id);
  if (!set?.size) return;
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([
    Promise.allSettled([...set]),
    new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs))),
  ]);
  if (timer !== undefined) clearTimeout(timer);
}
