import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { api, books, get, post, setupTeam, uniqueId } from '../support/api';

describe('admin routes', () => {
  it('refuse requests without the right X-Admin-Key', async () => {
    for (const headers of [{}, { 'x-admin-key': 'wrong' }, { 'x-admin-key': '' }] as Record<string, string>[]) {
      const res = await api('POST', '/admin/teams', { headers, body: { team_id: uniqueId('t') } });
      expect(res.status).toBe(401);
      expect(((await res.json()) as any).error.code).toBe('invalid_admin_key');
    }
    expect((await api('DELETE', '/admin/keys/key_x', { headers: { 'x-admin-key': 'nope' } })).status).toBe(401);
  });

  it('create a team with credits: one grant ledger row; a second create is 409', async () => {
    const teamId = uniqueId('team');
    const res = await api('POST', '/admin/teams', {
      admin: true,
      body: { team_id: teamId, name: 'Acme', credits: 250 },
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      team_id: teamId,
      name: 'Acme',
      credits_remaining: 250,
      credits_held: 0,
      status: 'active',
    });
    expect(await books(teamId)).toEqual({ balance: 250, held: 0, ledgerSum: 250, activeHolds: 0 });
    const again = await api('POST', '/admin/teams', { admin: true, body: { team_id: teamId } });
    expect(again.status).toBe(409);
  });

  it('add and subtract credits through the ledger; an overdraw is refused and writes nothing', async () => {
    const teamId = uniqueId('team');
    await api('POST', '/admin/teams', { admin: true, body: { team_id: teamId, credits: 10 } });
    const add = await api('POST', `/admin/teams/${teamId}/credits`, {
      admin: true,
      body: { credits: 5, reason: 'top-up' },
    });
    expect(((await add.json()) as any).credits_remaining).toBe(15);
    const sub = await api('POST', `/admin/teams/${teamId}/credits`, {
      admin: true,
      body: { credits: -4, reason: 'refund' },
    });
    expect(((await sub.json()) as any).credits_remaining).toBe(11);
    const over = await api('POST', `/admin/teams/${teamId}/credits`, { admin: true, body: { credits: -12 } });
    expect(over.status).toBe(409);
    expect(await books(teamId)).toEqual({ balance: 11, held: 0, ledgerSum: 11, activeHolds: 0 });
    const { results } = await env.DB.prepare(
      'SELECT kind, amount, reason FROM credit_ledger WHERE team_id = ? ORDER BY created_at',
    )
      .bind(teamId)
      .all();
    expect(results).toEqual([
      { kind: 'grant', amount: 10, reason: 'initial credits' },
      { kind: 'grant', amount: 5, reason: 'top-up' },
      { kind: 'adjustment', amount: -4, reason: 'refund' },
    ]);
    expect((await api('POST', '/admin/teams/nope/credits', { admin: true, body: { credits: 1 } })).status).toBe(404);
    expect((await api('POST', `/admin/teams/${teamId}/credits`, { admin: true, body: { credits: 0 } })).status).toBe(
      400,
    );
  });

  it('issue a key: shown once, stored only as a hash, works at once; revoked keys get 401 at once', async () => {
    const teamId = uniqueId('team');
    await api('POST', '/admin/teams', { admin: true, body: { team_id: teamId, credits: 3 } });
    const res = await api('POST', `/admin/teams/${teamId}/keys`, { admin: true, body: { name: 'backend' } });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const { key, key_id, prefix } = (await res.json()) as any;
    expect(key).toMatch(/^sk-sluice-[0-9A-Za-z]{43}$/);
    expect(key.startsWith(prefix)).toBe(true);

    const stored = await env.DB.prepare('SELECT * FROM api_keys WHERE id = ?')
      .bind(key_id)
      .first<Record<string, unknown>>();
    expect(Object.values(stored!)).not.toContain(key);
    // The hash is SHA-256 of the secret in hex: the format every key already stored was written in.
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(key));
    const hex = Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
    expect(stored!.key_hash).toBe(hex);

    expect((await get(`/api/teams/${teamId}/credits`, key)).status).toBe(200);
    expect((await api('DELETE', `/admin/keys/${key_id}`, { admin: true })).status).toBe(200);
    expect((await get(`/api/teams/${teamId}/credits`, key)).status).toBe(401);
    expect((await api('DELETE', '/admin/keys/key_missing', { admin: true })).status).toBe(404);
    expect((await api('POST', '/admin/teams/missing/keys', { admin: true, body: {} })).status).toBe(404);
  });

  it('GET /health answers without auth', async () => {
    expect(await (await get('/health')).json()).toEqual({ status: 'ok' });
  });

  it('unknown routes are a 404 in the error shape', async () => {
    // Under a surface that needs a key, the key is checked first: a caller without one learns nothing.
    expect((await post('/api/nothing', {})).status).toBe(401);
    const { key } = await setupTeam(1);
    const res = await post('/api/nothing', {}, key);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.type).toBe('not_found_error');
    const outside = await post('/nothing', {});
    expect(outside.status).toBe(404);
    expect(((await outside.json()) as any).error.type).toBe('not_found_error');
  });
});
