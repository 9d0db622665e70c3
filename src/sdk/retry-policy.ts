import { scheduleRetry, type AttemptContext, type RetrySchedule } from '../retry/schedule-retry.js';

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
 * deadline with jittered exponential backoff, waiting at least `Retry-After`
 * (the shared engine in src/retry/ schedules the attempts).
 */

export interface SdkRetryPolicy extends RetrySchedule {
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

export interface RetryContext extends AttemptContext {
  /** The caller allowed a retry after the function may have run. */
  readonly idempotent: boolean;
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

export function decideRetry(
  policy: SdkRetryPolicy,
  failure: RetryFailure,
  ctx: RetryContext,
): RetryDecision {
  const verdict = classify(policy, failure, ctx.idempotent);
  if (verdict !== 'retryable') return { retry: false, reason: verdict };
  return scheduleRetry(
    policy,
    ctx,
    failure.kind === 'status' ? failure.retryAfterSeconds : undefined,
  );
}
