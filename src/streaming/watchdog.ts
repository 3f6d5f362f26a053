/**
 * One interval per stream, not a timer per chunk: the read loop only records `Date.now()` on
 * each chunk, and the interval checks it. Before the first byte it sends keep-alive comments so
 * proxies hold the connection; at any point, a stream silent for `idleMs` is declared stalled.
 */
export interface WatchdogOptions {
  keepaliveMs: number;
  idleMs: number;
  onKeepalive(): void;
  onIdle(): void;
}

export class Watchdog {
  private lastChunkAt = Date.now();
  private lastPingAt = Date.now();
  private started = false;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly opts: WatchdogOptions) {
    const tick = Math.max(10, Math.min(opts.keepaliveMs, opts.idleMs / 4));
    this.timer = setInterval(() => this.check(), tick);
  }

  /** Called for every upstream chunk. */
  touch(): void {
    this.lastChunkAt = Date.now();
    this.started = true;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    if (now - this.lastChunkAt >= this.opts.idleMs) {
      this.stop();
      this.opts.onIdle();
      return;
    }
    if (!this.started && now - this.lastPingAt >= this.opts.keepaliveMs) {
      this.lastPingAt = now;
      this.opts.onKeepalive();
    }
  }
}
