import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WarmrouteError } from '../../src/errors.js';
import { createScheduler } from '../../src/scheduler/index.js';
import { errorCode, flush, Harness } from '../helpers/scheduler-harness.js';
import { configSchedulerSettings } from '../helpers/scheduler-settings.js';

beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(() => {
  vi.useRealTimers();
});

const clock = (): number => Date.now();

describe('per-key serialization', () => {
  it('runs jobs of one key one at a time, in arrival order', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const jobs = ['j1', 'j2', 'j3'].map((id) => h.submit(id, 'blue', 't-blue'));
    await flush();
    expect(h.starts).toEqual(['j1']);
    expect(h.scheduler.stats()).toMatchObject({ running: 1, queued: 2, keysActive: 1 });

    jobs[0]!.finish();
    await flush();
    expect(h.starts).toEqual(['j1', 'j2']);
    jobs[1]!.finish();
    await flush();
    jobs[2]!.finish();
    await Promise.all(jobs.map((j) => j.settled));

    expect(h.starts).toEqual(['j1', 'j2', 'j3']);
    expect(h.maxPerKey.get('blue')).toBe(1);
    expect(jobs.map((j) => j.outcome)).toEqual(
      ['j1', 'j2', 'j3'].map((value) => ({ ok: true, value })),
    );
    expect(h.scheduler.stats()).toMatchObject({
      running: 0,
      queued: 0,
      keysActive: 0,
      tenantsActive: 0,
    });
  });

  it('runs different keys in parallel', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const blue = h.submit('b', 'blue', 't-blue');
    const green = h.submit('g', 'green', 't-green');
    await flush();

    expect(h.starts).toEqual(['b', 'g']);
    expect(h.maxRunning).toBe(2);
    expect(blue.ticket?.queueWaitMs).toBe(0);
    expect(green.ticket?.queueWaitMs).toBe(0);
    blue.finish();
    green.finish();
    await Promise.all([blue.settled, green.settled]);
  });

  it('reports how long a job waited for its key', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const first = h.submit('1', 'blue', 't');
    const second = h.submit('2', 'blue', 't');
    await flush();

    vi.advanceTimersByTime(250);
    first.finish();
    await flush();

    expect(second.ticket?.queueWaitMs).toBe(250);
    second.finish();
    await second.settled;
  });

  it('rejects at once with KEY_BUSY (429, Retry-After) when the key queue is full', async () => {
    const h = new Harness(
      createScheduler({
        ...configSchedulerSettings,
        clock,
        maxQueuePerKey: 2,
        retryAfterSeconds: 3,
      }),
    );
    const jobs = ['1', '2', '3'].map((id) => h.submit(id, 'blue', 't'));
    const extra = h.submit('4', 'blue', 't');
    await extra.settled;

    expect(errorCode(extra)).toBe('WR_ERR_KEY_BUSY');
    const error = (extra.outcome as { error: WarmrouteError }).error;
    expect(error.statusCode).toBe(429);
    expect(error.retryAfterSeconds).toBe(3);
    expect(extra.started).toBe(false);
    expect(h.scheduler.stats()).toMatchObject({
      queued: 2,
      rejected: { keyBusy: 1, concurrency: 0, deadline: 0 },
    });

    for (const job of jobs) {
      await flush();
      job.finish();
    }
    await Promise.all(jobs.map((j) => j.settled));
    expect(h.starts).toEqual(['1', '2', '3']);
  });

  it('rejects with KEY_BUSY and Retry-After when the wait bound passes while the key is busy', async () => {
    const h = new Harness(
      createScheduler({ ...configSchedulerSettings, clock, maxQueueWaitMs: 1_000 }),
    );
    const holder = h.submit('holder', 'blue', 't');
    const waiter = h.submit('waiter', 'blue', 't');
    const behind = h.submit('behind', 'blue', 't');

    await vi.advanceTimersByTimeAsync(999);
    expect(waiter.outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);

    expect(errorCode(waiter)).toBe('WR_ERR_KEY_BUSY');
    expect(errorCode(behind)).toBe('WR_ERR_KEY_BUSY');
    expect((waiter.outcome as { error: WarmrouteError }).error.retryAfterSeconds).toBe(1);
    expect(h.scheduler.stats()).toMatchObject({
      running: 1,
      queued: 0,
      keysActive: 1,
      rejected: { keyBusy: 2 },
    });

    holder.finish();
    await holder.settled;
    expect(h.scheduler.stats()).toMatchObject({ running: 0, keysActive: 0, tenantsActive: 0 });
    expect(vi.getTimerCount()).toBe(0);
    // The key is free again: the next job starts at once.
    const next = h.submit('next', 'blue', 't');
    await flush();
    expect(next.started).toBe(true);
    next.finish();
    await next.settled;
  });

  it('lets same-key jobs run concurrently up to the tenant cap when serializePerKey is false', async () => {
    const h = new Harness(
      createScheduler({
        ...configSchedulerSettings,
        clock,
        serializePerKey: false,
        perTenantConcurrency: 2,
      }),
    );
    const jobs = ['1', '2', '3'].map((id) => h.submit(id, 'blue', 't'));
    await flush();

    expect(h.starts).toEqual(['1', '2']);
    expect(h.scheduler.stats()).toMatchObject({
      running: 2,
      queued: 1,
      keysActive: 0,
      tenantsActive: 1,
    });
    jobs[1]!.finish();
    await flush();
    expect(h.starts).toEqual(['1', '2', '3']);
    expect(h.maxPerKey.get('blue')).toBe(2);
    jobs[0]!.finish();
    jobs[2]!.finish();
    await Promise.all(jobs.map((j) => j.settled));
  });
});

describe('deadlines', () => {
  it('rejects with DEADLINE (504) when the deadline passes before the wait bound', async () => {
    const h = new Harness(
      createScheduler({ ...configSchedulerSettings, clock, maxQueueWaitMs: 10_000 }),
    );
    const holder = h.submit('holder', 'blue', 't');
    const waiter = h.submit('waiter', 'blue', 't', { deadline: Date.now() + 500 });

    await vi.advanceTimersByTimeAsync(500);

    expect(errorCode(waiter)).toBe('WR_ERR_DEADLINE');
    expect((waiter.outcome as { error: WarmrouteError }).error.statusCode).toBe(504);
    expect(h.scheduler.stats().rejected).toEqual({ keyBusy: 0, concurrency: 0, deadline: 1 });
    expect(waiter.started).toBe(false);
    holder.finish();
    await holder.settled;
  });

  it('rejects a job whose deadline has already passed without calling fn', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));

    const late = h.submit('late', 'blue', 't', { deadline: Date.now() });
    await late.settled;

    expect(errorCode(late)).toBe('WR_ERR_DEADLINE');
    expect(late.started).toBe(false);
    expect(h.scheduler.stats()).toMatchObject({
      keysActive: 0,
      tenantsActive: 0,
      rejected: { deadline: 1 },
    });
  });

  it('aborts ticket.signal at the deadline with a DEADLINE reason, and leaves no timer', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const job = h.submit('j', 'blue', 't', { deadline: Date.now() + 2_000 });
    await flush();
    const signal = job.ticket!.signal;
    expect(signal.aborted).toBe(false);

    vi.advanceTimersByTime(2_000);

    expect(signal.aborted).toBe(true);
    expect((signal.reason as WarmrouteError).code).toBe('WR_ERR_DEADLINE');
    job.finish();
    await job.settled;
    expect(vi.getTimerCount()).toBe(0);
  });

  it('clears the deadline timer when the job finishes first', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const job = h.submit('j', 'blue', 't', { deadline: Date.now() + 2_000 });
    await flush();
    const signal = job.ticket!.signal;
    expect(vi.getTimerCount()).toBe(1);

    job.finish();
    await job.settled;

    expect(vi.getTimerCount()).toBe(0);
    expect(signal.aborted).toBe(false);
  });

  it('starts no timer for an uncontended job that never reads ticket.signal', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const job = h.submit('j', 'blue', 't', { signal: new AbortController().signal });
    await flush();

    expect(job.started).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    job.finish();
    await job.settled;
  });
});

describe('tenant and global caps', () => {
  it('caps the jobs of one tenant across keys, while other tenants proceed', async () => {
    const h = new Harness(
      createScheduler({ ...configSchedulerSettings, clock, perTenantConcurrency: 1 }),
    );
    const a = h.submit('a', 'session-a', 'pool-1');
    const b = h.submit('b', 'session-b', 'pool-1');
    const c = h.submit('c', 'session-c', 'pool-2');
    await flush();

    expect(h.starts).toEqual(['a', 'c']);
    expect(h.scheduler.stats()).toMatchObject({
      running: 2,
      queued: 1,
      keysActive: 3,
      tenantsActive: 2,
    });
    a.finish();
    await flush();
    expect(h.starts).toEqual(['a', 'c', 'b']);
    expect(h.maxPerTenant.get('pool-1')).toBe(1);
    b.finish();
    c.finish();
    await Promise.all([a.settled, b.settled, c.settled]);
    expect(h.scheduler.stats()).toMatchObject({
      running: 0,
      queued: 0,
      keysActive: 0,
      tenantsActive: 0,
    });
  });

  it('caps the jobs running at once over all tenants', async () => {
    const h = new Harness(
      createScheduler({ ...configSchedulerSettings, clock, globalConcurrency: 2 }),
    );
    const jobs = ['1', '2', '3'].map((id) => h.submit(id, `k${id}`, `t${id}`));
    await flush();

    expect(h.starts).toEqual(['1', '2']);
    expect(h.scheduler.stats()).toMatchObject({ running: 2, queued: 1 });
    jobs[1]!.finish();
    await flush();
    expect(h.starts).toEqual(['1', '2', '3']);
    expect(h.maxRunning).toBe(2);
    jobs[0]!.finish();
    jobs[2]!.finish();
    await Promise.all(jobs.map((j) => j.settled));
  });

  it('rejects with CONCURRENCY_LIMIT when the wait for a tenant or global slot passes the bound', async () => {
    const h = new Harness(
      createScheduler({
        ...configSchedulerSettings,
        clock,
        perTenantConcurrency: 1,
        globalConcurrency: 2,
        maxQueueWaitMs: 1_000,
        retryAfterSeconds: 2,
      }),
    );
    const holder = h.submit('holder', 'a', 'pool');
    const other = h.submit('other', 'x', 'other');
    const tenantWaiter = h.submit('tenant-waiter', 'b', 'pool');
    const globalWaiter = h.submit('global-waiter', 'y', 'third');

    await vi.advanceTimersByTimeAsync(1_000);

    expect(errorCode(tenantWaiter)).toBe('WR_ERR_CONCURRENCY_LIMIT');
    expect(errorCode(globalWaiter)).toBe('WR_ERR_CONCURRENCY_LIMIT');
    expect((tenantWaiter.outcome as { error: WarmrouteError }).error.retryAfterSeconds).toBe(2);
    expect(h.scheduler.stats()).toMatchObject({
      running: 2,
      queued: 0,
      keysActive: 2,
      tenantsActive: 2,
      rejected: { concurrency: 2, keyBusy: 0 },
    });
    holder.finish();
    other.finish();
    await Promise.all([holder.settled, other.settled]);
    expect(h.scheduler.stats()).toMatchObject({ running: 0, keysActive: 0, tenantsActive: 0 });
  });

  it('rejects at once with CONCURRENCY_LIMIT when maxGlobalQueue jobs already wait', async () => {
    const h = new Harness(
      createScheduler({
        ...configSchedulerSettings,
        clock,
        globalConcurrency: 1,
        maxGlobalQueue: 2,
      }),
    );
    const jobs = ['1', '2', '3'].map((id) => h.submit(id, `k${id}`, `t${id}`));
    const sameKey = h.submit('4', 'k1', 't1');
    const overflow = h.submit('5', 'k5', 't5');
    await Promise.all([sameKey.settled, overflow.settled]);

    expect(errorCode(sameKey)).toBe('WR_ERR_CONCURRENCY_LIMIT');
    expect(errorCode(overflow)).toBe('WR_ERR_CONCURRENCY_LIMIT');
    expect(h.scheduler.stats()).toMatchObject({
      running: 1,
      queued: 2,
      tenantsActive: 3,
      rejected: { concurrency: 2 },
    });
    for (const job of jobs) {
      await flush();
      job.finish();
    }
    await Promise.all(jobs.map((j) => j.settled));
    expect(h.starts).toEqual(['1', '2', '3']);
    expect(h.scheduler.stats()).toMatchObject({
      running: 0,
      queued: 0,
      keysActive: 0,
      tenantsActive: 0,
    });
  });
});

describe('abort and failure', () => {
  it.each([
    ['its key', { perTenantConcurrency: 4, globalConcurrency: 8 }, 'blue', 't-blue'],
    ['a tenant slot', { perTenantConcurrency: 1, globalConcurrency: 8 }, 'other-key', 't-blue'],
    ['a global slot', { perTenantConcurrency: 4, globalConcurrency: 1 }, 'other-key', 't-other'],
  ])(
    'removes a job aborted while waiting for %s, leaking no slot',
    async (_gate, caps, key, tenantId) => {
      const h = new Harness(createScheduler({ ...configSchedulerSettings, clock, ...caps }));
      const holder = h.submit('holder', 'blue', 't-blue');
      const controller = new AbortController();
      const aborted = h.submit('aborted', key, tenantId, { signal: controller.signal });
      const behind = h.submit('behind', key, tenantId);
      await flush();
      expect(h.scheduler.stats().queued).toBe(2);

      controller.abort();
      await aborted.settled;

      expect(errorCode(aborted)).toBe('not-a-warmroute-error');
      expect((aborted.outcome as { error: Error }).error.name).toBe('AbortError');
      expect(h.scheduler.stats().queued).toBe(1);
      holder.finish();
      await flush();
      expect(h.starts).toEqual(['holder', 'behind']);
      behind.finish();
      await Promise.all([holder.settled, behind.settled]);
      expect(aborted.started).toBe(false);
      expect(h.scheduler.stats()).toMatchObject({
        running: 0,
        queued: 0,
        keysActive: 0,
        tenantsActive: 0,
      });
      expect(vi.getTimerCount()).toBe(0);
    },
  );

  it('rejects at once when the client signal is already aborted', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const job = h.submit('j', 'blue', 't', {
      signal: AbortSignal.abort(new Error('client went away')),
    });
    await job.settled;

    expect((job.outcome as { error: Error }).error.message).toBe('client went away');
    expect(job.started).toBe(false);
    expect(h.scheduler.stats()).toMatchObject({ keysActive: 0, tenantsActive: 0 });
  });

  it('forwards a client abort to ticket.signal of a running job', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const holder = h.submit('holder', 'blue', 't');
    const controller = new AbortController();
    const job = h.submit('j', 'blue', 't', { signal: controller.signal });
    holder.finish();
    await flush();
    const signal = job.ticket!.signal;

    controller.abort(new Error('gone'));

    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('gone');
    job.finish();
    await Promise.all([holder.settled, job.settled]);
  });

  it.each([
    // same-tenant reaches the tenant gate first; same-key only once the key is released.
    ['rejects', false, ['failing', 'same-tenant', 'same-key']],
    // A synchronous throw settles inside run(), before the other two are submitted.
    ['throws synchronously', true, ['failing', 'same-key', 'same-tenant']],
  ])('releases every slot when fn %s', async (_how, sync, order) => {
    const h = new Harness(
      createScheduler({
        ...configSchedulerSettings,
        clock,
        perTenantConcurrency: 1,
        globalConcurrency: 1,
      }),
    );
    const boom = new Error('boom');
    const failing = h.submit('failing', 'blue', 't', sync ? { throwSync: boom } : {});
    const sameKey = h.submit('same-key', 'blue', 't');
    const sameTenant = h.submit('same-tenant', 'green', 't');
    const byId = new Map([sameKey, sameTenant].map((handle) => [handle.id, handle]));
    await flush();

    if (!sync) failing.fail(boom);
    await failing.settled;
    await flush();

    expect(failing.outcome).toEqual({ ok: false, error: boom });
    expect(h.starts).toEqual(order.slice(0, 2));
    byId.get(order[1]!)!.finish();
    await flush();
    expect(h.starts).toEqual(order);
    byId.get(order[2]!)!.finish();
    await Promise.all([sameKey.settled, sameTenant.settled]);
    expect(h.maxRunning).toBe(1);
    expect(h.scheduler.stats()).toMatchObject({
      running: 0,
      queued: 0,
      keysActive: 0,
      tenantsActive: 0,
    });
  });
});

describe('drain', () => {
  it('rejects new jobs with SHUTTING_DOWN and resolves once in-flight and queued jobs finish', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const running = h.submit('running', 'blue', 't');
    const queued = h.submit('queued', 'blue', 't');
    let drained = false;
    const drain = h.scheduler.drain(30_000).then(() => {
      drained = true;
    });

    const late = h.submit('late', 'green', 't2');
    await late.settled;
    expect(errorCode(late)).toBe('WR_ERR_SHUTTING_DOWN');
    expect((late.outcome as { error: WarmrouteError }).error.statusCode).toBe(503);

    running.finish();
    await flush();
    expect(drained).toBe(false);
    expect(queued.started).toBe(true);
    queued.finish();
    await Promise.all([drain, queued.settled]);

    expect(drained).toBe(true);
    expect(queued.outcome).toEqual({ ok: true, value: 'queued' });
    expect(vi.getTimerCount()).toBe(0);
  });

  // Changed on purpose: a job still running when the grace ends used to keep
  // its caller waiting until its fn settled (a hung call: until the process
  // was killed). Now its caller is answered at the timeout too.
  it('at the timeout rejects queued and running jobs with SHUTTING_DOWN (503, Retry-After) and resolves', async () => {
    const h = new Harness(
      createScheduler({ ...configSchedulerSettings, clock, retryAfterSeconds: 2 }),
    );
    const running = h.submit('running', 'blue', 't');
    const queued = h.submit('queued', 'blue', 't');
    await flush();
    const signal = running.ticket?.signal;
    const drain = h.scheduler.drain(1_000);

    await vi.advanceTimersByTimeAsync(999);
    expect(running.outcome).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    await drain;

    for (const cut of [queued, running]) {
      expect(errorCode(cut)).toBe('WR_ERR_SHUTTING_DOWN');
      const error = (cut.outcome as { error: WarmrouteError }).error;
      expect(error.statusCode).toBe(503);
      expect(error.retryAfterSeconds).toBe(2);
    }
    expect(queued.started).toBe(false);
    expect((signal?.reason as WarmrouteError | undefined)?.code).toBe('WR_ERR_SHUTTING_DOWN');
    // The cut call still occupies its slot until it ends.
    expect(h.scheduler.stats()).toMatchObject({ running: 1, queued: 0 });
    running.finish();
    await flush();
    expect(running.outcome).toMatchObject({ ok: false });
    expect(h.scheduler.stats()).toMatchObject({ running: 0, keysActive: 0, tenantsActive: 0 });
  });

  it('a job that finishes within the grace keeps its own result', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const quick = h.submit('quick', 'blue', 't');
    const failing = h.submit('failing', 'green', 't2');
    const drain = h.scheduler.drain(1_000);

    await vi.advanceTimersByTimeAsync(500);
    quick.finish();
    const boom = new Error('boom');
    failing.fail(boom);
    await Promise.all([drain, quick.settled, failing.settled]);

    expect(quick.outcome).toEqual({ ok: true, value: 'quick' });
    expect(failing.outcome).toEqual({ ok: false, error: boom });
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects a job at the timeout even when its fn threw synchronously before (no double settle)', async () => {
    const h = new Harness(createScheduler({ ...configSchedulerSettings, clock }));
    const boom = new Error('sync');
    const thrower = h.submit('sync', 'blue', 't', { throwSync: boom });
    await thrower.settled;
    await h.scheduler.drain(1_000);

    expect(thrower.outcome).toEqual({ ok: false, error: boom });
    expect(h.scheduler.stats()).toMatchObject({ running: 0, queued: 0 });
  });

  it('resolves at once when idle', async () => {
    const scheduler = createScheduler({ ...configSchedulerSettings, clock });
    await scheduler.drain(1_000);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('options', () => {
  it('reports every bad value in one WR_ERR_CONFIG error', () => {
    let caught: unknown;
    try {
      createScheduler({
        ...configSchedulerSettings,
        maxQueuePerKey: -1,
        globalConcurrency: 0,
        maxQueueWaitMs: 1.5,
        perTenantConcurrency: Number.NaN,
      });
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(WarmrouteError);
    const error = caught as WarmrouteError;
    expect(error.code).toBe('WR_ERR_CONFIG');
    for (const name of [
      'maxQueuePerKey',
      'globalConcurrency',
      'maxQueueWaitMs',
      'perTenantConcurrency',
    ]) {
      expect(error.message).toContain(`scheduler.${name}`);
    }
  });

  it('accepts Infinity for the caps', () => {
    expect(() =>
      createScheduler({
        ...configSchedulerSettings,
        perTenantConcurrency: Infinity,
        globalConcurrency: Infinity,
        maxGlobalQueue: Infinity,
      }),
    ).not.toThrow();
  });
});
