/**
 * One interval per stream, not a timer per chunk: the stream only counts its chunks, and the
 * interval looks at that count. Before the first chunk it sends keep-alive comments so proxies
 * hold the connection; a stream that made no progress for `idleMs` is declared stalled.
 */
export interface WatchdogOptions {
  keepaliveMs: number;
  idleMs: number;
  /** A number that grows while the stream makes progress (its chunk count). */
  progress(): number;
  onKeepalive(): void;
  onIdle(): void;
}

/** How often a watchdog looks: often enough for both its keep-alives and its idle limit. */
export const watchdogTick = (keepaliveMs: number, idleMs: number) => Math.max(10, Math.min(keepaliveMs, idleMs / 4));

export class Watchdog {
  private lastProgress = 0;
  private lastProgressAt = Date.now();
  private lastPingAt = Date.now();
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly opts: WatchdogOptions) {
    this.timer = setInterval(() => this.check(), watchdogTick(opts.keepaliveMs, opts.idleMs));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private check(): void {
    const now = Date.now();
    const progress = this.opts.progress();
    if (progress !== this.lastProgress) {
      this.lastProgress = progress;
      this.lastProgressAt = now;
    } else if (now - this.lastProgressAt >= this.opts.idleMs) {
      this.stop();
      this.opts.onIdle();
      return;
    }
    if (progress === 0 && now - this.lastPingAt >= this.opts.keepaliveMs) {
      this.lastPingAt = now;
      this.opts.onKeepalive();
    }
  }
}
