import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { eventually, get, post, setupTeam, user, inAccount } from '../support/api';
import { admin, adminJson, expectAdminOnly, expectError, issueKey, snapshot } from '../support/admin';

const keyRow = (keyId: string) =>
  env.DB.prepare('SELECT * FROM api_keys WHERE id = ?').bind(keyId).first<Record<string, unknown>>();

describe('issuing and listing keys', () => {
  it('issue with settings: the secret once, its hash stored, the settings kept', async () => {
    const { teamId } = await setupTeam(5);
    const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
    const res = await admin('POST', `/admin/teams/${teamId}/keys`, {
      name: 'worker',
      expires_at: expiresAt,
      allowed_models: ['mock'],
      rpm_limit: 30,
      tpm_limit: 9000,
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as any;
    expect(body).toMatchObject({
      team_id: teamId,
      name: 'worker',
      status: 'active',
      expires_at: expiresAt,
      revoked_at: null,
      last_used_at: null,
      allowed_models: ['mock'],
      rpm_limit: 30,
      tpm_limit: 9000,
    });
    expect(body.key).toMatch(/^sk-sluice-/);
    expect(body.key.startsWith(body.prefix)).toBe(true);
    const row = await keyRow(body.key_id);
    expect(Object.values(row!)).not.toContain(body.key);
    expect(row).toMatchObject({ expires_at: Date.parse(expiresAt), rpm_limit: 30, tpm_limit: 9000 });
    expect((await get(`/api/teams/${teamId}/credits`, body.key)).status).toBe(200);
  });

  it('list: prefix, name, status, dates and limits; never the secret or its hash', async () => {
    const { teamId, key, keyId } = await setupTeam(5);
    const second = await issueKey(teamId, { name: 'second', rpm_limit: 5 });
    await admin('DELETE', `/admin/keys/${keyId}`);
    const res = await adminJson('GET', `/admin/teams/${teamId}/keys`);
    expect(res.status).toBe(200);
    expect(res.body.data.map((k: any) => [k.key_id, k.status])).toEqual([
      [second.key_id, 'active'],
      [keyId, 'revoked'],
    ]);
    expect(res.body.data[0]).toMatchObject({ name: 'second', prefix: second.prefix, rpm_limit: 5, tpm_limit: null });
    const text = JSON.stringify(res.body);
    const hashes = await env.DB.prepare('SELECT key_hash FROM api_keys WHERE team_id = ?').bind(teamId).all();
    for (const secret of [key, second.key]) expect(text).not.toContain(secret);
    for (const h of hashes.results as { key_hash: string }[]) expect(text).not.toContain(h.key_hash);
    expect(Object.keys(res.body.data[0])).not.toContain('key');
    await expectError(await admin('GET', '/admin/teams/nope/keys'), 404, 'team_not_found');
  });

  it('last_used_at is set on use and rewritten at most once a minute', async () => {
    const { teamId, key, keyId } = await setupTeam(5);
    expect((await keyRow(keyId))!.last_used_at).toBeNull();
    await get(`/api/teams/${teamId}/usage`, key);
    const first = await eventually(async () => (await keyRow(keyId))!.last_used_at as number | null);
    await get(`/api/teams/${teamId}/jobs`, key);
    await new Promise((r) => setTimeout(r, 50));
    expect((await keyRow(keyId))!.last_used_at).toBe(first);
    // Older than a minute: the next use moves it.
    await env.DB.prepare('UPDATE api_keys SET last_used_at = ? WHERE id = ?')
      .bind(Date.now() - 61_000, keyId)
      .run();
    await get(`/api/teams/${teamId}/usage`, key);
    await eventually(async () => (((await keyRow(keyId))!.last_used_at as number) > first ? true : null));
    const listed = await adminJson('GET', `/admin/teams/${teamId}/keys`);
    expect(listed.body.data[0].last_used_at).not.toBeNull();
  });

  it('a call sets last_used_at in its admission batch; the next within the minute leaves it', async () => {
    const { teamId, key, keyId } = await setupTeam(5);
    const call = (content: string) =>
      post('/api/jobs/create-and-call', { team_id: teamId, job_type: 'x', messages: user(content) }, key);
    const before = Date.now();
    expect((await call('one')).status).toBe(200);
    const first = (await keyRow(keyId))!.last_used_at as number;
    expect(first).toBeGreaterThanOrEqual(before);
    expect((await call('two')).status).toBe(200);
    expect((await keyRow(keyId))!.last_used_at).toBe(first);
  });

  it('an expired key gets 401 key_expired and cannot act', async () => {
    const { teamId } = await setupTeam(5);
    const k = await issueKey(teamId, { expires_at: new Date(Date.now() + 60_000).toISOString() });
    expect((await get(`/api/teams/${teamId}/usage`, k.key)).status).toBe(200);
    await inAccount(teamId, 'UPDATE api_keys SET expires_at = ? WHERE id = ?', Date.now() - 1, k.key_id);
    await expectError(await get(`/api/teams/${teamId}/credits`, k.key), 401, 'key_expired');
    await expectError(await get(`/api/teams/${teamId}/usage`, k.key), 401, 'key_expired');
    const listed = await adminJson('GET', `/admin/teams/${teamId}/keys`);
    expect(listed.body.data.find((x: any) => x.key_id === k.key_id).status).toBe('expired');
  });

  it.each([
    ['expires_at not a timestamp', { expires_at: 'tomorrow' }, 'expires_at'],
    ['expires_at in the past', { expires_at: '2020-01-01T00:00:00Z' }, 'expires_at'],
    ['name too long', { name: 'x'.repeat(201) }, 'name'],
    ['unknown model', { allowed_models: ['nope-model'] }, 'allowed_models.0'],
    ['zero rpm_limit', { rpm_limit: 0 }, 'rpm_limit'],
    ['fractional tpm_limit', { tpm_limit: 2.5 }, 'tpm_limit'],
  ])('issue: %s is a 400 naming it, nothing written', async (_name, body, param) => {
    const { teamId } = await setupTeam(1);
    const before = await snapshot();
    const res = await admin('POST', `/admin/teams/${teamId}/keys`, body);
    expect(res.status).toBe(400);
    expect(((await res.json()) as any).error.param).toBe(param);
    expect(await snapshot()).toEqual(before);
  });

  it('need the admin key', async () => {
    const { teamId, keyId } = await setupTeam(1);
    await expectAdminOnly('POST', `/admin/teams/${teamId}/keys`, {});
    await expectAdminOnly('GET', `/admin/teams/${teamId}/keys`);
    await expectAdminOnly('DELETE', `/admin/keys/${keyId}`);
    await expectAdminOnly('POST', `/admin/keys/${keyId}/rotate`, {});
    expect((await keyRow(keyId))!.revoked_at).toBeNull();
  });
});

describe('rotating keys', () => {
  it('without grace: a new secret with the same settings; the old one is revoked at once', async () => {
    const { teamId } = await setupTeam(5);
    const expiresAt = new Date(Date.now() + 86_400_000).toISOString();
    const old = await issueKey(teamId, {
      name: 'backend',
      expires_at: expiresAt,
      allowed_models: ['mock'],
      rpm_limit: 7,
      tpm_limit: 70,
    });
    const res = await admin('POST', `/admin/keys/${old.key_id}/rotate`);
    expect(res.status).toBe(201);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as any;
    expect(body).toMatchObject({
      team_id: teamId,
      name: 'backend',
      expires_at: expiresAt,
      allowed_models: ['mock'],
      rpm_limit: 7,
      tpm_limit: 70,
      status: 'active',
      replaced: { key_id: old.key_id, expires_at: expiresAt },
    });
    expect(body.key_id).not.toBe(old.key_id);
    expect(body.key).not.toBe(old.key);
    expect(body.replaced.revoked_at).not.toBeNull();
    await expectError(await get(`/api/teams/${teamId}/credits`, old.key), 401, 'key_revoked');
    expect((await get(`/api/teams/${teamId}/credits`, body.key)).status).toBe(200);
    // A revoked key cannot be rotated again.
    await expectError(await admin('POST', `/admin/keys/${old.key_id}/rotate`), 409, 'key_not_active');
    await expectError(await admin('POST', '/admin/keys/key_nope/rotate'), 404, 'key_not_found');
  });

  it('with grace: both work until the grace ends, then the old one is expired', async () => {
    const { teamId, key, keyId } = await setupTeam(5);
    const before = Date.now();
    const res = await adminJson('POST', `/admin/keys/${keyId}/rotate`, { grace_period_seconds: 600 });
    expect(res.status).toBe(201);
    const until = Date.parse(res.body.replaced.expires_at);
    expect(until).toBeGreaterThanOrEqual(before + 600_000);
    expect(until).toBeLessThanOrEqual(Date.now() + 600_000);
    expect(res.body.replaced.revoked_at).toBeNull();
    expect(res.body.expires_at).toBeNull();
    expect((await get(`/api/teams/${teamId}/credits`, key)).status).toBe(200);
    expect((await get(`/api/teams/${teamId}/credits`, res.body.key)).status).toBe(200);
    // Time passes beyond the grace period.
    await inAccount(teamId, 'UPDATE api_keys SET expires_at = ? WHERE id = ?', Date.now() - 1, keyId);
    await expectError(await get(`/api/teams/${teamId}/credits`, key), 401, 'key_expired');
    expect((await get(`/api/teams/${teamId}/credits`, res.body.key)).status).toBe(200);
    await expectError(await admin('POST', `/admin/keys/${keyId}/rotate`), 409, 'key_not_active');
  });

  it.each([
    ['negative', -1],
    ['fractional', 1.5],
    ['over 30 days', 30 * 86_400 + 1],
    ['a string', '60'],
  ])('grace_period_seconds %s is a 400 naming it, nothing written', async (_name, grace) => {
    const { keyId } = await setupTeam(1);
    const before = await snapshot();
    await expectError(
      await admin('POST', `/admin/keys/${keyId}/rotate`, { grace_period_seconds: grace }),
      400,
      'invalid_request',
      'grace_period_seconds',
    );
    expect(await snapshot()).toEqual(before);
  });

  it('a key used to create jobs keeps working for job reads after rotation with grace', async () => {
    const { teamId, key, keyId } = await setupTeam(5);
    const job = (await (await post('/api/jobs/create', { team_id: teamId, job_type: 'x' }, key)).json()) as any;
    const rotated = await adminJson('POST', `/admin/keys/${keyId}/rotate`, { grace_period_seconds: 60 });
    expect((await get(`/api/jobs/${job.job_id}`, rotated.body.key)).status).toBe(200);
    expect((await get(`/api/jobs/${job.job_id}`, key)).status).toBe(200);
  });
});
