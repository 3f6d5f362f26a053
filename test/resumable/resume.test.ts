/**
 * Resumable calls: every event numbered, a reader that drops attaches again and gets exactly the
 * bytes it missed, any number of readers, one charge, a cancel that closes the upstream, a token
 * for one call's stream only, and an object that restarts mid-answer.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  api,
  books,
  callRows,
  eventually,
  setTeam,
  setupTeam,
  upstreamModel,
  upstreamStreams,
  user,
  uniqueId,
} from '../support/api';
import { answerEvents } from '../support/fixtures';

const utf8 = new TextDecoder();

/** Reads a response body until `until` says stop (or it ends); the reader is then cancelled. */
async function readUntil(res: Response, until: (text: string) => boolean): Promise<string> {
  const reader = res.body!.getReader();
  let text = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    text += utf8.decode(value, { stream: true });
    if (until(text)) {
      await reader.cancel();
      break;
    }
  }
  return text;
}

/** The SSE events of a body, each with its `id:` (if any); comments and pings apart. */
const sseEvents = (raw: string) =>
  raw
    .split('\n\n')
    .filter((e) => e && !e.startsWith(':'))
    .map((e) => ({ id: /^id: (\d+)$/m.exec(e)?.[1], text: `${e}\n\n` }));

/** A body less its heartbeats, which each reader gets on its own schedule. */
const withoutPings = (raw: string) => raw.replaceAll(': ping\n\n', '');

/** Whole events only (a body cut mid-event keeps what came before the cut). */
const wholeEvents = (raw: string) => raw.slice(0, raw.lastIndexOf('\n\n') + 2);

const lastId = (raw: string) => Number(sseEvents(wholeEvents(raw)).at(-1)!.id);

function chatCall(key: string, model: string, marker: string, extra: Record<string, unknown> = {}) {
  return api('POST', '/v1/chat/completions', {
    key,
    body: { model, messages: user(marker), stream: true, resumable: true, ...extra },
  });
}

const attach = (callId: string, opts: { key?: string; after?: number; token?: string; headers?: object } = {}) => {
  const q = new URLSearchParams();
  if (opts.token) q.set('token', opts.token);
  if (opts.after !== undefined && opts.after >= 0) q.set('after', String(opts.after));
  return api('GET', `/api/calls/${callId}/stream${q.size ? `?${q}` : ''}`, {
    key: opts.key,
    headers: { ...opts.headers } as Record<string, string>,
  });
};

const tokenOf = (res: Response) =>
  new URL(res.headers.get('x-sluice-stream-url')!, 'http://x').searchParams.get('token')!;

const stubOf = (callId: string) => env.CALL_STREAMS.get(env.CALL_STREAMS.idFromName(callId));

describe('resumable calls', () => {
  it('number every event, and a reader attaching after any event gets exactly the rest', async () => {
    const { key } = await setupTeam(100);
    for (const scenario of ['answer', 'tools']) {
      const model = await upstreamModel('openai', scenario);
      const res = await chatCall(key, model, uniqueId('whole'), { stream_options: { include_usage: true } });
      expect(res.status).toBe(200);
      expect(res.headers.get('x-sluice-resumable')).toBe('true');
      const callId = res.headers.get('x-call-id')!;
      const whole = await res.text();
      const events = sseEvents(whole);
      expect(events.map((e) => e.id)).toEqual(events.map((_, i) => String(i)));
      expect(events.at(-1)!.text).toBe('id: ' + (events.length - 1) + '\ndata: [DONE]\n\n');
      // Before the first event, mid-answer (text or tool call), after the last.
      for (let after = -1; after < events.length - 1; after++) {
        const again = await attach(callId, { key, after });
        expect(again.status).toBe(200);
        const rest = events
          .slice(after + 1)
          .map((e) => e.text)
          .join('');
        expect(await again.text(), `${scenario} after ${after}`).toBe(rest);
      }
      // After the last event of an ended call there is nothing: 204, which also stops an EventSource.
      const past = await attach(callId, { key, after: events.length - 1 });
      expect(past.status).toBe(204);
      expect(past.headers.get('x-job-id')).toBe(res.headers.get('x-job-id'));
    }
  });

  it("an upstream that speaks the client's dialect reaches it event by event as it wrote them, numbered; the books read what was left out", async () => {
    const { key } = await setupTeam(100);
    // CRLF line ends, a keep-alive comment first, bytes cut at awkward places (support/fake-upstream.ts).
    const model = await upstreamModel('openai', 'split');
    for (const includeUsage of [true, false]) {
      const res = await chatCall(key, model, uniqueId('relay'), { stream_options: { include_usage: includeUsage } });
      const sent = answerEvents('split').filter((e) => includeUsage || !e.includes('"usage"'));
      const numbered = (from: number) =>
        sent
          .slice(from)
          .map((e, i) => `id: ${from + i}\ndata: ${e}\r\n\r\n`)
          .join('');
      expect(withoutPings(await res.text()), `include_usage ${includeUsage}`).toBe(numbered(0));
      const again = await attach(res.headers.get('x-call-id')!, { key, after: 1 });
      expect(withoutPings(await again.text())).toBe(numbered(2));
      // The usage chunk is the books' whether or not the client got it.
      const [row] = await callRows(res.headers.get('x-job-id')!);
      expect(row).toMatchObject({
        status: 'success',
        content: 'Héllo wörld 🚀',
        prompt_tokens: 11,
        completion_tokens: 3,
        usage_source: 'provider',
      });
    }
  });

  it('in every dialect: Anthropic Messages and NDJSON events are numbered and replay byte for byte', async () => {
    const { key, teamId } = await setupTeam(100);
    const anthropic = await upstreamModel('anthropic', 'text');
    const messages = await api('POST', '/v1/messages', {
      key,
      body: { model: anthropic, max_tokens: 100, messages: user('m'), stream: true, resumable: true },
    });
    const openai = await upstreamModel('openai', 'tools');
    const ndjson = await api('POST', '/api/jobs/create-and-call-stream', {
      key,
      headers: { accept: 'application/x-ndjson' },
      body: { team_id: teamId, job_type: 'resume', model: openai, messages: user('n'), resumable: true },
    });
    expect(ndjson.headers.get('content-type')).toContain('application/x-ndjson');

    const sse = await messages.text();
    const events = sseEvents(sse).filter((e) => !e.text.includes('event: ping'));
    expect(events.map((e) => e.id)).toEqual(events.map((_, i) => String(i)));
    expect(events[0]!.text).toContain('event: message_start');
    const lines = (await ndjson.text()).split('\n').filter(Boolean);
    expect(lines.map((l) => (JSON.parse(l) as { seq: number }).seq)).toEqual(lines.map((_, i) => i));
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'done' });

    for (const [res, all, split] of [
      [messages, events.map((e) => e.text), 'sse'],
      [ndjson, lines.map((l) => `${l}\n`), 'ndjson'],
    ] as const) {
      const callId = res.headers.get('x-call-id')!;
      for (const after of [-1, 0, 2, all.length - 2]) {
        const again = await attach(callId, { key, after });
        expect(again.headers.get('content-type'), split).toContain(split === 'sse' ? 'event-stream' : 'ndjson');
        expect(await again.text(), `${split} after ${after}`).toBe(all.slice(after + 1).join(''));
      }
    }
  });

  it('a reader that drops mid-answer attaches with Last-Event-ID and goes on with no gap and no duplicate', async () => {
    const { key, teamId } = await setupTeam(100);
    const model = await upstreamModel('openai', 'slow');
    const marker = uniqueId('drop');
    const first = await chatCall(key, model, marker);
    const callId = first.headers.get('x-call-id')!;
    // Three events in, the reader goes away; the call goes on without it.
    const seen = wholeEvents(await readUntil(first, (t) => sseEvents(wholeEvents(t)).length >= 3));
    const rest = await (await attach(callId, { key, headers: { 'last-event-id': String(lastId(seen)) } })).text();

    const undisturbed = await (await attach(callId, { key })).text();
    expect(withoutPings(seen + rest)).toBe(withoutPings(undisturbed));
    expect(undisturbed).toContain(' t29');
    const [row] = await eventually(async () => {
      const rows = await callRows(first.headers.get('x-job-id')!);
      return rows.length ? rows : null;
    });
    expect(row).toMatchObject({ status: 'success' });
    const stats = (await upstreamStreams(marker))[0]!;
    expect(stats.closedEarly).toBe(false);
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.held).toBe(0);
  });

  it('ten readers on one call all get the whole stream; the books show one call and one charge', async () => {
    const { key, teamId } = await setupTeam(100);
    const model = await upstreamModel('openai', 'steady-slow');
    const res = await chatCall(key, model, uniqueId('ten'));
    const callId = res.headers.get('x-call-id')!;
    const jobId = res.headers.get('x-job-id')!;
    const readers = await Promise.all(Array.from({ length: 10 }, () => attach(callId, { key })));
    const texts = await Promise.all([res.text(), ...readers.map((r) => r.text())]);
    for (const t of texts) expect(withoutPings(t)).toBe(withoutPings(texts[0]!));
    // Heartbeats go out all through the stream, not only before the first event.
    expect(texts[0]!.lastIndexOf(': ping')).toBeGreaterThan(texts[0]!.indexOf('id: 1'));
    expect(texts[0]).toContain('data: [DONE]');

    const rows = await callRows(jobId);
    expect(rows).toHaveLength(1);
    const ledger = await env.DB.prepare('SELECT count(*) AS n FROM credit_ledger WHERE job_id = ? AND amount < 0')
      .bind(jobId)
      .first<{ n: number }>();
    expect(ledger!.n).toBe(1);
    const job = await env.DB.prepare('SELECT status FROM jobs WHERE id = ?').bind(jobId).first<{ status: string }>();
    expect(job!.status).toBe('completed');
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.held).toBe(0);
  });

  it('cancel closes the upstream before its next chunk; readers learn why; what was produced is charged', async () => {
    const { key, teamId } = await setupTeam(100);
    await setTeam(teamId, { budget_mode: 'consumption_tokens', tokens_per_credit: 1 });
    const model = await upstreamModel('openai', 'slow');
    const marker = uniqueId('cancel');
    const res = await chatCall(key, model, marker);
    const callId = res.headers.get('x-call-id')!;
    const reading = res.text();
    await eventually(async () => ((await upstreamStreams(marker))[0]?.written ?? 0) >= 2 || null);
    const cancelled = await api('POST', `/api/calls/${callId}/cancel`, { key });
    expect(cancelled.status).toBe(200);
    expect(await cancelled.json()).toEqual({ call_id: callId, status: 'client_aborted' });
    const stats = await eventually(async () => (await upstreamStreams(marker)).find((s) => s.closedAt) ?? null);
    expect(stats.closedEarly).toBe(true);
    // The upstream was closed within one of its 100 ms gaps of the cancel.
    expect(stats.written).toBeLessThan(6);

    const text = await reading;
    const last = sseEvents(text).at(-1)!;
    expect(last.text).toContain('"code":"call_cancelled"');
    const [row] = await callRows(res.headers.get('x-job-id')!);
    expect(row).toMatchObject({ status: 'client_aborted' });
    expect(row!.completion_tokens as number).toBeGreaterThan(0);
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.balance).toBeLessThan(100);
    expect(b.held).toBe(0);
  });

  it('the stream token opens its own call only, until it expires; another team gets 403, a call id alone 401', async () => {
    const { key } = await setupTeam(100);
    const other = await setupTeam(100);
    const model = await upstreamModel('openai', 'answer');
    const a = await chatCall(key, model, uniqueId('a'));
    const b = await chatCall(key, model, uniqueId('b'));
    const [aText] = await Promise.all([a.text(), b.text()]);
    const aId = a.headers.get('x-call-id')!;
    const bId = b.headers.get('x-call-id')!;

    const byUrl = await api('GET', a.headers.get('x-sluice-stream-url')!);
    expect(byUrl.status).toBe(200);
    expect(await byUrl.text()).toBe(aText);
    expect((await attach(bId, { token: tokenOf(a) })).status).toBe(401);
    expect((await attach(aId)).status).toBe(401);
    const foreign = await attach(aId, { key: other.key });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ error: { type: 'permission_error' } });
    // A token opens a stream, nothing else.
    const cancelByToken = await api('POST', `/api/calls/${aId}/cancel?token=${tokenOf(a)}`);
    expect(cancelByToken.status).toBe(401);

    // The token's expiry moved into the past, and the object restarted to read it back.
    await runInDurableObject(stubOf(aId), (_instance, state) => {
      state.storage.sql.exec('UPDATE call SET token_expires_at = ?', Date.now() - 1);
    });
    await runInDurableObject(stubOf(aId), (_instance, state) => state.abort('read the expiry back')).catch(() => {});
    const expired = await attach(aId, { token: tokenOf(a) });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ error: { code: 'stream_token_expired' } });
    // The key still works.
    expect((await attach(aId, { key })).status).toBe(200);
  });

  it('an object reset mid-answer ends the stream with an in-band error, records what arrived, charges once', async () => {
    const { key, teamId } = await setupTeam(100);
    const model = await upstreamModel('openai', 'slow');
    const res = await chatCall(key, model, uniqueId('reset'));
    const callId = res.headers.get('x-call-id')!;
    const seen = wholeEvents(await readUntil(res, (t) => sseEvents(wholeEvents(t)).length >= 4));
    // Once what it sent is stored (a restart loses what is not yet written: at most FLUSH_MS of it).
    await eventually(
      () =>
        runInDurableObject(stubOf(callId), (_instance, state) =>
          state.storage.sql.exec<{ n: number }>('SELECT coalesce(sum(count), 0) AS n FROM chunks').one().n >= 4
            ? true
            : null,
        ),
      5000,
    );

    await runInDurableObject(stubOf(callId), (_instance, state) => {
      try {
        state.abort('reset by the test');
      } catch {
        // abort throws in the caller's context too
      }
    }).catch(() => {});
    // Its alarm notices the restart (as the next reader would).
    await runDurableObjectAlarm(stubOf(callId));

    const rest = await (await attach(callId, { key, after: lastId(seen) })).text();
    const tail = sseEvents(rest);
    expect(tail.at(-1)!.text).toContain('"code":"stream_interrupted"');
    expect(Number(tail.at(-1)!.id)).toBeGreaterThan(lastId(seen));
    const [row] = await callRows(res.headers.get('x-job-id')!);
    expect(row).toMatchObject({ status: 'error' });
    expect(String(row!.content)).toContain('t0');
    const b = await books(teamId);
    expect(b.balance).toBe(b.ledgerSum);
    expect(b.held).toBe(0);
    // Attaching again changes nothing.
    await (await attach(callId, { key })).text();
    expect(await callRows(res.headers.get('x-job-id')!)).toHaveLength(1);
  });

  it('events are kept for RESUME_TTL after the call ends; then the call row is the record', async () => {
    const { key } = await setupTeam(100);
    const model = await upstreamModel('openai', 'answer');
    const res = await chatCall(key, model, uniqueId('ttl'));
    await res.text();
    const callId = res.headers.get('x-call-id')!;
    expect((await attach(callId, { key })).status).toBe(200);

    // A day and a second later, as the object's alarm finds it.
    await runInDurableObject(stubOf(callId), (_instance, state) => {
      state.storage.sql.exec('UPDATE call SET ended_at = ?', Date.now() - (86_400 + 1) * 1000);
    });
    await runInDurableObject(stubOf(callId), (_instance, state) => state.abort('read ended_at back')).catch(() => {});
    expect(await runDurableObjectAlarm(stubOf(callId))).toBe(true);

    const gone = await attach(callId, { key });
    expect(gone.status).toBe(404);
    expect(await gone.json()).toMatchObject({ error: { code: 'call_not_resumable' } });
    const [row] = await callRows(res.headers.get('x-job-id')!);
    expect(row).toMatchObject({ id: callId, status: 'success', content: 'Héllo wörld 🚀' });
  });

  it("a team can make resumable its keys' default; a request still says otherwise with resumable: false", async () => {
    const { key, teamId } = await setupTeam(100, { resumable_by_default: true });
    const model = await upstreamModel('openai', 'answer');
    const unsaid = await api('POST', '/v1/chat/completions', {
      key,
      body: { model, messages: user('default'), stream: true },
    });
    expect(unsaid.headers.get('x-sluice-resumable')).toBe('true');
    expect(await unsaid.text()).toMatch(/^id: 0\n/);
    const job = await api('POST', '/api/jobs/create-and-call-stream', {
      key,
      body: { team_id: teamId, job_type: 'default', model, messages: user('job') },
    });
    expect(job.headers.get('x-sluice-resumable')).toBe('true');
    await job.text();
    const declined = await chatCall(key, model, 'declined', { resumable: false });
    expect(declined.headers.get('x-sluice-resumable')).toBeNull();
    expect(await declined.text()).not.toContain('id: ');
    const team = await api('GET', `/admin/teams/${teamId}`, { admin: true });
    expect(await team.json()).toMatchObject({ resumable_by_default: true });
  });

  it('a call that is not resumable keeps the plain stream: no ids, no object', async () => {
    const { key } = await setupTeam(100);
    const model = await upstreamModel('openai', 'answer');
    const res = await api('POST', '/v1/chat/completions', {
      key,
      body: { model, messages: user('plain'), stream: true },
    });
    const text = await res.text();
    expect(text).not.toContain('id: ');
    expect(res.headers.get('x-sluice-resumable')).toBeNull();
    const again = await attach(res.headers.get('x-call-id')!, { key });
    expect(again.status).toBe(404);
    expect(await again.json()).toMatchObject({ error: { code: 'call_not_resumable' } });
  });
});
