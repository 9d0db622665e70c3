/**
 * A token bucket bounding keep-warm pings: `perMinute` tokens a minute, at
 * most `burst` saved up. In any window of a minute at most `burst +
 * perMinute` pings pass. Refilled from the caller's clock on each take, so
 * it needs no timer.
 */
export class TokenBucket {
  private tokens: number;
  private lastMs: number;
  private readonly perMs: number;

  constructor(
    readonly perMinute: number,
    readonly burst: number,
    nowMs: number,
  ) {
    const problems: string[] = [];
    if (!(Number.isFinite(perMinute) && perMinute >= 0))
      problems.push(`perMinute must be a finite number ≥ 0, got ${perMinute}`);
    if (!(Number.isFinite(burst) && burst >= 1))
      problems.push(`burst must be a finite number ≥ 1, got ${burst}`);
    if (problems.length > 0) throw new RangeError(`token bucket: ${problems.join('; ')}`);
    this.perMs = perMinute / 60_000;
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /** Takes one token if there is one. */
  take(nowMs: number): boolean {
    // A clock that steps back refills nothing (and never drains).
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + (nowMs - this.lastMs) * this.perMs);
      this.lastMs = nowMs;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
