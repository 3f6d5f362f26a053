/**
 * SVG charts as markup strings: pure functions (no DOM), so they run in tests as they do in the
 * page. Every mark carries `data-value` and a `<title>` tooltip; all text is escaped.
 */

/** A point of a time series: `t` in epoch milliseconds. */
export interface TimePoint {
  t: number;
  value: number;
}

/** One bar: its label, its value, and an optional line for the tooltip. */
export interface Bar {
  label: string;
  value: number;
  detail?: string;
}

export interface ChartOptions {
  /** Read out by screen readers (`aria-label`) and shown as the SVG's title. */
  title: string;
  width?: number;
  height?: number;
  formatValue?: (v: number) => string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const num = (n: number) => String(Math.round(n * 10) / 10);

/**
 * The smallest "nice" number (1, 2, 2.5, 5 times a power of ten) at or above `v`, for axis tops.
 *
 * @example
 * niceCeil(730); // 1000
 */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/**
 * An axis range around `min..max` in four nice steps, so a small change near a large value
 * (999 -> 996 credits) still shows. Bars use a zero-based axis instead.
 *
 * @example
 * niceDomain(996, 1000); // { lo: 996, hi: 1000, step: 1 }
 */
export function niceDomain(min: number, max: number, integer = false): { lo: number; hi: number; step: number } {
  const floor = integer ? 1 : 0;
  let step = Math.max(floor, niceCeil((max - min) / 4 || Math.abs(max) / 4 || 1));
  let lo = Math.floor(min / step) * step;
  if (lo + 4 * step < max) {
    step = Math.max(floor, niceCeil((max - lo) / 4));
    lo = Math.floor(min / step) * step;
  }
  return { lo, hi: lo + 4 * step, step };
}

/** Compact numbers for axes: 950, 9999, 12.3k, 3.4M. */
export function compact(v: number): string {
  const a = Math.abs(v);
  if (a >= 1e6) return `${num(v / 1e6)}M`;
  if (a >= 1e4) return `${num(v / 1e3)}k`;
  return num(v);
}

function frame(opts: ChartOptions, w: number, h: number, body: string): string {
  return (
    `<svg class="chart" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(opts.title)}" ` +
    `xmlns="http://www.w3.org/2000/svg"><title>${esc(opts.title)}</title>${body}</svg>`
  );
}

function empty(opts: ChartOptions, w: number, h: number): string {
  return frame(opts, w, h, `<text class="empty" x="${w / 2}" y="${h / 2}" text-anchor="middle">No data yet</text>`);
}

/** Horizontal gridlines with their values, for a y axis from `lo` to `hi`. */
function grid(
  lo: number,
  hi: number,
  x0: number,
  x1: number,
  y: (v: number) => number,
  fmt: (v: number) => string,
): string {
  let out = '';
  for (let i = 0; i <= 4; i++) {
    const v = lo + ((hi - lo) * i) / 4;
    const yy = num(y(v));
    out += `<line class="grid" x1="${x0}" x2="${x1}" y1="${yy}" y2="${yy}"/>`;
    out += `<text class="tick" x="${x0 - 6}" y="${yy}" text-anchor="end" dominant-baseline="middle">${esc(fmt(v))}</text>`;
  }
  return out;
}

/**
 * A step line over time (values hold until the next point), with a dot per point.
 *
 * @example
 * container.innerHTML = stepLineChart([{ t: Date.now() - 3600e3, value: 12 }, { t: Date.now(), value: 10 }], { title: 'Credits' });
 */
export function stepLineChart(points: TimePoint[], opts: ChartOptions): string {
  const w = opts.width ?? 400;
  const h = opts.height ?? 220;
  if (points.length === 0) return empty(opts, w, h);
  const fmt = opts.formatValue ?? compact;
  const sorted = [...points].sort((a, b) => a.t - b.t);
  const pad = { l: 44, r: 12, t: 12, b: 28 };
  const t0 = sorted[0]!.t;
  const t1 = Math.max(sorted[sorted.length - 1]!.t, t0 + 60_000);
  const values = sorted.map((p) => p.value);
  const { lo, hi } = niceDomain(Math.min(...values), Math.max(...values), values.every(Number.isInteger));
  const x = (t: number) => pad.l + ((t - t0) / (t1 - t0)) * (w - pad.l - pad.r);
  const y = (v: number) => h - pad.b - ((v - lo) / (hi - lo)) * (h - pad.t - pad.b);

  let d = '';
  sorted.forEach((p, i) => {
    const px = num(x(p.t));
    const py = num(y(p.value));
    d += i === 0 ? `M${px} ${py}` : `H${px}V${py}`;
  });
  const dots = sorted
    .map(
      (p) =>
        `<circle class="dot" cx="${num(x(p.t))}" cy="${num(y(p.value))}" r="3" data-value="${p.value}">` +
        `<title>${esc(`${new Date(p.t).toISOString().slice(0, 16).replace('T', ' ')} UTC: ${fmt(p.value)}`)}</title></circle>`,
    )
    .join('');
  // Times of day for a short span, dates for a longer one (UTC, like the reports).
  const short = t1 - t0 < 2 * 86_400_000;
  const label = (t: number) => new Date(t).toISOString().slice(short ? 11 : 5, short ? 16 : 10);
  const axis =
    `<text class="tick" x="${pad.l}" y="${h - 8}">${esc(label(t0))}</text>` +
    `<text class="tick" x="${w - pad.r}" y="${h - 8}" text-anchor="end">${esc(label(t1))}</text>`;
  return frame(opts, w, h, grid(lo, hi, pad.l, w - pad.r, y, fmt) + `<path class="line" d="${d}"/>` + dots + axis);
}

/**
 * Vertical bars, one per label (days, say), labels under every few bars so they never overlap.
 *
 * @example
 * container.innerHTML = columnChart([{ label: '11-02', value: 1200 }, { label: '11-03', value: 800 }], { title: 'Tokens by day' });
 */
export function columnChart(bars: Bar[], opts: ChartOptions): string {
  const w = opts.width ?? 400;
  const h = opts.height ?? 220;
  if (bars.length === 0) return empty(opts, w, h);
  const fmt = opts.formatValue ?? compact;
  const pad = { l: 44, r: 12, t: 12, b: 28 };
  const top = niceCeil(Math.max(...bars.map((b) => b.value)));
  const slot = (w - pad.l - pad.r) / bars.length;
  const bw = Math.max(2, Math.min(40, slot * 0.7));
  const y = (v: number) => h - pad.b - (Math.max(0, v) / top) * (h - pad.t - pad.b);
  const every = Math.ceil(bars.length / 6);
  const marks = bars
    .map((b, i) => {
      const cx = pad.l + slot * i + slot / 2;
      const by = y(b.value);
      const tip = esc(`${b.label}: ${fmt(b.value)}${b.detail ? ` (${b.detail})` : ''}`);
      const rect =
        `<rect class="bar" x="${num(cx - bw / 2)}" y="${num(by)}" width="${num(bw)}" ` +
        `height="${num(h - pad.b - by)}" data-value="${b.value}"><title>${tip}</title></rect>`;
      const showLabel = i % every === 0 || i === bars.length - 1;
      return showLabel
        ? `${rect}<text class="tick" x="${num(cx)}" y="${h - 8}" text-anchor="middle">${esc(b.label)}</text>`
        : rect;
    })
    .join('');
  return frame(opts, w, h, grid(0, top, pad.l, w - pad.r, y, fmt) + marks);
}

/**
 * Horizontal bars with the label on the left and the value on the right (models, say).
 *
 * @example
 * container.innerHTML = barChart([{ label: 'mock', value: 5400, detail: '12 calls' }], { title: 'Tokens by model' });
 */
export function barChart(bars: Bar[], opts: ChartOptions): string {
  const w = opts.width ?? 400;
  const row = 28;
  const h = opts.height ?? Math.max(60, bars.length * row + 16);
  if (bars.length === 0) return empty(opts, w, h);
  const fmt = opts.formatValue ?? compact;
  const labelW = 110;
  const valueW = 56;
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const span = w - labelW - valueW - 8;
  const marks = bars
    .map((b, i) => {
      const yy = 8 + i * row;
      const bw = Math.max(b.value > 0 ? 2 : 0, (b.value / max) * span);
      const name = b.label.length > 16 ? `${b.label.slice(0, 15)}…` : b.label;
      const tip = esc(`${b.label}: ${fmt(b.value)}${b.detail ? ` (${b.detail})` : ''}`);
      return (
        `<text class="label" x="${labelW - 6}" y="${yy + 10}" text-anchor="end" dominant-baseline="middle">${esc(name)}</text>` +
        `<rect class="bar" x="${labelW}" y="${yy}" width="${num(bw)}" height="20" rx="2" data-value="${b.value}">` +
        `<title>${tip}</title></rect>` +
        `<text class="value" x="${num(labelW + bw + 6)}" y="${yy + 10}" dominant-baseline="middle">${esc(fmt(b.value))}</text>`
      );
    })
    .join('');
  return frame(opts, w, h, marks);
}
