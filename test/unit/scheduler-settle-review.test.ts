import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createScheduler } from '../../src/scheduler/index.js';
import { errorCode, flush, Harness } from '../helpers/scheduler-harness.js';
import { configSchedulerSettings } from '../helpers/scheduler-settings.js';

/**
 * Review of 14c669b (a running job's promise settles in fn's own microtask):
 * a caller's promise settles exactly once, with the drain's SHUTTING_DOWN when
 * the grace ends first, whatever fn does afterwards (resolves, rejects, or
 * the client leaves), and the slot is released only when fn settles.
 */

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const clock = (): number => Date.now();

describe('scheduler settles once (review)', () => {
  it('a job cut by the drain whose fn then rejects: the caller keeps SHUTTING_DOWN, the slot is freed', async () => {
    // Prepare
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const client = new AbortController();
    const running = h.submit('running', 'blue', 't', { signal: client.signal });
    await flush();
    const drain = h.scheduler.drain(1_000);

    // Act: the grace ends, then the client leaves and fn rejects.
    await vi.advanceTimersByTimeAsync(1_000);
    await drain;
    client.abort(new Error('client gone'));
    running.fail(new Error('late failure'));
    await running.settled;
    await flush();

    // Assess
    expect(errorCode(running)).toBe('WR_ERR_SHUTTING_DOWN');
    expect(h.scheduler.stats()).toMatchObject({ running: 0, queued: 0, keysActive: 0 });
  });

  it('a job whose fn resolves in the same tick as the cut keeps the first settlement only', async () => {
    // Prepare
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const running = h.submit('running', 'blue', 't');
    await flush();
    const drain = h.scheduler.drain(1_000);

    // Act: fn's value arrives first (its callback runs before the timer).
    await vi.advanceTimersByTimeAsync(999);
    running.finish();
    await vi.advanceTimersByTimeAsync(1);
    await drain;
    await running.settled;

    // Assess
    expect(running.outcome).toEqual({ ok: true, value: 'running' });
    expect(h.scheduler.stats()).toMatchObject({ running: 0, queued: 0 });
  });
});
