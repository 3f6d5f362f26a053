import { describe, expect, it } from 'vitest';
import { books, post, setupTeam } from '../support/api';

describe('credit holds under concurrency', () => {
  it('20 concurrent job creates against 5 credits: exactly 5 succeed, the rest get 402', async () => {
    const { teamId, key } = await setupTeam(5);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => post('/api/jobs/create', { team_id: teamId, job_type: 'race' }, key)),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(5);
    expect(statuses.filter((s) => s === 402)).toHaveLength(15);
    expect(await books(teamId)).toEqual({ balance: 5, held: 5, ledgerSum: 5, activeHolds: 5 });
  });
});
