import { backoffDelayMs, type Backoff } from './backoff.js';
import { MAX_TIMER_DELAY_MS } from './sleep.js';

/**
 * Whether and when to make the next attempt, once a policy has judged the
 * failure retryable: the attempt cap, the backoff, a `Retry-After` and the
 * deadline, in that order. One pure function for every retry in warmroute;
 * what each one may retry stays in its own policy, as data:
 *
 * - `src/backend/retry-policy.ts`: Lambda failures that prove the function
 *   did not run (throttling, service errors), within the request deadline;
 * - `src/sdk/retry-policy.ts`: the same, plus may-have-run failures of calls
 *   marked idempotent;
 * - `src/localhost/invoke-api.ts`: throttled Event invocations, as Lambda's
 *   async queue retries them (no deadline);
 * - `lambda/warm-environment.ts`: a checkpoint that lost the compare-and-set.
 */
export interface RetrySchedule extends Backoff {
  /** Total attempts, the first included (1 = never retry). */
  readonly maxAttempts: number;
  /** Wait at least what the other side's `Retry-After` asks (when it fits in the deadline). */
  readonly honourRetryAfter: boolean;
}

/** Where a call stands when one of its attempts failed. */
export interface AttemptContext {
  /** Attempts made so far, the failed one included (1 after the first failure). */
  readonly attempt: number;
  /** Epoch ms. */
  readonly now: number;
  /** Absolute deadline, epoch ms: the next attempt must start before it, the wait included. */
  readonly deadline: number;
  /** Uniform random in [0, 1); injected so tests are deterministic. */
  readonly random: () => number;
}

/** For retries bounded by their attempt cap alone. */
export const noDeadline = Object.freeze({ now: 0, deadline: Number.POSITIVE_INFINITY });

export type ScheduleDecision =
  | { readonly retry: true; readonly delayMs: number }
  /** `exhausted`: attempts used up; `deadline`: the wait would pass the deadline. */
  | { readonly retry: false; readonly reason: 'exhausted' | 'deadline' };

/**
 * `retryAfterSeconds`: what the failure's `Retry-After` asked for, when it
 * did (honoured as a minimum wait if the schedule says so; `parseRetryAfter`
 * bounds it). `delayMs` never exceeds `MAX_TIMER_DELAY_MS`.
 */
export function scheduleRetry(
  schedule: RetrySchedule,
  ctx: AttemptContext,
  retryAfterSeconds?: number,
): ScheduleDecision {
  if (ctx.attempt >= schedule.maxAttempts) return { retry: false, reason: 'exhausted' };
  let delayMs = backoffDelayMs(schedule, ctx.attempt, ctx.random);
  if (schedule.honourRetryAfter && retryAfterSeconds !== undefined) {
    delayMs = Math.max(delayMs, retryAfterSeconds * 1000);
  }
  // A wait no timer can hold (a huge backoff cap) is the longest one it can.
  delayMs = Math.min(delayMs, MAX_TIMER_DELAY_MS);
  if (ctx.now + delayMs >= ctx.deadline) {
    return { retry: false, reason: 'deadline' };
  }
  return { retry: true, delayMs };
}
