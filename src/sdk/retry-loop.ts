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

/** What one call tells the loop: its deadline, its abort signal, whether a retry may repeat a run. */
interface RetryCall {
  readonly deadline: number;
  readonly signal: AbortSignal;
  readonly idempotent: boolean;
}

/** Runs `attempt` (numbered from 1) until it succeeds or the policy stops it; then throws its error. */
type RetryLoop = <T>(
  call: RetryCall,
  attempt: (attempts: number) => Promise<AttemptOutcome<T>>,
) => Promise<T>;

export function createRetryLoop(options: RetryOptions = {}): RetryLoop {
  const policy = options.policy ?? defaultSdkRetryPolicy;
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const sleep = options.sleep ?? abortableSleep;

  return async function run<T>(
    call: RetryCall,
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
