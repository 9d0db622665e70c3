import fc from 'fast-check';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { InvocationState } from '../../lambda/protocol.js';
import { defaults } from '../../src/config/schema.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { MemoryDirectoryStore } from '../../src/directory/memory-store.js';
import type { DirectoryStore } from '../../src/directory/store.js';
import type { DirectoryHealth } from '../../src/directory/types.js';
import { WarmrouteError } from '../../src/errors.js';
import { InvocationMetrics } from '../../src/invoker/invocation-metrics.js';
import { MAX_FUNCTION_LABELS } from '../../src/invoker/metric-labels.js';
import type { ValidWarmReport } from '../../src/invoker/warm-report.js';
import type { EnvironmentInfo } from '../../src/localhost/control-api.js';
import type { FunctionStats, HostStatsSnapshot } from '../../src/localhost/stats.js';
import { createMetrics, type Metrics } from '../../src/metrics.js';
import type { SchedulerStats } from '../../src/scheduler/types.js';
import { histogramQuantile } from '../../src/status/histogram-quantile.js';
import { StatusSampler, type StatusSources } from '../../src/status/status-sampler.js';

const T0 = 1_800_000_000_000;
const PRICE_PER_GB = 0.0001;

/** A wall clock and a monotonic one: moving `now` moves both; `setWall` moves the wall clock alone (as an operator or NTP does). */
class FakeClock {
  #wall = T0;
  #mono = 0;
  get now(): number {
    return this.#wall;
  }
  set now(value: number) {
    this.#mono += value - this.#wall;
    this.#wall = value;
  }
  setWall(value: number): void {
    this.#wall = value;
  }
  readonly read = (): number => this.#wall;
  readonly monotonic = (): number => this.#mono;
}

const fakeScheduler = {
  stats: {
    running: 0,
    queued: 0,
    keysActive: 0,
    tenantsActive: 0,
    rejected: { keyBusy: 0, concurrency: 0, deadline: 0 },
  } as SchedulerStats,
};

/** A gateway's metrics fed the way the invoker feeds them, and a sampler over them on a fake clock. */
function setup(
  options: {
    stepMs?: number;
    windowMs?: number;
    health?: () => DirectoryHealth;
    localHost?: StatusSources['localHost'];
    functions?: readonly string[];
    documentReuseMs?: number;
  } = {},
) {
  const clock = new FakeClock();
  const metrics = createMetrics({ defaultMetrics: false, coldStartPricePerGb: PRICE_PER_GB });
  const scheduler = { ...fakeScheduler, stats: { ...fakeScheduler.stats } };
  const sampler = new StatusSampler(
    {
      metrics,
      directory: {
        health: options.health ?? (() => ({ status: 'ok', store: 'memory' })),
      },
      scheduler: { stats: () => scheduler.stats },
      localHost: options.localHost,
      version: '9.9.9-test',
    },
    {
      now: clock.read,
      monotonic: clock.monotonic,
      documentReuseMs: options.documentReuseMs ?? 0,
      ...(options.stepMs === undefined ? {} : { stepMs: options.stepMs }),
      ...(options.windowMs === undefined ? {} : { windowMs: options.windowMs }),
    },
  );
  samplers.push(sampler);
  const feed = new Feed(metrics, options.functions ?? ['fn-a', 'fn-b']);
  return { clock, metrics, scheduler, sampler, feed };
}

const samplers: StatusSampler[] = [];
afterEach(() => {
  for (const s of samplers.splice(0)) s.close();
});

function report(state: InvocationState, extra: Partial<ValidWarmReport> = {}): ValidWarmReport {
  return {
    state,
    reason: undefined,
    env: undefined,
    stateVersion: undefined,
    rehydrateMs: 0,
    conflicts: undefined,
    coldStart: undefined,
    ...extra,
  };
}

/** Records outcomes through the invoker's own metric objects. */
class Feed {
  invocation: InvocationMetrics;

  constructor(
    private readonly metrics: Metrics,
    private readonly functions: readonly string[],
  ) {
    this.invocation = new InvocationMetrics(metrics, functions);
  }

  /** After a registry reset the invoker's cached series are gone; a new invoker records again. */
  renew(): void {
    this.invocation = new InvocationMetrics(this.metrics, this.functions);
  }

  completed(fn: string, state: InvocationState, durationMs: number, times = 1): void {
    const series = this.invocation.routeSeries(this.invocation.functionLabel(fn), 'rpc');
    for (let i = 0; i < times; i++)
      this.invocation.completed(series, state, 'ok', durationMs, 0, durationMs);
  }
}

/** Every number in `value`, with its path. */
function numbers(value: unknown, path = '$'): { path: string; n: number }[] {
  if (typeof value === 'number') return [{ path, n: value }];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([k, v]) => numbers(v, `${path}.${k}`));
}

describe('histogramQuantile', () => {
  const bounds = [1, 2, 4];

  it('interpolates inside the bucket the rank falls in, the first bucket starting at 0', () => {
    // 1 in (0,1], 2 in (1,2], 1 in (2,4]; cumulative 1, 3, 4, +Inf 4.
    const cumulative = [1, 3, 4, 4];

    expect(histogramQuantile(0.5, bounds, cumulative)).toBe(1.5); // rank 2: 1 + 1 × (1/2)
    expect(histogramQuantile(0.95, bounds, cumulative)).toBeCloseTo(3.6, 12); // rank 3.8: 2 + 2 × 0.8
    expect(histogramQuantile(0.1, bounds, cumulative)).toBeCloseTo(0.4, 12); // rank 0.4: 0 + 1 × 0.4
  });

  it('answers a rank in the +Inf bucket with the largest finite bound, and null without observations', () => {
    expect(histogramQuantile(0.95, bounds, [0, 0, 1, 10])).toBe(4);
    expect(histogramQuantile(0.5, bounds, [0, 0, 0, 0])).toBeNull();
  });
});

describe('status sampler', () => {
  it('keeps one point per step with that interval’s deltas, and a partial last point', async () => {
    // Prepare
    const { clock, sampler, feed, scheduler } = setup();
    await sampler.step(); // baseline
    feed.completed('fn-a', 'hit', 1, 3);
    feed.completed('fn-a', 'fresh', 40);
    scheduler.stats = { ...scheduler.stats, queued: 4, running: 2 };
    clock.now += 5_000;
    await sampler.step();
    feed.completed('fn-b', 'hit', 1, 2);
    scheduler.stats = { ...scheduler.stats, queued: 0, running: 1 };
    clock.now += 5_000;
    await sampler.step();
    feed.completed('fn-a', 'rehydrated', 300);

    // Act
    clock.now += 2_000;
    const doc = await sampler.document();

    // Assess
    expect(doc).toMatchObject({ v: 1, version: '9.9.9-test', stepMs: 5_000, windowMs: 900_000 });
    expect(doc.generatedAt).toBe(new Date(T0 + 12_000).toISOString());
    expect(doc.startedAt).toBe(new Date(T0).toISOString()); // the first reading (the baseline)
    expect(
      doc.series.map((p) => ({
        t: p.t,
        seconds: p.seconds,
        partial: p.partial,
        requests: p.requests,
        queueDepth: p.queueDepth,
        inflight: p.inflight,
      })),
    ).toEqual([
      {
        t: T0 + 5_000,
        seconds: 5,
        partial: false,
        requests: { hit: 3, rehydrated: 0, fresh: 1, unknown: 0 },
        queueDepth: 4,
        inflight: 2,
      },
      {
        t: T0 + 10_000,
        seconds: 5,
        partial: false,
        requests: { hit: 2, rehydrated: 0, fresh: 0, unknown: 0 },
        queueDepth: 0,
        inflight: 1,
      },
      {
        t: T0 + 12_000,
        seconds: 2,
        partial: true,
        requests: { hit: 0, rehydrated: 1, fresh: 0, unknown: 0 },
        queueDepth: 0,
        inflight: 1,
      },
    ]);
    expect(doc.series.map((p) => p.hitRatio)).toEqual([0.75, 1, 0]);
    expect(doc.totals.requests).toEqual({ hit: 5, rehydrated: 1, fresh: 1, unknown: 0 });
    expect(doc.totals.hitRatio).toBeCloseTo(5 / 7, 12);
    expect(doc.functions).toEqual([
      {
        name: 'fn-a',
        requests: { hit: 3, rehydrated: 1, fresh: 1, unknown: 0 },
        hitRatio: 0.6,
        coldStarts: 0,
        rehydrations: 1,
        errors: 0,
      },
      {
        name: 'fn-b',
        requests: { hit: 2, rehydrated: 0, fresh: 0, unknown: 0 },
        hitRatio: 1,
        coldStarts: 0,
        rehydrations: 0,
        errors: 0,
      },
    ]);
  });

  it('computes p50/p95 like histogram_quantile: per point from its buckets, over the window from the summed buckets', async () => {
    // Prepare: hits of 0.2 and 0.7 ms, then 0.9 and 3 ms; cold: fresh 40 ms, rehydrated 600 ms.
    const { clock, sampler, feed } = setup();
    await sampler.step();
    feed.completed('fn-a', 'hit', 0.2);
    feed.completed('fn-a', 'hit', 0.7);
    feed.completed('fn-a', 'fresh', 40);
    clock.now += 5_000;
    await sampler.step();
    feed.completed('fn-b', 'hit', 0.9);
    feed.completed('fn-b', 'hit', 3);
    feed.completed('fn-b', 'rehydrated', 600);
    clock.now += 5_000;
    await sampler.step();

    // Act
    const doc = await sampler.document();

    // Assess. Bounds (s) …0.0005, 0.001, 0.0025, 0.005…; point 1 hits: cumulative 1, 2 →
    // p50 rank 1 in (0, 0.5 ms]: 0.5 ms; p95 rank 1.9 in (0.5, 1]: 0.5 + 0.5 × 0.9 = 0.95 ms.
    expect(doc.series[0]?.hitLatency).toEqual({ p50Ms: 0.5, p95Ms: 0.95 });
    // Fresh 40 ms alone, in (25, 50] ms: p50 rank 0.5 → 37.5 ms; p95 rank 0.95 → 48.75 ms.
    expect(doc.series[0]?.coldLatency).toEqual({ p50Ms: 37.5, p95Ms: 48.75 });
    // Window hits: cumulative 1 (≤0.5), 3 (≤1), 3 (≤2.5), 4 (≤5). p50 rank 2 in (0.5, 1]:
    // 0.5 + 0.5 × (1/2) = 0.75 ms. p95 rank 3.8 in (2.5, 5]: 2.5 + 2.5 × 0.8 = 4.5 ms.
    expect(doc.totals.hitLatency).toEqual({ p50Ms: 0.75, p95Ms: 4.5 });
    // Window cold: 40 ms in (25, 50], 600 ms in (500, 1000]. p50 rank 1: 50 ms; p95 rank 1.9: 950 ms.
    expect(doc.totals.coldLatency).toEqual({ p50Ms: 50, p95Ms: 950 });
    // The partial point had no request: no quantile.
    expect(doc.series[2]?.hitLatency).toEqual({ p50Ms: null, p95Ms: null });
  });

  it('counts cold starts and cost, rejections and errors, and misses by reason', async () => {
    // Prepare
    const { clock, sampler, feed } = setup();
    await sampler.step();
    const inv = feed.invocation;
    const label = inv.functionLabel('fn-a');
    inv.reported(label, 2048, report('fresh', { coldStart: true }), []);
    inv.reported(label, 1024, report('rehydrated', { reason: 'first-use', coldStart: true }), []);
    inv.reported(label, 1024, report('rehydrated', { reason: 'first-use' }), []);
    inv.reported(label, 1024, report('rehydrated', { reason: 'stale' }), []);
    const rpc = { functionName: 'fn-a', route: 'rpc' };
    inv.failed(rpc, new WarmrouteError('WR_ERR_KEY_BUSY', ['10']));
    inv.failed(rpc, new WarmrouteError('WR_ERR_KEY_BUSY', ['10']));
    inv.failed(rpc, new WarmrouteError('WR_ERR_CONCURRENCY_LIMIT', ['global']));
    inv.failed(
      { functionName: 'fn-b', route: 'rpc' },
      new WarmrouteError('WR_ERR_THROTTLED', ['x']),
    );
    inv.functionError(inv.functionLabel('fn-b'), 'TypeError');

    // Act
    clock.now += 5_000;
    await sampler.step();
    const doc = await sampler.document();

    // Assess
    const [point] = doc.series;
    expect(point).toMatchObject({ coldStarts: 2, rejections: 3, errors: 2 });
    expect(point?.coldStartCostUsd).toBeCloseTo(3 * PRICE_PER_GB, 12); // 2 GB + 1 GB
    expect(point?.requests.unknown).toBe(4); // every failed invocation
    expect(doc.totals).toMatchObject({ coldStarts: 2, rejections: 3, errors: 2 });
    expect(doc.missReasons).toEqual([
      { reason: 'first-use', count: 2 },
      { reason: 'none', count: 1 },
      { reason: 'stale', count: 1 },
    ]);
    expect(doc.rejectionReasons).toEqual([
      { reason: 'key_busy', count: 2 },
      { reason: 'concurrency', count: 1 },
    ]);
    expect(doc.functions.map((f) => [f.name, f.coldStarts, f.errors])).toEqual([
      ['fn-a', 2, 0],
      ['fn-b', 0, 2],
    ]);
  });

  it('treats a counter that went down (registry reset) as a new start, never a negative delta', async () => {
    // Prepare
    const { clock, metrics, sampler, feed } = setup();
    await sampler.step();
    feed.completed('fn-a', 'hit', 1, 5);
    feed.invocation.coldStart(feed.invocation.functionLabel('fn-a'), 1024);
    clock.now += 5_000;
    await sampler.step();

    // Act: the registry is reset, then 2 hits happen.
    metrics.registry.resetMetrics();
    feed.renew();
    feed.completed('fn-a', 'hit', 1, 2);
    clock.now += 5_000;
    await sampler.step();
    const doc = await sampler.document();

    // Assess
    expect(doc.series.map((p) => p.requests.hit)).toEqual([5, 2, 0]);
    expect(doc.series.map((p) => p.coldStarts)).toEqual([1, 0, 0]);
    expect(doc.series[1]?.hitLatency.p50Ms).toBe(0.75);
    expect(doc.totals.requests.hit).toBe(7);
    for (const { path, n } of numbers(doc)) expect(n, path).toBeGreaterThanOrEqual(0);
  });

  it('covers at most the window: older intervals leave the ring and the totals', async () => {
    // Prepare: a 3-step window.
    const { clock, sampler, feed } = setup({ stepMs: 1_000, windowMs: 3_000 });
    await sampler.step();

    // Act: five steps with 1..5 hits.
    for (let n = 1; n <= 5; n++) {
      feed.completed('fn-a', 'hit', 1, n);
      clock.now += 1_000;
      await sampler.step();
    }
    const doc = await sampler.document();

    // Assess
    expect(doc.series.map((p) => [p.t - T0, p.requests.hit])).toEqual([
      [3_000, 3],
      [4_000, 4],
      [5_000, 5],
      [5_000, 0],
    ]);
    expect(doc.totals.requests.hit).toBe(12);
  });

  it('answers before any step with only a partial point, nulls for ratios and quantiles, finite numbers', async () => {
    const { sampler } = setup();

    const doc = await sampler.document();

    expect(doc.series).toHaveLength(1);
    expect(doc.series[0]).toMatchObject({ partial: true, seconds: 0, hitRatio: null });
    expect(doc.totals).toMatchObject({
      hitRatio: null,
      hitLatency: { p50Ms: null, p95Ms: null },
      coldLatency: { p50Ms: null, p95Ms: null },
    });
    expect(doc.functions).toEqual([]);
    expect(doc.localHost).toBeUndefined();
    for (const { path, n } of numbers(doc)) expect(Number.isFinite(n), path).toBe(true);
  });

  it('takes the baseline at start() and steps on its own timer', async () => {
    const { sampler, feed } = setup({ stepMs: 20, windowMs: 1_000 });

    sampler.start();
    sampler.start(); // idempotent: one timer
    // The baseline is read within a microtask of start(); a request after that is counted.
    await new Promise((resolve) => setImmediate(resolve));
    feed.completed('fn-a', 'hit', 1);
    await new Promise((resolve) => setTimeout(resolve, 120));
    sampler.close();
    const doc = await sampler.document();

    expect(doc.series.length).toBeGreaterThan(1);
    expect(doc.totals.requests.hit).toBe(1);
  });

  it('reports a failed timer step to onError and keeps stepping', async () => {
    // Prepare: a metric whose read fails once.
    const metrics = createMetrics({ defaultMetrics: false, coldStartPricePerGb: PRICE_PER_GB });
    let failures = 1;
    const misses = metrics.misses;
    const flaky: Metrics = {
      ...metrics,
      misses: Object.assign(Object.create(misses) as typeof misses, {
        get: () => (failures-- > 0 ? Promise.reject(new Error('boom')) : misses.get()),
      }),
    };
    const errors: unknown[] = [];
    const sampler = new StatusSampler(
      {
        metrics: flaky,
        directory: { health: () => ({ status: 'ok', store: 'memory' }) },
        scheduler: { stats: () => fakeScheduler.stats },
        version: '1',
      },
      { stepMs: 10, windowMs: 1_000, onError: (err) => errors.push(err) },
    );
    samplers.push(sampler);

    // Act
    sampler.start();
    await new Promise((resolve) => setTimeout(resolve, 100));
    sampler.close();
    const doc = await sampler.document();

    // Assess
    expect(errors).toEqual([new Error('boom')]);
    expect(doc.series.length).toBeGreaterThan(1);
  });

  it('keeps at most MAX_FUNCTION_LABELS function rows (the rest as other) with every function populated', async () => {
    // Prepare: no allow-list, more function names than the label cap; every state and duration.
    const names = Array.from(
      { length: MAX_FUNCTION_LABELS + 20 },
      (_, i) => `fn-${String(i).padStart(3, '0')}`,
    );
    const { clock, sampler, feed } = setup({ functions: [] });
    for (const name of names)
      for (const state of ['hit', 'rehydrated', 'fresh'] as const) feed.completed(name, state, 3);
    await sampler.step();
    for (const name of names) feed.completed(name, 'hit', 2);

    // Act: steps and a document, their CPU time printed for the module comment's figure (not asserted).
    const runs = 100; // fewer than the ring's 180 slots: the interval with the hits stays in the window
    const cpuBefore = process.cpuUsage();
    for (let i = 0; i < runs; i++) {
      clock.now += 5_000;
      await sampler.step();
    }
    const stepCpu = process.cpuUsage(cpuBefore);
    const docCpuBefore = process.cpuUsage();
    const doc = await sampler.document();
    const docCpu = process.cpuUsage(docCpuBefore);
    const ms = (usage: NodeJS.CpuUsage, n = 1): string =>
      ((usage.user + usage.system) / 1000 / n).toFixed(3);
    console.log(
      `status sampler, ${String(names.length)} function names: step ${ms(stepCpu, runs)} ms CPU, document of ${String(doc.series.length)} points ${ms(docCpu)} ms CPU`,
    );

    // Assess
    expect(doc.functions).toHaveLength(MAX_FUNCTION_LABELS + 1);
    expect(doc.functions.find((f) => f.name === 'other')?.requests.hit).toBe(20);
    expect(doc.totals.requests.hit).toBe(names.length);
  });

  it('shares one document among concurrent callers and answers it again for documentReuseMs', async () => {
    // Prepare: count reads of the metrics (one per step, one per document built).
    const { clock, metrics, sampler, feed } = setup({ documentReuseMs: 1_000 });
    await sampler.step();
    const reads = countReads(metrics);
    feed.completed('fn-a', 'hit', 1, 3);

    // Act: a flood of polls at once, then polls inside and after the reuse period.
    const flood = await Promise.all(Array.from({ length: 200 }, () => sampler.document()));
    const readsAfterFlood = reads.n;
    clock.now += 500;
    feed.completed('fn-a', 'hit', 1);
    const reused = await sampler.document();
    clock.now += 600;
    const fresh = await sampler.document();

    // Assess
    expect(readsAfterFlood).toBe(1);
    expect(new Set(flood).size).toBe(1);
    expect(flood[0]?.totals.requests.hit).toBe(3);
    expect(reused).toBe(flood[0]);
    expect(fresh).not.toBe(reused);
    expect(fresh.totals.requests.hit).toBe(4);
    expect(reads.n).toBe(2);
  });

  it('drops the reused document when a step lands, and retries after a failed build', async () => {
    // Prepare
    const { clock, metrics, sampler, feed } = setup({ documentReuseMs: 60_000 });
    await sampler.step();
    const first = await sampler.document();
    feed.completed('fn-a', 'hit', 1, 2);
    clock.now += 5_000;
    await sampler.step();

    // Act
    const afterStep = await sampler.document();
    clock.now += 5_000;
    await sampler.step();
    const get = metrics.misses.get.bind(metrics.misses);
    metrics.misses.get = () => Promise.reject(new Error('boom'));
    const failed = await Promise.allSettled([sampler.document(), sampler.document()]);
    metrics.misses.get = get;
    const retried = await sampler.document();

    // Assess
    expect(first.series).toHaveLength(1);
    expect(afterStep).not.toBe(first);
    expect(afterStep.series.map((p) => p.requests.hit)).toEqual([2, 0]);
    expect(failed.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(retried.series).toHaveLength(3);
  });

  it('lets a step issued behind a flood of polls wait for one read, not for every document', async () => {
    // Prepare
    const { clock, metrics, sampler } = setup();
    await sampler.step();
    const reads = countReads(metrics);

    // Act: 200 polls, then the timer's step.
    const polls = Array.from({ length: 200 }, () => sampler.document());
    clock.now += 5_000;
    let readsBeforeStepDone = -1;
    const step = sampler.step().then(() => {
      readsBeforeStepDone = reads.n;
    });
    await Promise.all([step, ...polls]);

    // Assess: the shared document's read and the step's own.
    expect(readsBeforeStepDone).toBe(2);
  });

  it('measures intervals on the monotonic clock: the wall clock set back or forward changes neither rates nor order', async () => {
    // Prepare
    const { clock, sampler, feed } = setup();
    await sampler.step();
    feed.completed('fn-a', 'hit', 1, 3);
    clock.now += 5_000;
    await sampler.step();

    // Act: the wall clock set back 60 s, then forward 1 h, one step after each.
    clock.setWall(clock.now - 60_000);
    feed.completed('fn-a', 'hit', 1, 2);
    clock.now += 5_000;
    await sampler.step();
    clock.setWall(clock.now + 3_600_000);
    feed.completed('fn-a', 'hit', 1);
    clock.now += 5_000;
    await sampler.step();
    clock.now += 1_000;
    const doc = await sampler.document();

    // Assess
    expect(doc.series.map((p) => [p.seconds, p.requests.hit])).toEqual([
      [5, 3],
      [5, 2],
      [5, 1],
      [1, 0],
    ]);
    const ts = doc.series.map((p) => p.t);
    expect(ts[1]).toBe(T0 + 10_000); // never before the previous label plus the elapsed time
    expect(ts[2]).toBe(clock.now - 1_000); // the wall clock again once it is ahead
    for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeGreaterThan(ts[i - 1] as number);
    expect(Date.parse(doc.generatedAt)).toBe(ts[3]);
  });

  it('folds the same local-host functions into other on every poll, whatever environments run', async () => {
    // Prepare: more functions than the label cap; environments first of the last ones, then of the first.
    const names = Array.from(
      { length: MAX_FUNCTION_LABELS + 20 },
      (_, i) => `fn-${String(i).padStart(3, '0')}`,
    );
    let environments = names
      .slice(-20)
      .reverse()
      .map((name) => env(name, 'idle'));
    const stats: HostStatsSnapshot = {
      invocations: {},
      functions: Object.fromEntries(names.map((name) => [name, fnStats(0)])),
    };
    const { sampler } = setup({
      localHost: { environments: () => environments, stats: () => stats },
    });

    // Act
    const first = await sampler.document();
    environments = names.slice(0, 20).map((name) => env(name, 'busy'));
    const second = await sampler.document();

    // Assess
    const rows = (doc: typeof first): string[] =>
      (doc.localHost?.functions ?? []).map((f) => f.name);
    expect(rows(first)).toHaveLength(MAX_FUNCTION_LABELS + 1);
    expect(rows(second)).toEqual(rows(first));
    expect(first.localHost?.functions.find((f) => f.name === 'other')?.live).toBe(20);
  });

  it('reports the directory’s health and the local host’s environments per function', async () => {
    // Prepare
    const since = new Date(T0 - 60_000).toISOString();
    const environments: EnvironmentInfo[] = [
      env('fn-a', 'idle'),
      env('fn-a', 'busy'),
      env('fn-a', 'starting'),
      env('fn-b', 'idle'),
    ];
    const stats: HostStatsSnapshot = {
      invocations: { 'fn-a': 3, 'fn-b': 1, 'fn-c': 0 },
      functions: { 'fn-a': fnStats(2), 'fn-b': fnStats(0), 'fn-c': fnStats(5) },
    };
    const { sampler } = setup({
      health: () => ({
        status: 'degraded',
        reason: 'Redis unreachable (connect ECONNREFUSED)',
        degradedSince: since,
        store: 'redis',
      }),
      localHost: { environments: () => environments, stats: () => stats },
    });

    // Act
    const doc = await sampler.document();

    // Assess
    expect(doc.directory).toEqual({
      store: 'redis',
      status: 'degraded',
      degradedSince: since,
      reason: 'Redis unreachable (connect ECONNREFUSED)',
    });
    expect(doc.localHost?.functions).toEqual([
      { name: 'fn-a', live: 3, idle: 1, evictions: 2 },
      { name: 'fn-b', live: 1, idle: 1, evictions: 0 },
      { name: 'fn-c', live: 0, idle: 0, evictions: 5 },
    ]);
  });

  it('never names a key or a tenant ID, whatever keys, tenants and outcomes went through', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            key: fc.string({ minLength: 1, maxLength: 20 }),
            tenant: fc.string({ minLength: 1, maxLength: 20 }),
            state: fc.constantFrom<InvocationState>('hit', 'rehydrated', 'fresh', 'unknown'),
            fn: fc.constantFrom('fn-a', 'fn-b'),
          }),
          { minLength: 1, maxLength: 12 },
        ),
        async (requests) => {
          // Keys and tenants marked so that they cannot be mistaken for a function name or a number.
          const secrets = requests.flatMap((r) => [`key§${r.key}`, `wr-tenant§${r.tenant}`]);
          const environments = requests.map((r, i) => ({
            ...env(r.fn, i % 2 === 0 ? 'idle' : 'busy'),
            id: `env-${r.key}`,
            tenant: `wr-tenant§${r.tenant}`,
          }));
          const { clock, sampler, feed } = setup({
            health: () => ({ status: 'ok', store: 'redis' }),
            localHost: {
              environments: () => environments,
              stats: () => ({ invocations: {}, functions: { 'fn-a': fnStats(1) } }),
            },
          });
          await sampler.step();
          const inv = feed.invocation;
          for (const r of requests) {
            const label = inv.functionLabel(r.fn);
            const key = `key§${r.key}`;
            feed.completed(r.fn, r.state, 2);
            // Outcomes that carry the key or tenant where a careless sampler could pick it up.
            inv.reported(label, 128, report(r.state, { env: `wr-tenant§${r.tenant}` }), []);
            inv.functionError(label, key);
            inv.failed(
              { functionName: r.fn, route: 'rpc' },
              new WarmrouteError('WR_ERR_KEY_BUSY', [key], { details: { key } }),
            );
          }
          clock.now += 5_000;
          await sampler.step();

          const json = JSON.stringify(await sampler.document());

          for (const secret of secrets) {
            expect(json).not.toContain(secret);
            expect(json).not.toContain(JSON.stringify(secret).slice(1, -1));
          }
        },
      ),
      { numRuns: 50 },
    );
  });
});

/** Counts reads of the metrics: every reading gets the invocation counter once. */
function countReads(metrics: Metrics): { n: number } {
  const reads = { n: 0 };
  const get = metrics.invocations.get.bind(metrics.invocations);
  metrics.invocations.get = () => {
    reads.n += 1;
    return get();
  };
  return reads;
}

function env(fn: string, state: EnvironmentInfo['state']): EnvironmentInfo {
  return {
    id: `env-${fn}-${state}`,
    function: fn,
    tenant: 'wr-some-tenant',
    state,
    invocations: 1,
    idleMs: 0,
    pid: null,
    createdAt: new Date(T0).toISOString(),
    retiring: false,
  };
}

function fnStats(evictions: number): FunctionStats {
  return {
    invocations: 0,
    requestResponse: 0,
    event: 0,
    dryRun: 0,
    completed: 0,
    functionErrors: 0,
    timeouts: 0,
    crashes: 0,
    coldStarts: 0,
    throttles: 0,
    rejected: 0,
    evictions,
  };
}

describe('directory health: degradedSince', () => {
  /** A memory store that reports itself as Redis and can be switched off (as Redis is while down). */
  function switchableRedisStore(): {
    store: DirectoryStore;
    setDown: (down: boolean) => void;
  } {
    const inner = new MemoryDirectoryStore({ idleTtlSeconds: 0, clock: Date.now });
    let down = false;
    const overrides: Partial<Record<PropertyKey, unknown>> = {
      kind: 'redis',
      available: () => !down,
      pubsubUp: () => !down,
      unavailableReason: () => (down ? 'switched off' : undefined),
    };
    const store = new Proxy(inner, {
      get(target, prop) {
        if (prop in overrides) return overrides[prop];
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === 'function' ? (value as () => unknown).bind(target) : value;
      },
    }) as unknown as DirectoryStore;
    return {
      store,
      setDown: (value: boolean) => {
        down = value;
      },
    };
  }

  it('gives the start of the current degraded spell, absent while ok, anew for the next spell', async () => {
    // Prepare
    const clock = new FakeClock();
    const { store, setDown } = switchableRedisStore();
    const dir = new KeyDirectory({
      secret: 'status-sampler-test-secret-0123',
      store,
      tenantPrefix: defaults.tenantPrefix,
      namespace: defaults.namespace,
      l1: { max: defaults.l1Max, ttlMs: defaults.l1TtlMs },
      statsFlushIntervalMs: defaults.statsFlushIntervalMs,
      logger: pino({ level: 'silent' }),
      clock: clock.read,
    });
    await dir.start();
    try {
      const ok = dir.health();

      // Act: down at T0 + 1 s, still down 30 s later, up, down again at T0 + 60 s.
      clock.now = T0 + 1_000;
      setDown(true);
      const first = dir.health();
      clock.now = T0 + 31_000;
      const later = dir.health();
      setDown(false);
      const recovered = dir.health();
      clock.now = T0 + 60_000;
      setDown(true);
      const second = dir.health();

      // Assess
      expect(ok).toEqual({ status: 'ok', store: 'redis' });
      expect(first).toMatchObject({
        status: 'degraded',
        degradedSince: new Date(T0 + 1_000).toISOString(),
      });
      expect(later.degradedSince).toBe(new Date(T0 + 1_000).toISOString());
      expect(recovered).toEqual({ status: 'ok', store: 'redis' });
      expect(second.degradedSince).toBe(new Date(T0 + 60_000).toISOString());
    } finally {
      setDown(false);
      await dir.close();
    }
  });
});
