/**
 * When the SDK's HTTP transport retries, as data (the undici `RetryHandler`
 * style): the policy is a frozen object and `decideRetry` a pure function of
 * the policy, the failure and an injected clock and random source, so every
 * decision is unit-tested without timers or sockets.
 *
 * The rule that matters: a call the function may have run is never retried
 * unless the caller marked it idempotent — a second attempt would run the
 * function twice (and, for a key that is already busy, in a second, cold
 * environment). Failures that prove the function did not run (the
 * connection was refused before anything was sent; the gateway answered 429
 * or 503, which it does only before invoking) are retried within the
 * deadline with jittered exponential backoff, waiting at least `Retry-After`.
 */

export interface SdkRetryPolicy {
  /** Total attempts, the first included (1 = never retry). */
  readonly maxAttempts: number;
  /** Upper bound of the first backoff window, ms; doubles per retry. */
  readonly baseDelayMs: number;
  /** Cap of the backoff window, ms. */
  readonly maxDelayMs: number;
  /** `full`: a uniform random wait in [0, window]; `none`: the window itself. */
  readonly jitter: 'full' | 'none';
  /** Wait at least what the gateway's `Retry-After` asks. */
  readonly honourRetryAfter: boolean;
  /** Statuses the gateway answers only before invoking anything: always retryable. */
  readonly retryableStatuses: readonly number[];
  /** Statuses after which the function may have run: retried only for idempotent calls. */
  readonly idempotentRetryableStatuses: readonly number[];
  /** Gateway codes never retried, whatever the status (a function error is the function's answer). */
  readonly nonRetryableCodes: readonly string[];
  /** Socket error codes raised while connecting, before any byte was sent. */
  readonly notSentErrorCodes: readonly string[];
}

export const defaultSdkRetryPolicy: SdkRetryPolicy = Object.freeze({
  maxAttempts: 5,
  baseDelayMs: 50,
  maxDelayMs: 2_000,
  jitter: 'full',
  honourRetryAfter: true,
  retryableStatuses: Object.freeze([429, 503]),
  idempotentRetryableStatuses: Object.freeze([502, 504]),
  nonRetryableCodes: Object.freeze(['WR_ERR_FUNCTION_ERROR']),
  notSentErrorCodes: Object.freeze([
    'ECONNREFUSED',
    'ENOTFOUND',
    'EAI_AGAIN',
    'EHOSTUNREACH',
    'ENETUNREACH',
    'EADDRNOTAVAIL',
    'UND_ERR_CONNECT_TIMEOUT',
  ]),
} as const);

export type RetryFailure =
  /** The gateway answered with an error status. */
  | {
      readonly kind: 'status';
      readonly status: number;
      /** The gateway's `WR_ERR_*` code, when the body carried one. */
      readonly code?: string | undefined;
      readonly retryAfterSeconds?: number | undefined;
    }
  /** No answer: the connection failed. */
  | { readonly kind: 'network'; readonly causeCode: string | undefined };

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | {
      readonly retry: false;
      readonly reason: 'not-retryable' | 'may-have-run' | 'exhausted' | 'deadline';
    };

export interface RetryContext {
  /** Attempts made so far (1 after the first failure). */
  readonly attempt: number;
  readonly now: number;
  /** Absolute deadline, epoch ms. */
  readonly deadline: number;
  /** The caller allowed a retry after the function may have run. */
  readonly idempotent: boolean;
  /** Uniform random in [0, 1); injected so tests are deterministic. */
  readonly random: () => number;
}

/** True when the failure proves the function did not run. */
export function provesNotRun(policy: SdkRetryPolicy, failure: RetryFailure): boolean {
  if (failure.kind === 'network') {
    return failure.causeCode !== undefined && policy.notSentErrorCodes.includes(failure.causeCode);
  }
  return policy.retryableStatuses.includes(failure.status);
}

function classify(
  policy: SdkRetryPolicy,
  failure: RetryFailure,
  idempotent: boolean,
): 'retryable' | 'may-have-run' | 'not-retryable' {
  if (
    failure.kind === 'status' &&
    failure.code !== undefined &&
    policy.nonRetryableCodes.includes(failure.code)
  ) {
    return 'not-retryable';
  }
  if (provesNotRun(policy, failure)) return 'retryable';
  // A network failure after connecting may have reached the function.
  const mayHaveRunFailure =
    failure.kind === 'network' || policy.idempotentRetryableStatuses.includes(failure.status);
  if (!mayHaveRunFailure) return 'not-retryable';
  return idempotent ? 'retryable' : 'may-have-run';
}

/** Backoff window before retry number `attempt` (1-based), before jitter. */
export function backoffWindowMs(policy: SdkRetryPolicy, attempt: number): number {
  // Bounding the exponent keeps the arithmetic finite for absurd attempt counts.
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
}

export function decideRetry(
  policy: SdkRetryPolicy,
  failure: RetryFailure,
  ctx: RetryContext,
): RetryDecision {
  const verdict = classify(policy, failure, ctx.idempotent);
  if (verdict !== 'retryable') return { retry: false, reason: verdict };
  if (ctx.attempt >= policy.maxAttempts) return { retry: false, reason: 'exhausted' };
  const window = backoffWindowMs(policy, ctx.attempt);
  let delayMs = policy.jitter === 'full' ? Math.floor(ctx.random() * window) : window;
  if (
    policy.honourRetryAfter &&
    failure.kind === 'status' &&
    failure.retryAfterSeconds !== undefined
  ) {
    delayMs = Math.max(delayMs, failure.retryAfterSeconds * 1000);
  }
  // The next attempt must start before the deadline, the wait included.
  if (ctx.now + delayMs >= ctx.deadline) return { retry: false, reason: 'deadline' };
  return { retry: true, delayMs };
}

/**
 * `Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(
  value: string | string[] | undefined,
  now: number,
): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined) return undefined;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // An HTTP date names its month; Date.parse alone would read "-1" as a year.
  if (!/[a-z]{3}/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}
