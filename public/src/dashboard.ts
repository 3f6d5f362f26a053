/**
 * The dashboard page (/dashboard): a team's credits over time, its usage by model and by day,
 * its recent jobs and latest daily reports, all read with the team's own key.
 */
import type { DailyReport, JobSummary, SluiceClient } from '../../src/client';
import { barChart, columnChart, stepLineChart } from './charts';
import { bindConnectionForm, type Connection, clientFor } from './connection';
import { creditSeries, reportRange, tokensByDay, tokensByModel } from './dashboard-data';
import { describeError } from './messages';

const $ = <T extends HTMLElement>(sel: string) => document.querySelector<T>(sel)!;

const periodInput = $<HTMLInputElement>('#period');
const status = $<HTMLElement>('#status');
let client: SluiceClient | null = null;

const thisMonth = () => new Date().toISOString().slice(0, 7);
periodInput.value = thisMonth();

const usd = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
const when = (iso: string | null) => (iso ? iso.slice(0, 16).replace('T', ' ') : '–');

function showStatus(text: string, kind: 'info' | 'error' = 'info') {
  status.textContent = text;
  status.dataset.kind = kind;
}

function setStat(id: string, value: string) {
  $<HTMLElement>(`#${id}`).textContent = value;
}

function cell(text: string, className?: string) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function fillRows(tbodySel: string, rows: HTMLTableCellElement[][], emptyText: string, cols: number) {
  const tbody = $<HTMLTableSectionElement>(tbodySel);
  if (!rows.length) {
    const td = cell(emptyText, 'empty');
    td.colSpan = cols;
    const tr = document.createElement('tr');
    tr.append(td);
    tbody.replaceChildren(tr);
    return;
  }
  tbody.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement('tr');
      tr.append(...cells);
      return tr;
    }),
  );
}

function renderJobs(jobs: JobSummary[]) {
  fillRows(
    '#jobs tbody',
    jobs
      .slice(0, 20)
      .map((j) => [
        cell(when(j.created_at)),
        cell(j.job_type),
        cell(j.status, `status ${j.status}`),
        cell(String(j.credits_charged), 'num'),
        cell(j.job_id, 'mono'),
      ]),
    'No jobs yet.',
    5,
  );
}

function renderReports(reports: DailyReport[]) {
  fillRows(
    '#reports tbody',
    [...reports]
      .sort((a, b) => (a.day < b.day ? 1 : -1))
      .slice(0, 14)
      .map((r) => [
        cell(r.day),
        cell(String(r.jobs), 'num'),
        cell(String(r.calls), 'num'),
        cell(String(r.tokens), 'num'),
        cell(usd(r.cost_usd), 'num'),
        cell(String(r.credits_charged), 'num'),
        cell(`${r.credits_remaining}${r.low_credits ? ' (low)' : ''}`, r.low_credits ? 'num low' : 'num'),
      ]),
    'No daily reports yet: the gateway writes one per team just after midnight UTC.',
    7,
  );
}

async function load() {
  if (!client) {
    showStatus('Paste an API key to see the team’s dashboard.');
    return;
  }
  const period = periodInput.value || thisMonth();
  const now = Date.now();
  const range = reportRange(period, now);
  showStatus('Loading…');
  $<HTMLElement>('main').setAttribute('aria-busy', 'true');
  try {
    const [credits, usage, jobs, recentReports, monthReports] = await Promise.all([
      client.credits(),
      client.usage(period),
      client.jobs({ limit: 100 }),
      client.reports(),
      range ? client.reports(range) : Promise.resolve(null),
    ]);
    setStat('stat-credits', String(credits.credits_remaining));
    setStat('stat-held', String(credits.credits_held));
    setStat('stat-jobs', String(usage.totals.jobs));
    setStat('stat-calls', String(usage.totals.calls));
    setStat('stat-tokens', String(usage.totals.tokens));
    setStat('stat-cost', usd(usage.totals.cost_usd));

    $<HTMLElement>('#chart-credits').innerHTML = stepLineChart(
      creditSeries(credits.credits_remaining, now, recentReports.data, jobs.data),
      { title: 'Credits remaining over time' },
    );
    $<HTMLElement>('#chart-models').innerHTML = barChart(tokensByModel(usage), {
      title: `Tokens by model, ${period}`,
    });
    $<HTMLElement>('#chart-days').innerHTML = columnChart(tokensByDay(usage, monthReports?.data ?? [], now), {
      title: `Tokens by day, ${period}`,
    });
    renderJobs(jobs.data);
    renderReports(recentReports.data);
    showStatus(`Updated ${new Date().toLocaleTimeString()}.`);
  } catch (err) {
    showStatus(describeError(err), 'error');
  } finally {
    $<HTMLElement>('main').setAttribute('aria-busy', 'false');
  }
}

function connect(c: Connection) {
  client = clientFor(c);
  $<HTMLElement>('#team-name').textContent = client ? c.teamId : '';
  void load();
}

periodInput.addEventListener('change', () => void load());
$<HTMLButtonElement>('#refresh').addEventListener('click', () => void load());

connect(bindConnectionForm(connect));
