import { describe, it, expect } from 'vitest';
import {
  decideRetry,
  defaultRetryPolicy,
  type RetryPolicy,
} from '../../src/backend/retry-policy.js';
import { backoffWindowMs } from '../../src/retry/backoff.js';

const policy: RetryPolicy = {
  ...defaultRetryPolicy,
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
};
const throttle = { name: 'TooManyRequestsException', statusCode: 429, mayHaveRun: false };
const ctx = (attempt: number, random = 0.5, now = 0, deadline = 100_000) => ({
  attempt,
  now,
  deadline,
  random: () => random,
});

describe('retry policy', () => {
  it('doubles the backoff window up to the cap', () => {
    expect([1, 2, 3, 4, 5].map((a) => backoffWindowMs(policy, a))).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
  });

  it('uses full jitter: a uniform share of the window', () => {
    expect(decideRetry(policy, throttle, ctx(2, 0.25))).toEqual({ retry: true, delayMs: 50 });
    expect(decideRetry(policy, throttle, ctx(2, 0))).toEqual({ retry: true, delayMs: 0 });
    expect(decideRetry({ ...policy, jitter: 'none' }, throttle, ctx(2, 0))).toEqual({
      retry: true,
      delayMs: 200,
    });
  });

  it('honours Retry-After as a minimum wait', () => {
    expect(decideRetry(policy, { ...throttle, retryAfterSeconds: 2 }, ctx(1, 0.5))).toEqual({
      retry: true,
      delayMs: 2_000,
    });
    expect(
      decideRetry(
        { ...policy, honourRetryAfter: false },
        { ...throttle, retryAfterSeconds: 2 },
        ctx(1, 0.5),
      ),
    ).toEqual({
      retry: true,
      delayMs: 50,
    });
  });

  it('stops after maxAttempts, reporting throttling and a Retry-After hint', () => {
    expect(decideRetry(policy, { ...throttle, retryAfterSeconds: 3 }, ctx(4))).toEqual({
      retry: false,
      reason: 'exhausted',
      throttled: true,
      retryAfterSeconds: 3,
    });
  });

  it('never waits past the deadline', () => {
    const d = decideRetry(policy, { ...throttle, retryAfterSeconds: 5 }, ctx(1, 0.5, 1_000, 4_000));
    expect(d).toEqual({ retry: false, reason: 'deadline', throttled: true, retryAfterSeconds: 5 });
  });

  it('never retries a request that may have reached the function', () => {
    const d = decideRetry(policy, { name: 'SocketError', mayHaveRun: true }, ctx(1));
    expect(d).toMatchObject({ retry: false, reason: 'not-retryable', throttled: false });
    expect(decideRetry(policy, { ...throttle, mayHaveRun: true }, ctx(1))).toMatchObject({
      retry: false,
    });
  });

  it('retries the listed service errors and statuses, nothing else', () => {
    expect(
      decideRetry(policy, { name: 'ServiceException', statusCode: 500, mayHaveRun: false }, ctx(1))
        .retry,
    ).toBe(true);
    expect(
      decideRetry(
        policy,
        { name: 'EC2ThrottledException', statusCode: 502, mayHaveRun: false },
        ctx(1),
      ),
    ).toMatchObject({
      retry: true,
    });
    expect(
      decideRetry(policy, { name: 'Unknown', statusCode: 503, mayHaveRun: false }, ctx(1)).retry,
    ).toBe(true);
    expect(
      decideRetry(
        policy,
        { name: 'ResourceNotFoundException', statusCode: 404, mayHaveRun: false },
        ctx(1),
      ),
    ).toMatchObject({
      retry: false,
      reason: 'not-retryable',
    });
  });
});
