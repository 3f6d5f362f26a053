/**
 * The two pages in headless Chromium against `npm start`: the chat streams (the answer grows
 * over several repaints), Stop cancels it, the credits change after an answer, errors read well,
 * and the dashboard draws its charts from the team's data. Answers are resumable calls: a reload
 * mid-answer shows the whole answer and lets it finish, charged once, and a plain EventSource
 * whose connection drops comes back by itself and misses nothing. Screenshots go to test-results/;
 * with SLUICE_UPDATE_DOCS=1 the final ones also replace docs/chat.png and docs/dashboard.png.
 */
import { existsSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCuttingProxy } from './support/cutting-proxy';
import { type Gateway, startGateway } from './support/gateway';

const CHROMIUM = '/usr/bin/chromium';
const root = fileURLToPath(new URL('../..', import.meta.url));
const shots = join(root, 'test-results');
const profile = mkdtempSync(join(tmpdir(), 'sluice-chromium-'));

let gateway: Gateway;
let browser: BrowserContext;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
  mkdirSync(shots, { recursive: true });
  // Slow tokens, so the test can watch the answer grow and stop it half way.
  gateway = await startGateway('browser', { MOCK_TOKEN_DELAY_MS: '80' });
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1000, height: 800 },
  });
  page = browser.pages()[0] ?? (await browser.newPage());
  page.on('pageerror', (err) => console.error('page error:', err.message));
}, 120_000);

afterAll(async () => {
  await browser?.close();
  gateway?.stop();
  rmSync(profile, { recursive: true, force: true });
});

const answerText = () => page.$eval('.msg.assistant:last-of-type .text', (el) => el.textContent ?? '');
const creditsShown = () => page.$eval('#credits', (el) => (el as HTMLOutputElement).value);

async function saveKey(key: string) {
  if (!(await page.isVisible('#api-key'))) await page.click('details.panel summary');
  await page.fill('#api-key', key);
  await page.click('#connection button[type=submit]');
}

/** Samples the growing answer until it settles; returns the distinct lengths seen. */
async function watchAnswer(stopAfterChars = Infinity) {
  const lengths: number[] = [];
  for (let i = 0; i < 100; i++) {
    const len = (await answerText()).length;
    if (len !== lengths.at(-1)) lengths.push(len);
    if (len >= stopAfterChars) break;
    if ((await page.getAttribute('.msg.assistant:last-of-type', 'data-state')) !== 'streaming') break;
    await page.waitForTimeout(60);
  }
  return lengths;
}

/** A GET on the team's API with the demo key. */
async function apiGet<T>(path: string): Promise<T> {
  const res = await fetch(`${gateway.base}${path}`, { headers: { authorization: `Bearer ${gateway.key}` } });
  expect(res.status, `GET ${path}`).toBe(200);
  return (await res.json()) as T;
}

/** The team's available credits once no call holds any (every earlier answer settled). */
async function settledCredits(): Promise<number> {
  for (let i = 0; ; i++) {
    const c = await apiGet<{ credits_remaining: number; credits_held: number }>('/api/teams/acme-corp/credits');
    if (c.credits_held === 0) return c.credits_remaining;
    if (i === 50) throw new Error(`credits still held: ${JSON.stringify(c)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts a chat answer on the job API (the page's request); the response is not read here. */
function startAnswer(prompt: string, resumable: boolean) {
  return fetch(`${gateway.base}/api/jobs/create-and-call-stream`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${gateway.key}`,
      'content-type': 'application/json',
      accept: 'text/event-stream',
    },
    body: JSON.stringify({
      team_id: 'acme-corp',
      job_type: 'chat',
      model: 'mock',
      messages: [{ role: 'user', content: prompt }],
      resumable,
    }),
  });
}

/** The text of a chat stream's `data:` chunks. */
function contentOf(data: string[]): string {
  let text = '';
  for (const d of data) {
    if (d === '[DONE]') continue;
    const chunk = JSON.parse(d) as { choices: { delta?: { content?: string } }[] };
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  return text;
}

/** What the mock model answers `prompt` when nothing interrupts it (it is deterministic). */
async function uninterruptedAnswer(prompt: string): Promise<string> {
  const res = await startAnswer(prompt, false);
  expect(res.status).toBe(200);
  const body = await res.text();
  expect(body).toContain('data: [DONE]');
  return contentOf([...body.matchAll(/^data: (.*)$/gm)].map((m) => m[1]!));
}

interface SavedCall {
  callId: string;
  jobId: string;
  streamUrl: string;
  messages: { role: string; content: string }[];
}
const savedCall = () =>
  page.evaluate(() => JSON.parse(localStorage.getItem('sluice.inFlight') ?? 'null') as SavedCall | null);

/** Opens the chat page with the key saved and the mock model listed. */
async function openChat(base = gateway.base) {
  await page.goto(`${base}/`);
  if (!(await page.inputValue('#api-key'))) await saveKey(gateway.key);
  await page.waitForFunction(() => /^\d+$/.test((document.querySelector('#credits') as HTMLOutputElement).value));
  await page.waitForSelector('#model option[value="mock"]', { state: 'attached' });
  await page.selectOption('#model', 'mock');
}

function screenshot(name: string) {
  return page.screenshot({ path: join(shots, name), fullPage: name.startsWith('dashboard') });
}

function publish(name: string) {
  if (process.env.SLUICE_UPDATE_DOCS !== '1') return;
  mkdirSync(join(root, 'docs'), { recursive: true });
  copyFileSync(join(shots, name), join(root, 'docs', name));
}

describe('the pages', () => {
  it('are served beside the API, and every other path gets the API 404', async () => {
    const chat = await fetch(`${gateway.base}/`);
    expect(chat.headers.get('content-type')).toContain('text/html');
    expect(await chat.text()).toContain('<title>Sluice · Chat</title>');
    expect(await (await fetch(`${gateway.base}/dashboard`)).text()).toContain('<title>Sluice · Dashboard</title>');
    expect((await fetch(`${gateway.base}/dist/chat.js`)).headers.get('content-type')).toContain('javascript');
    expect(await (await fetch(`${gateway.base}/health`)).json()).toEqual({ status: 'ok' });
    // The pages' TypeScript sources are not published.
    const source = await fetch(`${gateway.base}/src/chat.ts`);
    expect(source.status).toBe(404);
    expect(((await source.json()) as { error: { code: string } }).error.code).toBe('route_not_found');
    const api = await fetch(`${gateway.base}/api/teams/acme-corp/credits`);
    expect(api.status).toBe(401);
  });

  it('chat: the answer streams in, Enter sends, Shift+Enter is a new line, Stop stops, credits change', async () => {
    await page.goto(`${gateway.base}/`);
    await saveKey(gateway.key);
    await page.waitForFunction(() => /^\d+$/.test((document.querySelector('#credits') as HTMLOutputElement).value));
    await page.waitForSelector('#model option[value="mock"]', { state: 'attached' });
    const before = Number(await creditsShown());

    await page.fill('#message', 'Hello from the browser');
    await page.press('#message', 'Enter');
    await page.waitForSelector('.msg.assistant[data-state="streaming"]');
    const grew = await watchAnswer();
    // Tokens appear as they arrive: several distinct lengths, not one jump at the end.
    expect(grew.length).toBeGreaterThanOrEqual(4);
    expect(grew).toEqual([...grew].sort((a, b) => a - b));
    await page.waitForSelector('.msg.assistant[data-state="done"]');
    expect(await answerText()).toContain('You said: "Hello from the browser"');
    await page.waitForFunction(
      (n) => (document.querySelector('#credits') as HTMLOutputElement).value === String(n),
      before - 1,
    );

    // Shift+Enter: a new line in the box, nothing sent. Enter: sent, as the second turn.
    await page.click('#message');
    await page.keyboard.type('first line');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('second line');
    expect(await page.inputValue('#message')).toBe('first line\nsecond line');
    expect(await page.locator('.msg.user').count()).toBe(1);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.msg.assistant:nth-of-type(4)');
    await page.waitForSelector('.msg.assistant[data-state="streaming"]');
    await watchAnswer(30);
    // Leaving a resumable call's stream does not end it: Stop cancels it through the API.
    const cancelled = page.waitForRequest(
      (r) => r.method() === 'POST' && /^\/api\/calls\/[^/]+\/cancel$/.test(new URL(r.url()).pathname),
    );
    await page.click('#stop');
    await cancelled;
    await page.waitForSelector('.msg.assistant[data-state="stopped"]');
    const stoppedAt = (await answerText()).length;
    expect(stoppedAt).toBeGreaterThan(0);
    await page.waitForTimeout(500);
    expect((await answerText()).length).toBe(stoppedAt);
    expect(await page.textContent('.msg.assistant:last-of-type .meta')).toBe('Stopped');
    expect(await page.isDisabled('#stop')).toBe(true);
    // The stopped answer's job is cancelled and its credit released.
    await page.waitForFunction(
      (n) => (document.querySelector('#credits') as HTMLOutputElement).value === String(n),
      before - 1,
    );

    // A third turn completes: a multi-turn conversation on screen.
    await page.fill('#message', 'Thanks, that is all');
    await page.press('#message', 'Enter');
    await page.waitForSelector('.msg.assistant:nth-of-type(6)[data-state="done"]', { timeout: 10_000 });
    expect(await page.locator('.msg').count()).toBe(6);
    await page.waitForFunction(
      (n) => (document.querySelector('#credits') as HTMLOutputElement).value === String(n),
      before - 2,
    );

    // Keyboard focus is visible.
    await page.focus('#message');
    await page.keyboard.press('Tab');
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    expect(outline).not.toBe('none');
    await page.focus('#message');

    await screenshot('chat.png');
    publish('chat.png');
  });

  it('chat: a refused key shows a readable message', async () => {
    await page.goto(`${gateway.base}/`);
    await saveKey('sk-sluice-not-a-real-key');
    await page.waitForFunction(() => document.querySelector('#status')!.textContent!.includes('not accepted'));
    expect(await page.getAttribute('#status', 'data-kind')).toBe('error');
    await saveKey(gateway.key);
    await page.waitForFunction(() => /^\d+$/.test((document.querySelector('#credits') as HTMLOutputElement).value));
  });

  it('dashboard: credits over time, usage by model and by day drawn as SVG, jobs and reports listed', async () => {
    await page.goto(`${gateway.base}/dashboard`);
    await page.waitForSelector('#chart-credits svg .dot');
    const dots = await page.$$eval('#chart-credits svg .dot', (els) =>
      els.map((e) => Number(e.getAttribute('data-value'))),
    );
    expect(dots.length).toBeGreaterThanOrEqual(3);
    expect(dots.at(-1)).toBe(Number(await page.textContent('#stat-credits')));
    const models = await page.$$eval('#chart-models svg rect.bar', (els) =>
      els.map((e) => [e.querySelector('title')!.textContent, Number(e.getAttribute('data-value'))] as const),
    );
    expect(models[0]![0]).toMatch(/^mock: /);
    expect(models[0]![1]).toBeGreaterThan(0);
    const days = await page.$$eval('#chart-days svg rect.bar', (els) =>
      els.map((e) => Number(e.getAttribute('data-value'))),
    );
    expect(days.reduce((a, b) => a + b, 0)).toBe(Number(await page.textContent('#stat-tokens')));
    expect(await page.locator('#jobs tbody tr').count()).toBeGreaterThanOrEqual(3);
    // The stopped answer's job: settled without a charge (cancelled, or failed when wrangler dev's
    // proxy reports the disconnect as the upstream ending early).
    const rows = await page.$$eval('#jobs tbody tr', (trs) =>
      trs.map((tr) => Array.from((tr as HTMLTableRowElement).cells, (td) => td.textContent)),
    );
    expect(rows.filter((r) => r[2] === 'completed' && r[3] === '1')).toHaveLength(2);
    expect(rows.filter((r) => /^(cancelled|failed)$/.test(r[2]!) && r[3] === '0')).toHaveLength(1);
    expect(await page.textContent('#reports tbody')).toContain('No daily reports yet');
    await screenshot('dashboard.png');
    publish('dashboard.png');
  });

  it('both pages fit a 375 px phone screen without sideways scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    for (const [path, name] of [
      ['/', 'chat-phone.png'],
      ['/dashboard', 'dashboard-phone.png'],
    ] as const) {
      await page.goto(`${gateway.base}${path}`);
      await page.waitForLoadState('networkidle');
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
      await screenshot(name);
    }
  });

  // After the dashboard's counts: these add answers of their own.
  it('chat: a reload mid-answer shows the whole answer and lets it finish, charged once', async () => {
    await page.setViewportSize({ width: 1000, height: 800 });
    const prompt = 'Please keep streaming while I reload this page halfway through';
    const whole = await uninterruptedAnswer(prompt);
    await openChat();
    const before = await settledCredits();

    await page.fill('#message', prompt);
    await page.press('#message', 'Enter');
    await page.waitForSelector('.msg.assistant[data-state="streaming"]');
    await watchAnswer(30);
    const shownBefore = await answerText();
    expect(shownBefore.length).toBeGreaterThan(0);
    expect(whole.startsWith(shownBefore)).toBe(true);
    expect(shownBefore.length).toBeLessThan(whole.length);
    // What a reload needs is kept: the call and the conversation it answers (never the key).
    const saved = (await savedCall())!;
    expect(saved).toMatchObject({ callId: expect.any(String), jobId: expect.any(String) });
    expect(saved.messages).toEqual([{ role: 'user', content: prompt }]);
    expect(saved.streamUrl).toMatch(new RegExp(`^/api/calls/${saved.callId}/stream\\?token=`));
    expect(JSON.stringify(saved)).not.toContain(gateway.key);

    await page.reload();
    // The conversation is back; the answer so far at once (replayed from its first event), then live.
    await page.waitForSelector('.msg.assistant');
    expect(await page.textContent('.msg.user .text')).toBe(prompt);
    const lengths = await watchAnswer();
    expect(lengths.filter((n) => n > 0)[0]).toBeGreaterThanOrEqual(shownBefore.length);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    expect(lengths.length).toBeGreaterThanOrEqual(2);
    await page.waitForSelector('.msg.assistant[data-state="done"]', { timeout: 15_000 });
    expect(await answerText()).toBe(whole);
    expect(await page.locator('.msg').count()).toBe(2);
    expect(await page.textContent('.msg.assistant .meta')).toContain(`job ${saved.jobId}`);
    // Ended normally: nothing left to pick up.
    expect(await savedCall()).toBeNull();

    // One call, stored whole; the newest job is this one (the reload started nothing new).
    const job = await apiGet<{
      status: string;
      costs: { credits_charged: number; total_calls: number };
      calls: { call_id: string; status: string; content: string }[];
    }>(`/api/jobs/${saved.jobId}`);
    expect(job.status).toBe('completed');
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({ call_id: saved.callId, status: 'success', content: whole });
    const jobs = await apiGet<{ data: { job_id: string }[] }>('/api/teams/acme-corp/jobs?limit=1');
    expect(jobs.data[0]!.job_id).toBe(saved.jobId);
    // The credits moved once, by that one call's charge.
    expect(job.costs.credits_charged).toBeGreaterThan(0);
    expect(before - (await settledCredits())).toBe(job.costs.credits_charged);
    await page.waitForFunction(
      (n) => (document.querySelector('#credits') as HTMLOutputElement).value === String(n),
      before - job.costs.credits_charged,
    );
  });

  it('chat: Stop on an answer picked up after a reload cancels the call; nothing is charged', async () => {
    await openChat();
    const before = await settledCredits();
    await page.fill('#message', 'Stop me after the reload');
    await page.press('#message', 'Enter');
    await page.waitForSelector('.msg.assistant[data-state="streaming"]');
    await watchAnswer(20);
    const saved = (await savedCall())!;
    await page.reload();
    await page.waitForSelector('.msg.assistant[data-state="streaming"]');
    const cancelled = page.waitForRequest(
      (r) => r.method() === 'POST' && r.url().endsWith(`/api/calls/${saved.callId}/cancel`),
    );
    await page.click('#stop');
    await cancelled;
    await page.waitForSelector('.msg.assistant[data-state="stopped"]');
    expect(await page.textContent('.msg.assistant .meta')).toBe('Stopped');
    const stoppedAt = (await answerText()).length;
    expect(stoppedAt).toBeGreaterThan(0);
    expect(await savedCall()).toBeNull();
    // The call ended where it was cancelled: what it stored is what the page shows.
    const job = await apiGet<{
      status: string;
      costs: { credits_charged: number };
      calls: { status: string; content: string }[];
    }>(`/api/jobs/${saved.jobId}`);
    expect(job.calls).toHaveLength(1);
    expect(job.calls[0]).toMatchObject({ status: 'client_aborted', content: await answerText() });
    expect(job.status).toMatch(/^(cancelled|failed)$/);
    expect(job.costs.credits_charged).toBe(0);
    expect(await settledCredits()).toBe(before);
    // A reload now has nothing to pick up.
    await page.reload();
    await page.waitForFunction(() => /^\d+$/.test((document.querySelector('#credits') as HTMLOutputElement).value));
    expect(await page.locator('.msg').count()).toBe(0);
  });

  it('chat: a connection that drops mid-answer is picked up again by the page, after the last event it had', async () => {
    const prompt = 'Keep going when the connection drops';
    const whole = await uninterruptedAnswer(prompt);
    // The page from the proxy's origin: its request for the answer breaks after four events.
    const proxy = await startCuttingProxy(gateway.base, {
      cut: /^\/api\/jobs\/create-and-call-stream$/,
      afterEvents: 4,
    });
    try {
      // Another origin: the key is saved there afresh.
      await openChat(proxy.base);
      const before = await settledCredits();
      await page.fill('#message', prompt);
      await page.press('#message', 'Enter');
      // The drop does not end the answer: it streams on to its end, as if nothing had happened.
      await page.waitForSelector('.msg.assistant:not([data-state="streaming"])', { timeout: 15_000 });
      expect(await page.getAttribute('.msg.assistant', 'data-state'), (await page.textContent('#status')) ?? '').toBe(
        'done',
      );
      expect(await answerText()).toBe(whole);
      expect(await page.textContent('#status')).toBe('');
      // The start was cut after four events; the page attached to the same call again, after the
      // last one it had (so the answer above is whole with nothing repeated).
      const calls = proxy.requests.filter((r) => /^\/api\/(jobs\/create-and-call-stream|calls\/)/.test(r.path));
      expect(calls.map((r) => [r.path.replace(/call_\w+/, 'call_*'), r.cut, r.lastEventId])).toEqual([
        ['/api/jobs/create-and-call-stream', true, undefined],
        ['/api/calls/call_*/stream', false, '3'],
      ]);
      const jobId = /job (\S+)/.exec((await page.textContent('.msg.assistant .meta'))!)![1]!;
      const job = await apiGet<{ costs: { credits_charged: number }; calls: { content: string }[] }>(
        `/api/jobs/${jobId}`,
      );
      expect(job.calls.map((c) => c.content)).toEqual([whole]);
      expect(before - (await settledCredits())).toBe(job.costs.credits_charged);
    } finally {
      await proxy.close();
    }
  });

  it('a plain EventSource whose connection drops mid-answer reconnects by itself and misses nothing', async () => {
    const prompt = 'An EventSource should come back by itself after a drop';
    const whole = await uninterruptedAnswer(prompt);
    const started = await startAnswer(prompt, true);
    expect(started.status).toBe(200);
    expect(started.headers.get('x-sluice-resumable')).toBe('true');
    const streamUrl = started.headers.get('x-sluice-stream-url')!;
    // The starter leaves at once; the call goes on without it.
    await started.body!.cancel();

    // The stream's first connection drops after three events; the browser's reconnection goes through.
    const proxy = await startCuttingProxy(gateway.base, { cut: /^\/api\/calls\//, afterEvents: 3, retryMs: 200 });
    try {
      // A page from the proxy's origin, so the EventSource is same-origin (the token is its only credential).
      await page.goto(`${proxy.base}/health`);
      const got = await page.evaluate(
        (url) =>
          new Promise<{ events: { id: string; data: string }[]; opens: number; errors: number }>((resolve, reject) => {
            const es = new EventSource(url);
            const events: { id: string; data: string }[] = [];
            let opens = 0;
            let errors = 0;
            const timer = setTimeout(() => {
              es.close();
              reject(new Error(`no [DONE] within 20 s; ${events.length} events, ${opens} opens, ${errors} errors`));
            }, 20_000);
            es.onopen = () => void opens++;
            es.onerror = () => void errors++;
            es.onmessage = (e) => {
              events.push({ id: e.lastEventId, data: e.data as string });
              if (e.data === '[DONE]') {
                // Else it would reconnect again once the finished stream closes.
                es.close();
                clearTimeout(timer);
                resolve({ events, opens, errors });
              }
            };
          }),
        streamUrl,
      );
      // Two connections: the cut one, and the one the browser made by itself with Last-Event-ID.
      const streams = proxy.requests.filter((r) => r.path.startsWith('/api/calls/'));
      expect(streams.map((r) => [r.cut, r.lastEventId])).toEqual([
        [true, undefined],
        [false, '2'],
      ]);
      expect(got.opens).toBe(2);
      expect(got.errors).toBeGreaterThanOrEqual(1);
      // Every event once, in order; together, the whole answer.
      const ids = got.events.map((e) => Number(e.id));
      expect(ids).toEqual(ids.map((_, i) => i));
      expect(new Set(ids).size).toBe(ids.length);
      expect(contentOf(got.events.map((e) => e.data))).toBe(whole);
    } finally {
      await proxy.close();
    }
  });
});
