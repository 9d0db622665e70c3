import { sleep as abortableSleep } from '../retry/sleep.js';
import type { AffinityError } from './errors.js';
import {
  decideRetry,
  defaultSdkRetryPolicy,
  type RetryFailure,
  type SdkRetryPolicy,
} from './retry-policy.js';

/**
 * The attempt loop both transports share: run an attempt, ask the policy,
 * wait (abortably) and go again, or throw the attempt's error. The clock,
 * randomness and the wait are injectable so tests can see every decision.
 */

export interface RetryOptions {
  readonly policy?: SdkRetryPolicy | undefined;
  readonly now?: (() => number) | undefined;
  readonly random?: (() => number) | undefined;
  /** The wait between attempts; must reject when `signal` fires. */
  readonly sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
}

export type AttemptOutcome<T> =
  { readonly ok: T } | { readonly failure: RetryFailure; readonly error: AffinityError };

export function createRetryLoop(options: RetryOptions = {}) {
  const policy = options.policy ?? defaultSdkRetryPolicy;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;

  return async function run<T>(
    call: { readonly deadline: number; readonly signal: AbortSignal; readonly idempotent: boolean },
    attempt: (attempts: number) => Promise<AttemptOutcome<T>>,
  ): Promise<T> {
    // Bounded by policy.maxAttempts and by the deadline (decideRetry checks both).
    for (let attempts = 1; ; attempts++) {
      const outcome = await attempt(attempts);
      if ('ok' in outcome) return outcome.ok;
      const decision = decideRetry(policy, outcome.failure, {
        attempt: attempts,
        now: now(),
        deadline: call.deadline,
        idempotent: call.idempotent,
        random,
      });
      if (!decision.retry) throw outcome.error;
      await sleep(decision.delayMs, call.signal);
    }
  };
}

export type RetryLoop = ReturnType<typeof createRetryLoop>;
