/**
 * Polls on a fixed period while the tab is visible, never with two requests
 * in flight. Short polling rather than server-sent events: one stateless GET
 * every couple of seconds costs the gateway nothing while the page is closed,
 * needs no connection bookkeeping, and recovers from a gateway restart by
 * itself.
 *
 * Failures back off exponentially from the period up to `maxBackoffMs`; the
 * first success returns to the period. A hidden tab stops polling (browsers
 * throttle its timers anyway) and polls at once when shown again.
 */

export interface PollerVisibility {
  isHidden(): boolean;
  /** Calls back on every visibility change. */
  onChange(listener: () => void): void;
}

export interface PollerTimers {
  setTimeout(callback: () => void, ms: number): number;
  clearTimeout(id: number): void;
}

export interface PollerOptions {
  readonly periodMs: number;
  readonly maxBackoffMs: number;
  /** One poll; rejects on failure. */
  readonly poll: () => Promise<void>;
  readonly onFailure: (error: unknown, retryInMs: number) => void;
  readonly onRecovery: () => void;
  readonly visibility: PollerVisibility;
  readonly timers: PollerTimers;
}

export class Poller {
  private timer: number | undefined;
  private inFlight = false;
  private failures = 0;
  private started = false;

  constructor(private readonly options: PollerOptions) {}

  /** Polls now (if visible), then on the period. Idempotent. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.options.visibility.onChange(() => {
      this.onVisibilityChange();
    });
    this.pollNow();
  }

  /** The delay before the next poll after `failures` failures in a row. */
  static delayAfter(failures: number, periodMs: number, maxBackoffMs: number): number {
    if (failures === 0) return periodMs;
    return Math.min(maxBackoffMs, periodMs * 2 ** failures);
  }

  private onVisibilityChange(): void {
    this.cancelTimer();
    // A poll in flight schedules the next one when it settles.
    if (!this.options.visibility.isHidden() && !this.inFlight) this.pollNow();
  }

  private pollNow(): void {
    this.cancelTimer();
    if (this.inFlight || this.options.visibility.isHidden()) return;
    this.inFlight = true;
    this.options.poll().then(
      () => {
        this.settle(true, undefined);
      },
      (error: unknown) => {
        this.settle(false, error);
      },
    );
  }

  private settle(ok: boolean, error: unknown): void {
    this.inFlight = false;
    const { periodMs, maxBackoffMs } = this.options;
    if (ok) {
      if (this.failures > 0) this.options.onRecovery();
      this.failures = 0;
    } else {
      this.failures += 1;
    }
    const delay = Poller.delayAfter(this.failures, periodMs, maxBackoffMs);
    if (!ok) this.options.onFailure(error, delay);
    if (this.options.visibility.isHidden()) return;
    this.timer = this.options.timers.setTimeout(() => {
      this.timer = undefined;
      this.pollNow();
    }, delay);
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.options.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
