import { backoffWindowMs } from '../retry/backoff.js';
import { scheduleRetry, type AttemptContext, type RetrySchedule } from '../retry/schedule-retry.js';

/**
 * Retries as data (the undici `RetryHandler` style): which upstream failures
 * may be retried, as a plain frozen object; the attempt cap, backoff,
 * Retry-After and deadline are the shared engine's (src/retry/). `decideRetry`
 * is a pure function of the policy, the failure and an injected clock/random
 * source, so the decisions are unit-tested without timers.
 *
 * Only failures that mean "the function did not run" are retryable: Lambda
 * throttling and explicit service errors. A timeout or a socket error after
 * the request was sent is never retried — the function may be running, and a
 * second attempt would start a second run (and, under tenant isolation, a
 * second environment).
 */

export interface RetryPolicy extends RetrySchedule {
  /** Error names (`err.name` of the SDK's exception classes) that mean "throttled, not run". */
  readonly throttlingErrorNames: readonly string[];
  /** Error names of service faults that mean "not run" and may be retried. */
  readonly retryableErrorNames: readonly string[];
  /** HTTP statuses retried when the error has no modelled name (an unknown upstream). */
  readonly retryableStatuses: readonly number[];
}

export const defaultRetryPolicy: RetryPolicy = Object.freeze({
  maxAttempts: 4,
  baseDelayMs: 25,
  maxDelayMs: 1_000,
  jitter: 'full',
  honourRetryAfter: true,
  throttlingErrorNames: Object.freeze(['TooManyRequestsException', 'EC2ThrottledException']),
  retryableErrorNames: Object.freeze(['ServiceException']),
  retryableStatuses: Object.freeze([429, 503]),
} as const);

export interface FailureInfo {
  /** `err.name` of the failure (SDK exception class name, or undici's error name). */
  readonly name: string;
  /** HTTP status of the upstream response, when there was one. */
  readonly statusCode?: number | undefined;
  /** Seconds from the upstream's `Retry-After`, when present. */
  readonly retryAfterSeconds?: number | undefined;
  /** True when the request may have reached the function (sent, then timed out / socket error). */
  readonly mayHaveRun: boolean;
}

export type RetryDecision =
  | { readonly retry: true; readonly delayMs: number }
  | {
      readonly retry: false;
      /** `not-retryable`: the failure is final; `exhausted`: attempts used up; `deadline`: the wait would pass the deadline. */
      readonly reason: 'not-retryable' | 'exhausted' | 'deadline';
      /** Whether the failure was throttling (the caller answers 429 rather than 502). */
      readonly throttled: boolean;
      /** A hint for the client: the upstream's Retry-After, or the backoff we would have waited. */
      readonly retryAfterSeconds: number | undefined;
    };

export function isThrottling(policy: RetryPolicy, failure: FailureInfo): boolean {
  return policy.throttlingErrorNames.includes(failure.name) || failure.statusCode === 429;
}

export function isRetryable(policy: RetryPolicy, failure: FailureInfo): boolean {
  if (failure.mayHaveRun) return false;
  if (policy.throttlingErrorNames.includes(failure.name)) return true;
  if (policy.retryableErrorNames.includes(failure.name)) return true;
  return failure.statusCode !== undefined && policy.retryableStatuses.includes(failure.statusCode);
}

export function decideRetry(
  policy: RetryPolicy,
  failure: FailureInfo,
  ctx: AttemptContext,
): RetryDecision {
  const throttled = isThrottling(policy, failure);
  const hint =
    failure.retryAfterSeconds ??
    (throttled ? Math.max(1, Math.ceil(backoffWindowMs(policy, ctx.attempt) / 1000)) : undefined);
  if (!isRetryable(policy, failure)) {
    return { retry: false, reason: 'not-retryable', throttled, retryAfterSeconds: hint };
  }
  const decision = scheduleRetry(policy, ctx, failure.retryAfterSeconds);
  if (decision.retry) return decision;
  return { retry: false, reason: decision.reason, throttled, retryAfterSeconds: hint };
}
