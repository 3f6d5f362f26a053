/**
 * The answers of a team's earlier calls, as their rows keep them, for a request that refers to
 * one instead of repeating it (the Responses API's `item_reference`). A client may refer to an
 * answer the moment it has read it, before its books are written under `waitUntil`: a missing
 * row is waited for (this isolate's pending books, then one later read for another isolate's).
 * A row is read from D1 and from the team's account, which keeps it until D1 has its copy.
 */
import { type Accounts, keyAccount } from '../accounts/account/db';
import type { Caller } from '../auth/caller';
import { namedSql, rows } from '../db/statement';
import { booksSettled } from '../jobs/settling';

export interface EarlierAnswer {
  content: string;
  /** The row holds only the answer's start (calls/stored-answer.ts). */
  truncated: boolean;
}

interface AnswerRow {
  id: string;
  teamId: string;
  content: string;
  truncated: number;
}

const answers = namedSql(`SELECT id, team_id AS teamId, content, stored_truncated AS truncated
  FROM llm_calls WHERE id IN (SELECT value FROM json_each(:ids))`);

/** How long a later read waits for another isolate's books. */
const LATE_BOOKS_MS = 500;

/** The caller's team's calls among `callIds`, by id; another team's are not found. */
export async function earlierAnswers(
  deps: { d1: D1Database; accounts: Accounts },
  caller: Caller,
  callIds: readonly string[],
): Promise<Map<string, EarlierAnswer>> {
  const found = new Map<string, EarlierAnswer>();
  const account = await keyAccount(deps, caller.keyHash, { record: 'soon' });
  const read = async (ids: readonly string[]) => {
    const statement = rows<AnswerRow>(answers, { ids: JSON.stringify(ids) });
    const both = await Promise.all([caller.batch(deps.d1, [statement]), caller.batch(account, [statement])]);
    for (const [principal, list] of both)
      for (const row of list)
        if (row.teamId === principal.teamId)
          found.set(row.id, { content: row.content, truncated: row.truncated === 1 });
  };
  const missing = () => callIds.filter((id) => !found.has(id));
  await read(callIds);
  for (const wait of [(id: string) => booksSettled(id, 2000), () => sleep(LATE_BOOKS_MS)]) {
    if (!missing().length) break;
    await Promise.all(missing().map(wait));
    await read(missing());
  }
  return found;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
