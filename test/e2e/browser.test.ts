/**
 * The two pages in headless Chromium against `npm start`: the chat streams (the answer grows
 * over several repaints), Stop stops it, the credits change after an answer, errors read well,
 * and the dashboard draws its charts from the team's data. Screenshots go to test-results/;
 * with SLUICE_UPDATE_DOCS=1 the final ones also replace docs/chat.png and docs/dashboard.png.
 */
import { existsSync, copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BrowserContext, type Page, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
    await page.click('#stop');
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
});
