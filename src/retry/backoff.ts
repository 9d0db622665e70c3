/**
 * The wait between attempts: an exponential window, capped, optionally with
 * full jitter (a uniform share of the window, as AWS's "Exponential Backoff
 * and Jitter" recommends: it spreads retries of callers that failed together).
 * Every retry in warmroute computes its wait here; the policies that use it
 * differ only in their numbers (see schedule-retry.ts for the callers).
 */
export interface Backoff {
  /** Upper bound of the first backoff window, ms; doubles per retry. */
  readonly baseDelayMs: number;
  /** Cap of the backoff window, ms. */
  readonly maxDelayMs: number;
  /** `full`: a uniform random wait in [0, window]; `none`: the window itself. */
  readonly jitter: 'full' | 'none';
}

/** Backoff window before retry number `retry` (1-based), before jitter. */
export function backoffWindowMs(
  backoff: Pick<Backoff, 'baseDelayMs' | 'maxDelayMs'>,
  retry: number,
): number {
  // 2 ** 30 is far above any sane cap; bounding the exponent keeps the arithmetic finite.
  const exponent = Math.min(Math.max(retry - 1, 0), 30);
  return Math.min(backoff.maxDelayMs, backoff.baseDelayMs * 2 ** exponent);
}

/**
 * The wait before retry number `retry` (1-based), whole ms in [0, window].
 * `random` is uniform in [0, 1), injected so tests are deterministic.
 */
export function backoffDelayMs(backoff: Backoff, retry: number, random: () => number): number {
  const window = backoffWindowMs(backoff, retry);
  return backoff.jitter === 'full' ? Math.floor(random() * window) : window;
}
