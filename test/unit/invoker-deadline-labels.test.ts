import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/backend/backend.js';
import { WarmrouteError } from '../../src/errors.js';
import { failureLabel } from '../../src/invoker/metric-labels.js';
import { createScheduler } from '../../src/scheduler/index.js';
import { invokerFixture, parseExposition } from '../helpers/invoker-fixture.js';
import { flush, Harness } from '../helpers/scheduler-harness.js';
import { configSchedulerSettings } from '../helpers/scheduler-settings.js';

/**
 * A deadline that passes while a request waits in the scheduler's queue is the
 * scheduler's refusal, counted as `warmroute_concurrency_rejections_total{reason="deadline"}`;
 * one that passes while the backend runs is a backend error,
 * `warmroute_backend_errors_total{type="deadline"}`. Both are WR_ERR_DEADLINE (504)
 * to the client.
 */

afterEach(() => {
  vi.useRealTimers();
});

function errorOf(outcome: unknown): unknown {
  expect(outcome).toMatchObject({ ok: false });
  return (outcome as { error: unknown }).error;
}

describe('failureLabel of WR_ERR_DEADLINE', () => {
  it('is the rejection `deadline` at both of the scheduler’s refusals, a backend error while running', async () => {
    // Prepare: a scheduler on fake time; a holder keeps the key busy.
    vi.useFakeTimers({ now: 1_000_000 });
    const clock = (): number => Date.now();
    const h = new Harness(
      createScheduler({ ...configSchedulerSettings, clock, maxQueueWaitMs: 10_000 }),
    );
    const holder = h.submit('holder', 'blue', 't', { deadline: Date.now() + 2_000 });

    // Act: one job whose deadline has passed on arrival, one whose deadline passes in the queue.
    const late = h.submit('late', 'green', 't', { deadline: Date.now() });
    const waiter = h.submit('waiter', 'blue', 't', { deadline: Date.now() + 500 });
    await late.settled;
    await vi.advanceTimersByTimeAsync(500);
    // The holder's own deadline passes while it runs: its ticket's signal aborts.
    await vi.advanceTimersByTimeAsync(1_500);
    await flush();

    // Assess
    expect(failureLabel(errorOf(late.outcome))).toEqual({ rejection: 'deadline' });
    expect(failureLabel(errorOf(waiter.outcome))).toEqual({ rejection: 'deadline' });
    expect(h.scheduler.stats().rejected).toMatchObject({ deadline: 2 });
    const signal = holder.ticket!.signal;
    expect(signal.aborted).toBe(true);
    expect(failureLabel(signal.reason)).toEqual({ backendError: 'deadline' });
    holder.finish();
    await holder.settled;
  });

  it('is a backend error when the backend raises it, and `stage` matters only on WR_ERR_DEADLINE', () => {
    expect(failureLabel(new WarmrouteError('WR_ERR_DEADLINE', [100]))).toEqual({
      backendError: 'deadline',
    });
    expect(
      failureLabel(new WarmrouteError('WR_ERR_BACKEND', ['x'], { details: { stage: 'queue' } })),
    ).toEqual({ backendError: 'WR_ERR_BACKEND' });
    expect(failureLabel(new WarmrouteError('WR_ERR_KEY_BUSY', [10]))).toEqual({
      rejection: 'key_busy',
    });
  });
});

describe('the invoker counts a deadline', () => {
  it('passed in the queue as a rejection, passed in the backend as a backend error', async () => {
    // Prepare: a backend that answers nothing and fails at the request's deadline, as
    // the Lambda backend does.
    let invoked = 0;
    const backend: Backend = {
      invoke: (request) => {
        invoked++;
        return new Promise((_resolve, reject) => {
          setTimeout(
            () => {
              reject(new WarmrouteError('WR_ERR_DEADLINE', [100]));
            },
            Math.max(0, request.deadline - Date.now()),
          );
        });
      },
      close: () => Promise.resolve(),
    };
    const f = invokerFixture({ backend });
    const call = (deadline: number) =>
      f.invoker.invoke({
        functionName: 'fn',
        key: 'k1',
        mode: 'affinity',
        route: 'rpc',
        payload: new TextEncoder().encode('{}'),
        deadline,
      });

    // Act: the holder runs until its deadline; the waiter's deadline passes behind it.
    const now = Date.now();
    const holder = call(now + 300);
    const waiter = call(now + 150);
    const results = await Promise.allSettled([holder, waiter]);

    // Assess: both are WR_ERR_DEADLINE to the caller; the backend saw only the holder.
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as WarmrouteError).code).toBe('WR_ERR_DEADLINE');
    }
    expect(invoked).toBe(1);
    const samples = parseExposition(await f.metrics.registry.metrics());
    const value = (name: string, labels: Record<string, string>) =>
      samples
        .filter(
          (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
        )
        .reduce((sum, s) => sum + s.value, 0);
    expect(value('warmroute_concurrency_rejections_total', { reason: 'deadline' })).toBe(1);
    expect(value('warmroute_backend_errors_total', { function: 'fn', type: 'deadline' })).toBe(1);
    expect(value('warmroute_backend_errors_total', {})).toBe(1);
    expect(
      value('warmroute_invocations_total', { function: 'fn', state: 'unknown', outcome: 'error' }),
    ).toBe(2);
  });
});
