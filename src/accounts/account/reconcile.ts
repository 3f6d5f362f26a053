/**
 * An account held against its copy in D1. The equations that must hold, each checked where it
 * lives and then across:
 * - in the account: balance = opening balance (what it took from D1) + its ledger; held = its active holds;
 * - in D1: balance = its ledger; held = its active holds;
 * - across: D1's balance and held are the account's, and D1 has each of the account's ledger rows.
 * Each difference is named in words an operator can act on.
 */
type Raw = Record<string, SqlStorageValue>;

interface Facts {
  balance: number;
  held: number;
  ledgerSum: number;
  holds: number;
}

const ACCOUNT = `SELECT t.credits_balance AS balance, t.credits_held AS held,
    coalesce((SELECT value FROM meta WHERE name = 'opening_balance'), 0) AS opening,
    (SELECT coalesce(sum(amount), 0) FROM credit_ledger) AS ledgerSum,
    (SELECT coalesce(sum(amount), 0) FROM credit_holds WHERE status = 'active') AS holds
  FROM teams t`;

const D1_FACTS = `SELECT credits_balance AS balance, credits_held AS held,
    (SELECT coalesce(sum(amount), 0) FROM credit_ledger WHERE team_id = ?1) AS ledgerSum,
    (SELECT coalesce(sum(amount), 0) FROM credit_holds WHERE team_id = ?1 AND status = 'active') AS holds
  FROM teams WHERE id = ?1`;

const D1_ROWS = 'SELECT id, amount FROM credit_ledger WHERE team_id = ?1 AND id IN (SELECT value FROM json_each(?2))';

/** Ledger rows compared per D1 statement, when the sums disagree. */
const CHUNK = 500;
/** Rows named in a report, at most. */
const MAX_NAMED = 20;

/** Every difference between the account and D1 (none: they agree). The account must not change meanwhile. */
export async function compareWithD1(sql: SqlStorage, d1: D1Database, teamId: string): Promise<string[]> {
  const mine = sql.exec<Raw>(ACCOUNT).toArray()[0] as (Facts & { opening: number }) | undefined;
  const theirs = (await d1.prepare(D1_FACTS).bind(teamId).first<Facts>()) ?? null;
  if (!mine) return theirs ? ['the account has not taken the team from D1'] : [];
  if (!theirs) return ['D1 has no row for the team'];
  const found: string[] = [];
  const differ = (what: string, a: number, b: number) => {
    if (a !== b) found.push(`${what}: ${a} and ${b}`);
  };
  differ('account balance and its opening balance plus ledger', mine.balance, mine.opening + mine.ledgerSum);
  differ('account credits held and its active holds', mine.held, mine.holds);
  differ('D1 balance and its ledger', theirs.balance, theirs.ledgerSum);
  differ('D1 credits held and its active holds', theirs.held, theirs.holds);
  differ('balance in the account and in D1', mine.balance, theirs.balance);
  differ('credits held in the account and in D1', mine.held, theirs.held);
  if (mine.opening + mine.ledgerSum !== theirs.ledgerSum) found.push(...(await missingRows(sql, d1, teamId)));
  return found;
}

/** The account's ledger rows D1 lacks or has with another amount. */
async function missingRows(sql: SqlStorage, d1: D1Database, teamId: string): Promise<string[]> {
  const rows = sql
    .exec<{ id: string; amount: number }>('SELECT id, amount FROM credit_ledger ORDER BY created_at')
    .toArray();
  const named: string[] = [];
  for (let i = 0; i < rows.length && named.length < MAX_NAMED; i += CHUNK) {
    const chunk = rows.slice(i, i + CHUNK);
    const { results } = await d1
      .prepare(D1_ROWS)
      .bind(teamId, JSON.stringify(chunk.map((r) => r.id)))
      .all<{ id: string; amount: number }>();
    const inD1 = new Map(results.map((r) => [r.id, r.amount]));
    for (const row of chunk) {
      const amount = inD1.get(row.id);
      if (amount === undefined) named.push(`ledger row ${row.id} (${row.amount}) is not in D1`);
      else if (amount !== row.amount)
        named.push(`ledger row ${row.id} is ${row.amount} in the account, ${amount} in D1`);
    }
  }
  return named.slice(0, MAX_NAMED);
}
