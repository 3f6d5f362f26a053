import { releaseStaleCallHolds } from '../billing/ledger';
import { batch } from '../db/statement';
import { dropStaleCounters } from './limits';

/**
 * Housekeeping for what a dead isolate can leave behind: concurrency slots of streams that never
 * settled (older than STREAM_SLOT_TTL_MS, ignored by the cap already), past rate windows, and
 * call holds older than the job TTL whose call never settled, released back to their teams.
 */
export async function sweepStale(d1: D1Database, opts: { now: number; ttlSeconds: number }) {
  const [slots, windows, , holds] = await batch(d1, [
    ...dropStaleCounters(opts.now),
    ...releaseStaleCallHolds(opts.now - opts.ttlSeconds * 1000, opts.now),
  ]);
  return { slots, rateWindows: windows, callHolds: holds };
}
