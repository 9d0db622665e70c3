import { describe, expect, it } from 'vitest';
import { backoffWindowMs } from '../../src/retry/backoff.js';
import {
  decideRetry,
  defaultSdkRetryPolicy,
  type RetryContext,
  type SdkRetryPolicy,
} from '../../src/sdk/retry-policy.js';

const policy: SdkRetryPolicy = {
  ...defaultSdkRetryPolicy,
  jitter: 'none',
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  maxAttempts: 4,
};
const ctx = (over: Partial<RetryContext> = {}): RetryContext => ({
  attempt: 1,
  now: 1_000_000,
  deadline: 1_000_000 + 30_000,
  idempotent: false,
  random: () => 0.5,
  ...over,
});

describe('SDK retry policy', () => {
  it('retries failures that prove the function did not run: connection refused, 429, 503', () => {
    expect(decideRetry(policy, { kind: 'network', causeCode: 'ECONNREFUSED' }, ctx())).toEqual({
      retry: true,
      delayMs: 100,
    });
    expect(
      decideRetry(policy, { kind: 'status', status: 429, code: 'WR_ERR_KEY_BUSY' }, ctx()),
    ).toEqual({ retry: true, delayMs: 100 });
    expect(
      decideRetry(policy, { kind: 'status', status: 503, code: 'WR_ERR_SHUTTING_DOWN' }, ctx()),
    ).toEqual({ retry: true, delayMs: 100 });
  });

  it('never retries a call the function may have run unless it is idempotent', () => {
    const mayHaveRun = [
      { kind: 'status', status: 502, code: 'WR_ERR_BACKEND' },
      { kind: 'status', status: 504, code: 'WR_ERR_DEADLINE' },
      { kind: 'network', causeCode: 'UND_ERR_SOCKET' },
      { kind: 'network', causeCode: 'ECONNRESET' },
      { kind: 'network', causeCode: undefined },
    ] as const;
    for (const failure of mayHaveRun) {
      expect(decideRetry(policy, failure, ctx()), JSON.stringify(failure)).toEqual({
        retry: false,
        reason: 'may-have-run',
      });
      expect(
        decideRetry(policy, failure, ctx({ idempotent: true })),
        JSON.stringify(failure),
      ).toEqual({ retry: true, delayMs: 100 });
    }
  });

  it('never retries a function error or a client error, even when idempotent', () => {
    expect(
      decideRetry(
        policy,
        { kind: 'status', status: 502, code: 'WR_ERR_FUNCTION_ERROR' },
        ctx({ idempotent: true }),
      ),
    ).toEqual({
      retry: false,
      reason: 'not-retryable',
    });
    for (const status of [400, 401, 404, 413]) {
      expect(decideRetry(policy, { kind: 'status', status }, ctx({ idempotent: true }))).toEqual({
        retry: false,
        reason: 'not-retryable',
      });
    }
  });

  it('waits at least Retry-After, even when the backoff window is shorter', () => {
    expect(
      decideRetry(policy, { kind: 'status', status: 429, retryAfterSeconds: 2 }, ctx()),
    ).toEqual({ retry: true, delayMs: 2_000 });
    // A Retry-After shorter than the backoff keeps the backoff.
    expect(
      decideRetry(
        policy,
        { kind: 'status', status: 429, retryAfterSeconds: 0 },
        ctx({ attempt: 3 }),
      ),
    ).toEqual({ retry: true, delayMs: 400 });
  });

  it('gives up when the wait would pass the deadline', () => {
    expect(
      decideRetry(
        policy,
        { kind: 'status', status: 429, retryAfterSeconds: 5 },
        ctx({ deadline: 1_000_000 + 4_999 }),
      ),
    ).toEqual({
      retry: false,
      reason: 'deadline',
    });
    expect(
      decideRetry(
        policy,
        { kind: 'status', status: 429, retryAfterSeconds: 5 },
        ctx({ deadline: 1_000_000 + 5_001 }),
      ),
    ).toEqual({
      retry: true,
      delayMs: 5_000,
    });
  });

  it('stops after maxAttempts', () => {
    expect(decideRetry(policy, { kind: 'status', status: 503 }, ctx({ attempt: 3 })).retry).toBe(
      true,
    );
    expect(decideRetry(policy, { kind: 'status', status: 503 }, ctx({ attempt: 4 }))).toEqual({
      retry: false,
      reason: 'exhausted',
    });
  });

  it('backs off exponentially up to the cap, with full jitter inside the window', () => {
    expect([1, 2, 3, 4, 5, 6].map((a) => backoffWindowMs(policy, a))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffWindowMs(policy, 10_000)).toBe(1_000);
    const jittered = { ...policy, jitter: 'full' as const };
    expect(
      decideRetry(jittered, { kind: 'status', status: 503 }, ctx({ attempt: 3, random: () => 0 })),
    ).toEqual({ retry: true, delayMs: 0 });
    expect(
      decideRetry(
        jittered,
        { kind: 'status', status: 503 },
        ctx({ attempt: 3, random: () => 0.999 }),
      ),
    ).toEqual({ retry: true, delayMs: 399 });
  });
});
