import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CancelListener, CancelSignal } from '../../src/cancel-signal.js';
import { backoffDelayMs, backoffWindowMs, type Backoff } from '../../src/retry/backoff.js';
import { MAX_RETRY_AFTER_SECONDS, parseRetryAfter } from '../../src/retry/retry-after.js';
import { noDeadline, scheduleRetry, type RetrySchedule } from '../../src/retry/schedule-retry.js';
import { abortReason, MAX_TIMER_DELAY_MS, sleep } from '../../src/retry/sleep.js';

const schedule: RetrySchedule = {
  maxAttempts: 4,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  jitter: 'full',
  honourRetryAfter: true,
};
const at = (attempt: number, random = 0.5, now = 0, deadline = 100_000) => ({
  attempt,
  now,
  deadline,
  random: () => random,
});

describe('backoff', () => {
  it('doubles the window from the base up to the cap', () => {
    // Act
    const windows = [1, 2, 3, 4, 5, 6].map((retry) => backoffWindowMs(schedule, retry));
    // Assess
    expect(windows).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffWindowMs(schedule, 10_000)).toBe(1_000);
    expect(backoffWindowMs({ baseDelayMs: 100, maxDelayMs: Number.MAX_VALUE }, 10_000)).toBe(
      100 * 2 ** 30,
    );
  });

  it('treats a retry number below 1 as the first', () => {
    expect(backoffWindowMs(schedule, 0)).toBe(100);
    expect(backoffWindowMs(schedule, -5)).toBe(100);
  });

  it('full jitter: whole ms, a uniform share of the window; none: the window', () => {
    const full: Backoff = { baseDelayMs: 100, maxDelayMs: 1_000, jitter: 'full' };
    expect(backoffDelayMs(full, 3, () => 0)).toBe(0);
    expect(backoffDelayMs(full, 3, () => 0.25)).toBe(100);
    expect(backoffDelayMs(full, 3, () => 0.999)).toBe(399);
    expect(backoffDelayMs({ ...full, jitter: 'none' }, 3, () => 0)).toBe(400);
  });
});

describe('scheduleRetry', () => {
  it('retries after the jittered backoff while attempts remain', () => {
    expect(scheduleRetry(schedule, at(1, 0.5))).toEqual({ retry: true, delayMs: 50 });
    expect(scheduleRetry(schedule, at(3, 0.5))).toEqual({ retry: true, delayMs: 200 });
  });

  it('stops when the attempt cap is reached', () => {
    expect(scheduleRetry(schedule, at(4))).toEqual({ retry: false, reason: 'exhausted' });
    expect(scheduleRetry({ ...schedule, maxAttempts: 1 }, at(1))).toEqual({
      retry: false,
      reason: 'exhausted',
    });
  });

  it('waits at least Retry-After when honoured, the backoff when it is longer', () => {
    expect(scheduleRetry(schedule, at(1, 0.5), 2)).toEqual({ retry: true, delayMs: 2_000 });
    expect(scheduleRetry({ ...schedule, jitter: 'none' }, at(3), 0)).toEqual({
      retry: true,
      delayMs: 400,
    });
    expect(scheduleRetry({ ...schedule, honourRetryAfter: false }, at(1, 0.5), 2)).toEqual({
      retry: true,
      delayMs: 50,
    });
  });

  it('gives up when the next attempt would start at or after the deadline', () => {
    const none = { ...schedule, jitter: 'none' as const };
    expect(scheduleRetry(none, at(1, 0, 1_000, 1_100))).toEqual({
      retry: false,
      reason: 'deadline',
    });
    expect(scheduleRetry(none, at(1, 0, 1_000, 1_101))).toEqual({ retry: true, delayMs: 100 });
    expect(scheduleRetry(schedule, at(1, 0.5, 1_000, 4_000), 5)).toEqual({
      retry: false,
      reason: 'deadline',
    });
  });

  it('without a deadline only the attempt cap ends the retries', () => {
    const long = { ...schedule, maxDelayMs: 5e10, jitter: 'none' as const, maxAttempts: 40 };
    // The 5e10 ms window is waited as the longest wait a timer can hold (was
    // 5e10, which Node's setTimeout runs after 1 ms).
    expect(scheduleRetry(long, { attempt: 39, random: () => 0, ...noDeadline })).toEqual({
      retry: true,
      delayMs: MAX_TIMER_DELAY_MS,
    });
    expect(scheduleRetry(long, { attempt: 40, random: () => 0, ...noDeadline })).toEqual({
      retry: false,
      reason: 'exhausted',
    });
  });

  describe('properties', () => {
    const schedules = fc.record({
      maxAttempts: fc.integer({ min: 1, max: 20 }),
      baseDelayMs: fc.integer({ min: 0, max: 10_000 }),
      maxDelayMs: fc.integer({ min: 0, max: 120_000 }),
      jitter: fc.constantFrom('full' as const, 'none' as const),
      honourRetryAfter: fc.boolean(),
    });
    const contexts = fc.record({
      attempt: fc.integer({ min: 1, max: 100 }),
      now: fc.integer({ min: 0, max: 2 ** 45 }),
      budgetMs: fc.integer({ min: 0, max: 600_000 }),
      random: fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
      retryAfterSeconds: fc.option(fc.integer({ min: 0, max: 3_600 }), { nil: undefined }),
    });

    it('a delay lies within [0, cap], or is at least Retry-After when that is honoured', () => {
      fc.assert(
        fc.property(schedules, contexts, (s, c) => {
          const d = scheduleRetry(
            s,
            { attempt: c.attempt, random: () => c.random, ...noDeadline },
            c.retryAfterSeconds,
          );
          if (!d.retry) return;
          expect(Number.isInteger(d.delayMs)).toBe(true);
          expect(d.delayMs).toBeGreaterThanOrEqual(0);
          if (s.honourRetryAfter && c.retryAfterSeconds !== undefined) {
            expect(d.delayMs).toBeGreaterThanOrEqual(c.retryAfterSeconds * 1000);
            expect(d.delayMs).toBeLessThanOrEqual(
              Math.max(s.maxDelayMs, c.retryAfterSeconds * 1000),
            );
          } else {
            expect(d.delayMs).toBeLessThanOrEqual(s.maxDelayMs);
          }
        }),
      );
    });

    it('never schedules an attempt at or past the deadline', () => {
      fc.assert(
        fc.property(schedules, contexts, (s, c) => {
          const deadline = c.now + c.budgetMs;
          const d = scheduleRetry(
            s,
            { attempt: c.attempt, now: c.now, deadline, random: () => c.random },
            c.retryAfterSeconds,
          );
          if (d.retry) expect(c.now + d.delayMs).toBeLessThan(deadline);
        }),
      );
    });

    // Was 1e23 ms for a huge Retry-After without deadline: Node runs such a timer after 1 ms.
    it('never schedules a wait longer than a timer can hold', () => {
      fc.assert(
        fc.property(
          schedules,
          fc.integer({ min: 1, max: 100 }),
          fc.double({ min: 0, max: 1e308, noNaN: true }),
          fc.integer({ min: 0, max: 2 ** 53 - 1 }),
          (s, attempt, retryAfterSeconds, maxDelayMs) => {
            const d = scheduleRetry(
              { ...s, maxDelayMs, baseDelayMs: maxDelayMs },
              { attempt, random: () => 0.99, ...noDeadline },
              retryAfterSeconds,
            );
            if (d.retry) expect(d.delayMs).toBeLessThanOrEqual(MAX_TIMER_DELAY_MS);
          },
        ),
      );
      const huge = scheduleRetry(schedule, { attempt: 1, random: () => 0.5, ...noDeadline }, 1e20);
      expect(huge).toEqual({ retry: true, delayMs: MAX_TIMER_DELAY_MS });
    });

    it('never makes more attempts than the cap, and retries up to it when time allows', () => {
      fc.assert(
        fc.property(
          schedules,
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          (s, r) => {
            // Act: a call that fails every attempt, with no deadline in the way.
            let attempts = 0;
            for (;;) {
              attempts++;
              const d = scheduleRetry(s, { attempt: attempts, random: () => r, ...noDeadline });
              if (!d.retry) {
                expect(d.reason).toBe('exhausted');
                break;
              }
            }
            // Assess
            expect(attempts).toBe(s.maxAttempts);
          },
        ),
      );
    });
  });
});

describe('parseRetryAfter', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter(['7', '9'], now)).toBe(7);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:05 GMT', now)).toBe(5);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  // Was: V8's lenient Date.parse read "abc 12" as 0 s and "Sunday 3000" as
  // 30707265600 s, and delta-seconds had no upper bound.
  it('reads only delta-seconds and HTTP dates, nothing Date.parse would guess at', () => {
    const now = Date.parse('2026-12-04T20:00:00Z');
    for (const text of [
      'abc 12',
      'Dec 5',
      'Sunday 3000',
      '1 Jan 10000',
      'aaa 275760',
      'tomorrow',
      'NaN',
      'Infinity',
      '1.5',
      '1e3',
      '+5',
      '2026-12-04T20:00:10Z',
      'Fri, 04 Dec 2026 20:00:10 UTC',
      'Fri, 4 Dec 2026 20:00:10 GMT',
      'Fri, 31 Feb 2026 20:00:10 GMT',
      'Fri, 04 Dec 2026 24:00:10 GMT',
      'Fri, 04 Dec 0094 20:00:10 GMT',
    ]) {
      expect(parseRetryAfter(text, now), text).toBeUndefined();
    }
  });

  it('reads the two obsolete HTTP-date forms a recipient must accept (RFC 9110 §5.6.7)', () => {
    const now = Date.parse('2026-12-04T20:00:00Z');
    expect(parseRetryAfter('Fri, 04 Dec 2026 20:00:10 GMT', now)).toBe(10);
    expect(parseRetryAfter('Friday, 04-Dec-26 20:00:10 GMT', now)).toBe(10);
    expect(parseRetryAfter('Fri Dec  4 20:00:10 2026', now)).toBe(10);
    // A two-digit year more than 50 years ahead is in the past century: no wait.
    expect(parseRetryAfter('Monday, 04-Dec-90 20:00:10 GMT', now)).toBe(0);
  });

  // Was undefined: Date.UTC rolled :60 over into the next day, which the
  // day-of-month check then refused.
  it('reads a leap second (second 60, RFC 9110 §5.6.7) as second 59', () => {
    const now = Date.parse('2025-12-31T23:59:00Z');
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:60 GMT', now)).toBe(59);
    expect(parseRetryAfter('Wednesday, 31-Dec-25 23:59:60 GMT', now)).toBe(59);
    expect(parseRetryAfter('Wed Dec 31 23:59:60 2025', now)).toBe(59);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:58:60 GMT', now)).toBe(0);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:59:61 GMT', now)).toBeUndefined();
  });

  it(`is at most ${MAX_RETRY_AFTER_SECONDS} s however far the header points`, () => {
    const now = Date.parse('2026-12-04T20:00:00Z');
    expect(parseRetryAfter('99999999999999999999', now)).toBe(MAX_RETRY_AFTER_SECONDS);
    expect(parseRetryAfter('Sun, 01 Jan 3000 00:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_SECONDS);
    expect(parseRetryAfter(1e308, now)).toBe(MAX_RETRY_AFTER_SECONDS);
    expect(parseRetryAfter(String(MAX_RETRY_AFTER_SECONDS), now)).toBe(MAX_RETRY_AFTER_SECONDS);
  });

  it('never throws and never leaves [0, the clamp], whatever the value', () => {
    const values = fc.oneof(
      fc.string(),
      fc.stringMatching(/^\s*\d{1,30}\s*$/),
      fc
        .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
        .map((d) => d.toUTCString()),
      fc.double(),
      fc.anything(),
    );
    fc.assert(
      fc.property(values, fc.integer({ min: 0, max: 2 ** 45 }), (value, now) => {
        const seconds = parseRetryAfter(value, now);
        if (seconds === undefined) return;
        expect(Number.isFinite(seconds)).toBe(true);
        expect(seconds).toBeGreaterThanOrEqual(0);
        expect(seconds).toBeLessThanOrEqual(MAX_RETRY_AFTER_SECONDS);
      }),
    );
  });

  it('takes a number already parsed (the AWS SDK exception field), never negative', () => {
    expect(parseRetryAfter(2, 0)).toBe(2);
    expect(parseRetryAfter(-3, 0)).toBe(0);
    expect(parseRetryAfter(Number.NaN, 0)).toBeUndefined();
    expect(parseRetryAfter('', 0)).toBeUndefined();
    expect(parseRetryAfter({}, 0)).toBeUndefined();
  });
});

/** A CancelSignal that counts its listeners, to see the sleep clean up. */
function fakeSignal() {
  const listeners = new Set<CancelListener>();
  const signal = {
    aborted: false,
    reason: undefined as unknown,
    addEventListener(_type: 'abort', listener: CancelListener) {
      listeners.add(listener);
    },
    removeEventListener(_type: 'abort', listener: CancelListener) {
      listeners.delete(listener);
    },
    abort(reason: unknown) {
      signal.aborted = true;
      signal.reason = reason;
      for (const l of [...listeners]) {
        if (typeof l === 'function') l(new Event('abort'));
        else l.handleEvent(new Event('abort'));
      }
      listeners.clear();
    },
    listeners,
  };
  return signal satisfies CancelSignal;
}

describe('sleep', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves after the wait and stops listening', async () => {
    // Prepare
    const signal = fakeSignal();
    let done = false;
    const waiting = sleep(100, signal).then(() => {
      done = true;
    });
    // Act
    await vi.advanceTimersByTimeAsync(99);
    const early = done;
    await vi.advanceTimersByTimeAsync(1);
    await waiting;
    // Assess
    expect(early).toBe(false);
    expect(done).toBe(true);
    expect(signal.listeners.size).toBe(0);
  });

  it('rejects with the signal reason as soon as it fires, and clears its timer', async () => {
    const signal = fakeSignal();
    const waiting = sleep(60_000, signal);
    const reason = new Error('deadline');
    signal.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects at once when the signal already fired, without a timer', async () => {
    const controller = new AbortController();
    controller.abort();
    const waiting = sleep(60_000, controller.signal);
    expect(vi.getTimerCount()).toBe(0);
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('an abort reason that is no error becomes an AbortError', () => {
    const signal = fakeSignal();
    signal.abort('gone');
    expect(abortReason(signal)).toMatchObject({
      name: 'AbortError',
      message: 'Invocation aborted by the caller',
    });
    expect(abortReason(undefined)).toBeInstanceOf(Error);
  });

  it('waits the longest a timer can hold for a longer wait, not 1 ms', async () => {
    let done = false;
    const waiting = sleep(1e23).then(() => {
      done = true;
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(done).toBe(false);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY_MS);
    await waiting;
    expect(done).toBe(true);
  });

  it('waits without a signal', async () => {
    const waiting = sleep(10);
    await vi.advanceTimersByTimeAsync(10);
    await expect(waiting).resolves.toBeUndefined();
  });
});
