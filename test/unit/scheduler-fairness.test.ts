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

/** Finishes running jobs one at a time until all have run; returns the start order. */
async function runAll(h: Harness, handles: Handle[]): Promise<string[]> {
  const byId = new Map(handles.map((handle) => [handle.id, handle]));
  for (let i = 0; i < handles.length; i++) {
    await flush();
    const id = h.starts[i];
    if (id === undefined)
      throw new Error(`only ${h.starts.length} of ${handles.length} jobs started`);
    byId.get(id)!.finish();
  }
  await Promise.all(handles.map((handle) => handle.settled));
  return h.starts;
}

describe('fair queuing between tenants', () => {
  it.each([
    ['default tenant cap', 4],
    ['no tenant cap', Infinity],
  ])(
    'does not let a tenant with 100 queued jobs starve one with 2 (%s)',
    async (_name, perTenantConcurrency) => {
      const h = new Harness(
        createScheduler({
          ...configSchedulerSettings,
          clock: () => Date.now(),
          globalConcurrency: 1,
          perTenantConcurrency,
        }),
      );
      const handles: Handle[] = [];
      for (let i = 0; i < 100; i++) handles.push(h.submit(`A${i}`, `a-key-${i}`, 'tenant-A'));
      handles.push(h.submit('B0', 'b-key-0', 'tenant-B'), h.submit('B1', 'b-key-1', 'tenant-B'));

      const order = await runAll(h, handles);

      // A0 held the only slot when B arrived; from then on the slot alternates.
      expect(order.slice(0, 5)).toEqual(['A0', 'A1', 'B0', 'A2', 'B1']);
      expect(order.filter((id) => id.startsWith('A'))).toEqual(
        Array.from({ length: 100 }, (_, i) => `A${i}`),
      );
      expect(h.maxRunning).toBe(1);
      expect(h.scheduler.stats()).toMatchObject({
        running: 0,
        queued: 0,
        keysActive: 0,
        tenantsActive: 0,
      });
    },
  );

  it('round-robins over three tenants, FIFO within each', async () => {
    const h = new Harness(
      createScheduler({
        ...configSchedulerSettings,
        clock: () => Date.now(),
        globalConcurrency: 1,
      }),
    );
    const handles: Handle[] = [h.submit('first', 'k', 'tenant-0')];
    for (const t of ['A', 'B', 'C']) {
      for (let i = 0; i < 3; i++) handles.push(h.submit(`${t}${i}`, `${t}-${i}`, `tenant-${t}`));
    }

    const order = await runAll(h, handles);

    expect(order).toEqual(['first', 'A0', 'B0', 'C0', 'A1', 'B1', 'C1', 'A2', 'B2', 'C2']);
  });

  it('keeps a tenant that waits on one hot key from blocking another tenant', async () => {
    const h = new Harness(
      createScheduler({
        ...configSchedulerSettings,
        clock: () => Date.now(),
        globalConcurrency: 2,
      }),
    );
    const handles: Handle[] = [];
    for (let i = 0; i < 10; i++) handles.push(h.submit(`hot${i}`, 'hot', 'tenant-hot'));
    handles.push(h.submit('cold', 'cold', 'tenant-cold'));
    await flush();

    // The hot key's queue holds one slot at most; the second slot serves the other tenant.
    expect(h.starts).toEqual(['hot0', 'cold']);
    await runAll(h, handles);
    expect(h.maxPerKey.get('hot')).toBe(1);
  });
});
