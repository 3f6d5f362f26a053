/**
 * Which team a key belongs to, without a D1 round trip on every call: a key never changes team,
 * so this isolate remembers the answer (with the team's `resumable_by_default`, which a call that
 * leaves `resumable` out needs, for a minute) and asks D1 only on a miss. It says nothing about
 * whether the key may act: the team's account checks that on every call, and is authoritative
 * for revocation and expiry.
 */
import { first, namedSql, rows, run } from '../db/statement';

const TTL_MS = 60_000;
const MAX_ENTRIES = 10_000;

export interface KeyTeam {
  teamId: string;
  resumableByDefault: boolean;
}

const known = new Map<string, { team: KeyTeam; until: number }>();

const LOOKUP = namedSql(`SELECT k.team_id AS teamId, t.resumable_by_default AS resumable
  FROM api_keys k JOIN teams t ON t.id = k.team_id WHERE k.key_hash = :keyHash`);

/** The key's team (null: D1 knows no such key). */
export async function keyTeam(d1: D1Database, keyHash: string, now = Date.now()): Promise<KeyTeam | null> {
  const hit = known.get(keyHash);
  if (hit && hit.until > now) return hit.team;
  const row = await run(d1, first(rows<{ teamId: string; resumable: number }>(LOOKUP, { keyHash })));
  if (!row) return null;
  const team = { teamId: row.teamId, resumableByDefault: row.resumable === 1 };
  if (known.size >= MAX_ENTRIES) known.clear();
  known.set(keyHash, { team, until: now + TTL_MS });
  return team;
}
