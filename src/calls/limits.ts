/**
 * Admission's counters: the rate windows (requests and tokens per fixed minute, per team and per
 * key) and the stream slots behind the per-team concurrency cap. They live in D1 so every
 * isolate sees the same counts, and they join the batches a call sends anyway.
 */
import { type Statement, namedSql, rows, write } from '../db/statement';

/** An in-flight row older than this no longer counts against the concurrency cap (its isolate died). */
export const STREAM_SLOT_TTL_MS = 10 * 60_000;
export const RATE_WINDOW_MS = 60_000;
/** Rate windows older than this are history; limits only read the current minute. */
const RATE_WINDOW_KEEP_MS = 5 * 60_000;

export const windowStart = (now: number) => now - (now % RATE_WINDOW_MS);

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
