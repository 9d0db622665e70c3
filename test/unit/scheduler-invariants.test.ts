import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createScheduler } from '../../src/scheduler/index.js';
import { flush, Harness, type Handle } from '../helpers/scheduler-harness.js';
import { configSchedulerSettings } from '../helpers/scheduler-settings.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** Deterministic PRNG (mulberry32) so a failure replays. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Tracked {
  readonly handle: Handle;
  readonly controller: AbortController;
  done: boolean;
}

describe('scheduler invariants under a random mix of arrivals, completions, failures, aborts and expiries', () => {
  it.each([1, 2, 3, 4, 5, 6])(
    'seed %i: caps hold, nothing leaks, every job settles',
    async (seed) => {
      const random = prng(seed);
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
      const perTenantConcurrency = 2;
      const globalConcurrency = 3;
      const serializePerKey = seed % 3 !== 0;
      const h = new Harness(
        createScheduler({
          ...configSchedulerSettings,
          clock: () => Date.now(),
          serializePerKey,
          perTenantConcurrency,
          globalConcurrency,
          maxQueuePerKey: 4,
          maxQueueWaitMs: 500,
          maxGlobalQueue: 40,
        }),
      );
      const keys = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5', 'k6', 'k7'];
      // Several keys per tenant, as in pooled mode.
      const tenantOf = (key: string): string => `t${Number(key.slice(1)) % 3}`;
      const jobs: Tracked[] = [];

      for (let step = 0; step < 600; step++) {
        const r = random();
        const running = jobs.filter((j) => j.handle.started && !j.done);
        const waiting = jobs.filter((j) => !j.handle.started && j.handle.outcome === undefined);
        if (r < 0.45) {
          const key = pick(keys);
          const controller = new AbortController();
          const deadline =
            Date.now() + (random() < 0.2 ? 100 + Math.floor(random() * 300) : 60_000);
          const handle = h.submit(`j${step}`, key, tenantOf(key), {
            deadline,
            signal: controller.signal,
          });
          jobs.push({ handle, controller, done: false });
        } else if (r < 0.75 && running.length > 0) {
          const job = pick(running);
          job.done = true;
          if (random() < 0.2) job.handle.fail(new Error('fn failed'));
          else job.handle.finish();
        } else if (r < 0.85 && waiting.length > 0) {
          pick(waiting).controller.abort();
        } else {
          await vi.advanceTimersByTimeAsync(Math.floor(random() * 120));
        }
        await flush();

        const stats = h.scheduler.stats();
        expect(stats.running).toBe(
          jobs.filter((j) => j.handle.started && j.handle.outcome === undefined).length,
        );
        expect(stats.queued).toBe(
          jobs.filter((j) => !j.handle.started && j.handle.outcome === undefined).length,
        );
        expect(stats.queued).toBeLessThanOrEqual(40);
      }

      // Wind down: finish whatever runs until nothing is left.
      for (let round = 0; round < 1_000; round++) {
        const running = jobs.filter((j) => j.handle.started && !j.done);
        const pending = jobs.some((j) => j.handle.outcome === undefined);
        if (!pending) break;
        for (const job of running) {
          job.done = true;
          job.handle.finish();
        }
        await flush();
        if (running.length === 0) await vi.advanceTimersByTimeAsync(100);
      }
      await Promise.all(jobs.map((j) => j.handle.settled));

      expect(h.maxRunning).toBeLessThanOrEqual(globalConcurrency);
      for (const max of h.maxPerTenant.values())
        expect(max).toBeLessThanOrEqual(perTenantConcurrency);
      if (serializePerKey) for (const max of h.maxPerKey.values()) expect(max).toBe(1);
      expect(jobs.every((j) => j.handle.outcome !== undefined)).toBe(true);
      // Enough happened for the run to mean something.
      expect(h.starts.length).toBeGreaterThan(50);
      const stats = h.scheduler.stats();
      expect(stats).toMatchObject({ running: 0, queued: 0, keysActive: 0, tenantsActive: 0 });
      expect(
        stats.rejected.keyBusy + stats.rejected.concurrency + stats.rejected.deadline,
      ).toBeGreaterThan(0);
      expect(vi.getTimerCount()).toBe(0);
    },
  );
});
