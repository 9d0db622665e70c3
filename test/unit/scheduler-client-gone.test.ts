import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { CancelListener, CancelSignal } from '../../src/cancel-signal.js';
import { createScheduler } from '../../src/scheduler/index.js';
import { flush, Harness, type Handle } from '../helpers/scheduler-harness.js';
import { mulberry32 as prng } from '../../bench/workload/prng.js';
import { configSchedulerSettings } from '../helpers/scheduler-settings.js';

/**
 * A client that leaves while its job runs (a hung call, a disconnect) frees
 * the job's key for the next request at once; the call itself keeps its
 * tenant and global slots until it ends, because it still occupies an
 * environment and the function's concurrency.
 */

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const clock = (): number => Date.now();

/** An AbortController's signal behind a CancelSignal that counts listeners added. */
function countingSignal(): {
  controller: AbortController;
  signal: CancelSignal;
  listeners: () => number;
} {
  const controller = new AbortController();
  let added = 0;
  const inner = controller.signal;
  const signal: CancelSignal = {
    get aborted() {
      return inner.aborted;
    },
    get reason(): unknown {
      const reason: unknown = inner.reason;
      return reason;
    },
    addEventListener: (type, listener) => {
      added++;
      inner.addEventListener(type, listener);
    },
    removeEventListener: (type, listener) => {
      inner.removeEventListener(type, listener);
    },
  };
  return { controller, signal, listeners: () => added };
}

describe('a client that leaves while its job runs', () => {
  it('frees the key for the job waiting behind it, while its own call runs on', async () => {
    // Prepare: j1 runs for key k; j2 waits for k.
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const gone = new AbortController();
    const j1 = h.submit('j1', 'k', 't', { signal: gone.signal });
    await flush();
    const j2 = h.submit('j2', 'k', 't');
    await flush();
    expect(h.starts).toEqual(['j1']);

    // Act: j1's client leaves; its call has not returned.
    gone.abort(new Error('client left'));
    await flush();

    // Assess: j2 runs now, beside j1's orphaned call.
    expect(h.starts).toEqual(['j1', 'j2']);
    expect(h.scheduler.stats()).toMatchObject({ running: 2, queued: 0, keysActive: 1 });
    j1.finish();
    j2.finish();
    await Promise.all([j1.settled, j2.settled]);
    expect(j1.outcome).toEqual({ ok: true, value: 'j1' });
    expect(h.scheduler.stats()).toMatchObject({
      running: 0,
      queued: 0,
      keysActive: 0,
      tenantsActive: 0,
    });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('hands the key on in order when several wait, and keeps serializing them', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const gone = new AbortController();
    const j1 = h.submit('j1', 'k', 't', { signal: gone.signal });
    await flush();
    const j2 = h.submit('j2', 'k', 't');
    const j3 = h.submit('j3', 'k', 't');
    await flush();

    gone.abort();
    await flush();
    expect(h.starts).toEqual(['j1', 'j2']);
    j2.finish();
    await flush();
    expect(h.starts).toEqual(['j1', 'j2', 'j3']);
    j3.finish();
    j1.finish();
    await Promise.all([j1.settled, j2.settled, j3.settled]);
    expect(h.scheduler.stats()).toMatchObject({ running: 0, queued: 0, keysActive: 0 });
  });

  it('gives the key to a newcomer at once when the holder’s client left before anyone waited', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const gone = new AbortController();
    const j1 = h.submit('j1', 'k', 't', { signal: gone.signal });
    await flush();
    gone.abort();
    await flush();

    const j2 = h.submit('j2', 'k', 't');
    await flush();

    expect(h.starts).toEqual(['j1', 'j2']);
    j1.finish();
    j2.finish();
    await Promise.all([j1.settled, j2.settled]);
    expect(h.scheduler.stats()).toMatchObject({ running: 0, keysActive: 0 });
  });

  it('keeps the orphaned call’s global slot until it ends', async () => {
    const h = new Harness(
      createScheduler({ ...configSchedulerSettings, clock, globalConcurrency: 1 }),
    );
    const gone = new AbortController();
    const j1 = h.submit('j1', 'k', 't', { signal: gone.signal });
    await flush();
    const j2 = h.submit('j2', 'k', 't');
    await flush();

    gone.abort();
    await flush();
    // The key is free, but the only global slot is still taken by j1's call.
    expect(h.starts).toEqual(['j1']);
    j1.finish();
    await flush();
    expect(h.starts).toEqual(['j1', 'j2']);
    j2.finish();
    await Promise.all([j1.settled, j2.settled]);
  });

  it('listens to a running job’s client only once someone waits for its key', async () => {
    const scheduler = createScheduler({ ...configSchedulerSettings, clock });
    const holder = countingSignal();
    let endJ1: () => void = () => undefined;
    const j1 = scheduler.run(
      { key: 'k', tenantId: 't', deadline: Date.now() + 60_000, signal: holder.signal },
      () =>
        new Promise<void>((resolve) => {
          endJ1 = resolve;
        }),
    );
    await flush();
    expect(holder.listeners()).toBe(0);

    const j2 = scheduler.run({ key: 'k', tenantId: 't', deadline: Date.now() + 60_000 }, () =>
      Promise.resolve(),
    );
    await flush();
    expect(holder.listeners()).toBe(1);

    // The watch is what frees the key: the holder's client leaves, j2 runs.
    holder.controller.abort();
    await j2;
    endJ1();
    await j1;
    expect(scheduler.stats()).toMatchObject({ running: 0, keysActive: 0 });
  });

  it('works with any CancelSignal (the HTTP routes pass their own)', async () => {
    // A minimal signal like the routes' ClientGoneSignal: aborted flips, listeners fire once.
    let aborted = false;
    const listeners: CancelListener[] = [];
    const signal: CancelSignal = {
      get aborted() {
        return aborted;
      },
      get reason() {
        return aborted ? new Error('gone') : undefined;
      },
      addEventListener: (_type, listener) => {
        listeners.push(listener);
      },
      removeEventListener: (_type, listener) => {
        const i = listeners.indexOf(listener);
        if (i >= 0) listeners.splice(i, 1);
      },
    };
    const scheduler = createScheduler({ ...configSchedulerSettings, clock });
    const started: string[] = [];
    let endJ1: () => void = () => undefined;
    const j1 = scheduler.run(
      { key: 'k', tenantId: 't', deadline: Date.now() + 60_000, signal },
      () => {
        started.push('j1');
        return new Promise<void>((resolve) => {
          endJ1 = resolve;
        });
      },
    );
    await flush();
    const j2 = scheduler.run({ key: 'k', tenantId: 't', deadline: Date.now() + 60_000 }, () => {
      started.push('j2');
      return Promise.resolve();
    });
    await flush();
    expect(started).toEqual(['j1']);

    aborted = true;
    const event = new Event('abort');
    for (const l of listeners.splice(0)) {
      if (typeof l === 'function') l(event);
      else l.handleEvent(event);
    }
    await j2;
    expect(started).toEqual(['j1', 'j2']);
    endJ1();
    await j1;
    expect(scheduler.stats()).toMatchObject({ running: 0, keysActive: 0 });
  });

  it.each([1, 2, 3, 4])(
    'seed %i: with clients leaving running and waiting jobs at random, a key never runs two present clients, nothing leaks',
    async (seed) => {
      const random = prng(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const h = new Harness(
        createScheduler({
          ...configSchedulerSettings,
          clock,
          perTenantConcurrency: 3,
          globalConcurrency: 4,
          maxQueuePerKey: 4,
          maxQueueWaitMs: 500,
        }),
      );
      const keys = ['k0', 'k1', 'k2', 'k3'];
      const jobs: { handle: Handle; controller: AbortController; done: boolean }[] = [];
      const live = () => jobs.filter((j) => j.handle.started && !j.done);

      for (let step = 0; step < 500; step++) {
        const r = random();
        if (r < 0.4) {
          const key = pick(keys);
          const controller = new AbortController();
          const handle = h.submit(`j${step}`, key, `t-${key}`, { signal: controller.signal });
          jobs.push({ handle, controller, done: false });
        } else if (r < 0.65 && live().length > 0) {
          const job = pick(live());
          job.done = true;
          job.handle.finish();
        } else if (r < 0.85) {
          // A client leaves: its job may be waiting or running.
          const present = jobs.filter((j) => !j.done && !j.controller.signal.aborted);
          if (present.length > 0) pick(present).controller.abort();
        } else {
          await vi.advanceTimersByTimeAsync(Math.floor(random() * 120));
        }
        await flush();

        // Per key, at most one running job whose client is still there.
        for (const key of keys) {
          const present = live().filter(
            (j) => j.handle.key === key && !j.controller.signal.aborted,
          );
          expect(present.length).toBeLessThanOrEqual(1);
        }
        expect(h.scheduler.stats().running).toBe(live().length);
      }

      for (
        let round = 0;
        round < 200 && jobs.some((j) => j.handle.outcome === undefined);
        round++
      ) {
        for (const job of live()) {
          job.done = true;
          job.handle.finish();
        }
        await flush();
        await vi.advanceTimersByTimeAsync(100);
      }
      await Promise.all(jobs.map((j) => j.handle.settled));
      expect(jobs.filter((j) => j.handle.started).length).toBeGreaterThan(50);
      expect(h.scheduler.stats()).toMatchObject({
        running: 0,
        queued: 0,
        keysActive: 0,
        tenantsActive: 0,
      });
      expect(vi.getTimerCount()).toBe(0);
    },
  );
});
