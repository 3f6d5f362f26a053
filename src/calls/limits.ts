/**
 * Admission's counters: the rate windows (requests and tokens per fixed minute, per team and per
 * key) and the stream slots behind the per-team concurrency cap. They live in the team's account
 * so every isolate sees the same counts, and they join the batches a call sends anyway.
 */
import { type Accounts, keyAccount } from '../accounts/account/db';
import type { Caller } from '../auth/caller';
import { usableKey } from '../auth/rule';
import { type Statement, namedSql, rows, run, write } from '../db/statement';
import { ApiError } from '../errors';

/** An in-flight row older than this no longer counts against the concurrency cap (its isolate died). */
export const STREAM_SLOT_TTL_MS = 10 * 60_000;
export const RATE_WINDOW_MS = 60_000;
/** Rate windows older than this are history; limits only read the current minute. */
const RATE_WINDOW_KEEP_MS = 5 * 60_000;

export const windowStart = (now: number) => now - (now % RATE_WINDOW_MS);

/** The window scopes of team `t` and key `k`, in SQL. */
export const TEAM_SCOPE = "'team:' || t.id";
export const KEY_SCOPE = "'key:' || k.id";

/** What the window starting at `:w` has counted for `scope` (SQL). */
export const windowCount = (scope: string, column: 'requests' | 'tokens') =>
  `coalesce((SELECT ${column} FROM rate_windows WHERE scope = ${scope} AND window_start = :w), 0)`;

/**
 * Counts one request in the team's and the key's windows at `:w`, for those with limits, when
 * the key with hash `:keyHash` may act (its values: `:keyHash`, `:w`, `:now`).
 */
export const COUNT_REQUEST = namedSql(`
  INSERT INTO rate_windows (scope, window_start, requests, tokens)
  SELECT ${TEAM_SCOPE}, :w, 1, 0 FROM api_keys k JOIN teams t ON t.id = k.team_id
  WHERE k.key_hash = :keyHash AND ${usableKey('k', 't')} AND (t.rpm_limit IS NOT NULL OR t.tpm_limit IS NOT NULL)
  UNION ALL
  SELECT ${KEY_SCOPE}, :w, 1, 0 FROM api_keys k JOIN teams t ON t.id = k.team_id
  WHERE k.key_hash = :keyHash AND ${usableKey('k', 't')} AND (k.rpm_limit IS NOT NULL OR k.tpm_limit IS NOT NULL)
  ON CONFLICT (scope, window_start) DO UPDATE SET requests = requests + 1`);

const requestsOver = namedSql(`
  SELECT CASE
      WHEN t.rpm_limit IS NOT NULL AND ${windowCount(TEAM_SCOPE, 'requests')} > t.rpm_limit
        THEN t.rpm_limit || ' requests per minute for this team'
      WHEN k.rpm_limit IS NOT NULL AND ${windowCount(KEY_SCOPE, 'requests')} > k.rpm_limit
        THEN k.rpm_limit || ' requests per minute for this key'
    END AS over
  FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.key_hash = :keyHash`);

/** 429, with the wait until the window turns. */
export function rateLimited(what: string, now: number): ApiError {
  const retryAfter = String(Math.max(1, Math.ceil((windowStart(now) + RATE_WINDOW_MS - now) / 1000)));
  return new ApiError(429, 'rate_limit_error', 'rate_limit_exceeded', `Rate limit reached: ${what}`, null, {
    'retry-after': retryAfter,
  });
}

/**
 * A request that uses a key's request allowance without making a call (a token count): it is
 * counted in the key's and its team's windows, in one batch with the key's check in the team's
 * account, and refused with 429 when either is past its requests per minute. Resolves to what
 * `read` (what the request needs to know) read from D1 meanwhile.
 */
export async function countRequest<R>(
  deps: { d1: D1Database; accounts: Accounts },
  caller: Caller,
  read: Statement<R>,
  now = Date.now(),
) {
  const values = { keyHash: caller.keyHash, w: windowStart(now), now };
  const account = await keyAccount(deps, caller.keyHash, { record: 'soon' });
  const [[, , over], result] = await Promise.all([
    caller.batch(account, [write(COUNT_REQUEST, values), rows<{ over: string | null }>(requestsOver, values)], now),
    run(deps.d1, read),
  ]);
  const limit = over[0]?.over;
  if (limit) throw rateLimited(limit, now);
  return result;
}

/** The scope names a window is counted under. */
export const teamScope = (teamId: string) => `team:${teamId}`;
export const keyScope = (keyId: string) => `key:${keyId}`;

const freeSlot = namedSql('DELETE FROM active_streams WHERE call_id = :callId');
const addTokens = namedSql(`UPDATE rate_windows SET tokens = tokens + :tokens
  WHERE window_start = :w AND scope IN ('team:' || :teamId, 'key:' || :keyId)`);
const windowsOf = namedSql(
  "SELECT scope, requests, tokens FROM rate_windows WHERE window_start = :w AND scope IN ('team:' || :teamId, 'key:' || :keyId)",
);
const slotsInUse = namedSql('SELECT count(*) AS n FROM active_streams WHERE team_id = :teamId AND started_at > :since');
const dropSlots = namedSql('DELETE FROM active_streams WHERE started_at < :before');
const dropWindows = namedSql('DELETE FROM rate_windows WHERE window_start < :before');

/** A finished stream's slot frees at once (an abandoned one expires after STREAM_SLOT_TTL_MS). */
export const releaseSlot = (callId: string) => write(freeSlot, { callId });

/** Adds a finished call's tokens to the windows it was admitted in (for tokens-per-minute limits). */
export const countTokens = (c: { teamId: string; keyId: string; windowStart: number }, tokens: number) =>
  write(addTokens, { tokens, w: c.windowStart, teamId: c.teamId, keyId: c.keyId });

export interface WindowCount {
  scope: string;
  requests: number;
  tokens: number;
}

/** The team's and the key's counts in the window starting at `w`. */
export const rateWindows = (teamId: string, keyId: string, w: number): Statement<WindowCount[]> =>
  rows<WindowCount>(windowsOf, { teamId, keyId, w });

/** Streams the team has in flight now. */
export const streamsInFlight = (teamId: string, now: number): Statement<number> => {
  const s = rows<{ n: number }>(slotsInUse, { teamId, since: now - STREAM_SLOT_TTL_MS });
  return { ...s, read: (r) => s.read(r)[0]?.n ?? 0 };
};

/** Housekeeping for what a dead isolate left: slots past their TTL, windows nobody reads. */
export const dropStaleCounters = (now: number) => [
  write(dropSlots, { before: now - STREAM_SLOT_TTL_MS }),
  write(dropWindows, { before: now - RATE_WINDOW_KEEP_MS }),
];
