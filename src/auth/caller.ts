import { type Database, type Results, type Statement, batch } from '../db/statement';
import { noteKeyUse, rememberKeyUse } from './key-use';
import { type CallerRow, type Principal, callerByKeyHash, requirePrincipal } from './rule';

/**
 * The request's credential, as the key middleware found it: the hash of its virtual key. The
 * key is checked in the same batch as the route's own statements (in D1 for reads, in the team's
 * account for what moves its state), so authenticating costs no round trip of its own; writes in
 * that batch carry the rule in their SQL (`usableKey`), and reads are returned only once the rule
 * has let the key in.
 */
export class Caller {
  constructor(readonly keyHash: string) {}

  /**
   * Runs `statements` in one batch with the key's check and notes the key's use. Throws 401
   * (unknown, revoked or expired key) or 403 (suspended team) before any result is seen.
   */
  async batch<const S extends readonly Statement[]>(
    db: Database,
    statements: S,
    now = Date.now(),
  ): Promise<[Principal, ...Results<S>]> {
    const all = (await batch(db, [
      noteKeyUse(this.keyHash, now),
      callerByKeyHash(this.keyHash, now),
      ...statements,
    ])) as unknown[];
    const principal = requirePrincipal((all[1] as CallerRow[])[0]);
    rememberKeyUse(this.keyHash, principal.lastUsedAt);
    return [principal, ...(all.slice(2) as Results<S>)];
  }
}
