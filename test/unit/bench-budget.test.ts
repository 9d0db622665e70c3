import { describe, expect, it } from 'vitest';
import {
  coldStartTarget,
  costPerThousandUsd,
  keepWarmCostTarget,
  rowFigures,
  throttleTarget,
  type Row,
  type RowFigures,
} from '../../bench/lib/budget-figures.js';
import { keepWarmCostModel } from '../../bench/lib/keep-warm-cost.js';
import { featureRan } from '../../bench/scenarios/budget-runs.js';
import type { Outcome } from '../../bench/scenarios/summarize.js';
import { driveTimed, type TimedRecord } from '../../bench/workload/timed-drive.js';
import { generateTimedZipf } from '../../bench/workload/timed-zipf.js';
import { generateTrace } from '../../bench/workload/trace.js';

/** Cold start exactly 3 µUSD, ping exactly 1 µUSD (1 GB, no duration price). */
const model = keepWarmCostModel({
  idleReclaimMs: 100,
  memoryMb: 1024,
  initMs: 0,
  rehydrateMs: 0,
  coldStartPricePerGb: 0.000003,
  durationPricePerGbSecond: 0,
  requestPrice: 0.000001,
});

/** A fake monotonic clock whose sleep advances it, plus `lag` ms of timer lateness. */
function fakeClock(lag = 0) {
  let t = 1_000;
  return {
    now: () => t,
    sleep: (ms: number) => {
      t += ms + lag;
      return Promise.resolve();
    },
    advance: (ms: number) => {
      t += ms;
    },
  };
}

describe('driveTimed', () => {
  it('sends each request at its time, open loop, and records how late it went', async () => {
    // Prepare: the first request answers only after the later ones were sent.
    const clock = fakeClock(3);
    const sent: { key: number; at: number }[] = [];
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => (release = resolve));
    const arrivals = [
      { atMs: 0, key: 7 },
      { atMs: 10, key: 8 },
      { atMs: 10, key: 9 },
      { atMs: 40, key: 7 },
    ];

    // Act
    const run = driveTimed({
      arrivals,
      now: clock.now,
      sleep: clock.sleep,
      request: async (key, index) => {
        sent.push({ key, at: clock.now() - 1_000 });
        if (index === 0) await held;
        return key * 10;
      },
    });
    await new Promise((r) => setImmediate(r));
    release();
    const result = await run;

    // Assess: request 0 was still open when 1–3 went out; each went at its
    // time plus the timer's 3 ms lateness, and the two due together at once.
    expect(sent).toEqual([
      { key: 7, at: 0 },
      { key: 8, at: 13 },
      { key: 9, at: 13 },
      { key: 7, at: 43 },
    ]);
    expect(result.records.map((r) => r.start - r.atMs)).toEqual([0, 3, 3, 3]);
    expect(result.records.map((r) => r.result)).toEqual([70, 80, 90, 70]);
  });

  it('records a failed request with its error and goes on', async () => {
    // Prepare
    const clock = fakeClock();
    const failure = new Error('429');

    // Act
    const result = await driveTimed({
      arrivals: [
        { atMs: 0, key: 1 },
        { atMs: 5, key: 2 },
      ],
      now: clock.now,
      sleep: clock.sleep,
      request: (key) => (key === 1 ? Promise.reject(failure) : Promise.resolve('ok')),
    });

    // Assess
    expect(result.records[0]?.error).toBe(failure);
    expect(result.records[0]?.result).toBeUndefined();
    expect(result.records[1]?.result).toBe('ok');
  });

  it('refuses arrivals out of time order', async () => {
    await expect(
      driveTimed({
        arrivals: [
          { atMs: 5, key: 1 },
          { atMs: 4, key: 2 },
        ],
        request: () => Promise.resolve(0),
      }),
    ).rejects.toThrow(/not sorted/);
  });
});

describe('generateTimedZipf', () => {
  const options = { keys: 50, requests: 2_000, zipfS: 1.1, seed: 42, requestsPerSecond: 100 };

  it("keeps the Zipf trace's key order and gives it whole-ms, non-decreasing times", () => {
    // Act
    const arrivals = generateTimedZipf(options);

    // Assess
    expect(arrivals.map((a) => a.key)).toEqual(Array.from(generateTrace(options)));
    expect(arrivals.every((a) => Number.isInteger(a.atMs))).toBe(true);
    expect(arrivals.every((a, i) => i === 0 || a.atMs >= (arrivals[i - 1]?.atMs ?? 0))).toBe(true);
    // Poisson at 100/s: 2,000 requests span about 20 s (the sd of the sum is ~0.45 s).
    const span = arrivals.at(-1)?.atMs ?? 0;
    expect(span).toBeGreaterThan(17_000);
    expect(span).toBeLessThan(23_000);
  });

  it('is a function of its options', () => {
    expect(generateTimedZipf(options)).toEqual(generateTimedZipf(options));
    expect(generateTimedZipf({ ...options, seed: 43 })).not.toEqual(generateTimedZipf(options));
  });

  it('refuses a rate that is not a positive number', () => {
    expect(() => generateTimedZipf({ ...options, requestsPerSecond: 0 })).toThrow(RangeError);
  });
});

const ok = (state: Outcome['state']): Outcome => ({ state });
const rec = (
  i: number,
  atMs: number,
  start: number,
  end: number,
  r: Partial<TimedRecord<Outcome>>,
) => ({ index: i, key: i, atMs, start, end, ...r }) as TimedRecord<Outcome>;
const failure = (status: number | undefined) =>
  Object.assign(new Error(`HTTP ${status}`), { status });

describe('rowFigures', () => {
  it('counts hits, final 429s apart from other failures, and prices the host counts', () => {
    // Prepare: 4 requests: a hit, a fresh answer, one refused 429, one 502.
    const records = [
      rec(0, 0, 0, 10, { result: ok('hit') }),
      rec(1, 10, 12, 52, { result: ok('fresh') }),
      rec(2, 20, 25, 26, { error: failure(429) }),
      rec(3, 30, 30, 31, { error: failure(502) }),
    ];

    // Act: the host started 2 environments, refused 5 attempts, and served 3 pings.
    const f = rowFigures(records, { coldStarts: 2, throttles: 5, invocations: 5 }, 3, model);

    // Assess
    expect(f).toMatchObject({
      requests: 4,
      answered: 2,
      hits: 1,
      hitRate: 0.25,
      throttled: 1,
      otherErrors: 1,
      hostCapThrottles: 5,
      coldStarts: 2,
      coldStartsPerThousand: 500,
      pings: 3,
    });
    // (2 × 3 + 3 × 1) µUSD over 4 requests = 2.25 µUSD a request, 2,250 µUSD per 1,000.
    expect(f.costPerThousandUsd).toBeCloseTo(0.00225, 12);
    // p95 of the answered requests only (10 and 40 ms): a fast refusal is no latency.
    expect(f.p95Ms).toBe(40);
    expect(f.lateness.maxMs).toBe(5);
    expect(f.replayMs).toBe(52);
    expect(f.errorSamples).toEqual(['HTTP 502']);
  });

  it('costs nothing per 1,000 when there were no requests', () => {
    expect(costPerThousandUsd(model, 0, 5, 5)).toBe(0);
  });
});

function figures(over: Partial<RowFigures>): Row {
  const base: RowFigures = {
    requests: 1_000,
    answered: 1_000,
    hits: 900,
    hitRate: 0.9,
    throttled: 0,
    otherErrors: 0,
    hostCapThrottles: 0,
    coldStarts: 100,
    coldStartsPerThousand: 100,
    pings: 0,
    costPerThousandUsd: 0.001,
    p95Ms: 5,
    lateness: { p95Ms: 1, maxMs: 2 },
    replayMs: 1_000,
    errorSamples: [],
  };
  return { available: true, figures: { ...base, ...over } };
}
const missing: Row = { available: false, reason: 'not in this build' };

describe('targets', () => {
  it('throttles: pass only when the budget row has neither host 429s nor refused requests', () => {
    const k = figures({ throttled: 40, hostCapThrottles: 120 });
    expect(throttleTarget('t', k, figures({})).verdict).toBe('pass');
    // Host cap 429s the gateway retried away still count: the cap was hit.
    expect(throttleTarget('t', k, figures({ hostCapThrottles: 3 }))).toMatchObject({
      verdict: 'FAIL',
      value: 3,
    });
    // A budget that queues and then refuses has refused the user.
    expect(throttleTarget('t', k, figures({ throttled: 2 })).verdict).toBe('FAIL');
  });

  it('throttles: not applicable when key-as-tenant was never throttled, not measured without a budget row', () => {
    expect(throttleTarget('t', figures({}), figures({})).verdict).toBe('not applicable');
    const r = throttleTarget('t', figures({ throttled: 1 }), missing);
    expect(r.verdict).toBe('not measured');
    expect(r.value).toBeUndefined();
    expect(r.note).toContain('not in this build');
  });

  it('keep-warm cost: a ratio to the clairvoyant bound against 1.15', () => {
    expect(keepWarmCostTarget('t', figures({ costPerThousandUsd: 0.00115 }), 0.001)).toMatchObject({
      verdict: 'pass',
    });
    const over = keepWarmCostTarget('t', figures({ costPerThousandUsd: 0.0012 }), 0.001);
    expect(over.verdict).toBe('FAIL');
    expect(over.value).toBeCloseTo(1.2, 12);
    expect(keepWarmCostTarget('t', missing, 0.001).verdict).toBe('not measured');
  });

  it('cold starts: a ratio to key-as-tenant against 0.5', () => {
    const k = figures({ coldStartsPerThousand: 80 });
    expect(coldStartTarget('t', 'r', figures({ coldStartsPerThousand: 40 }), k)).toMatchObject({
      verdict: 'pass',
      value: 0.5,
    });
    expect(coldStartTarget('t', 'r', figures({ coldStartsPerThousand: 41 }), k).verdict).toBe(
      'FAIL',
    );
    expect(coldStartTarget('t', 'r', missing, k).verdict).toBe('not measured');
    expect(
      coldStartTarget('t', 'r', figures({}), figures({ coldStartsPerThousand: 0 })).verdict,
    ).toBe('not measured');
  });
});

describe('featureRan', () => {
  const metrics = {
    warmroute_tenant_budget_cap: [{ labels: { function: 'warm-counter' }, value: 6 }],
    warmroute_keep_warm_invocations_total: [{ labels: { function: 'warm-counter' }, value: 0 }],
    warmroute_tenant_budget_alive: [{ labels: { function: 'other' }, value: 2 }],
  };

  it("needs the metric for the bench's function, with the expected value when one is given", () => {
    const cap = { feature: 'budget', metric: 'warmroute_tenant_budget_cap' };
    expect(featureRan(metrics, { ...cap, value: 6 })).toBe(true);
    // The default cap (2,500) would mean the gateway was not told the bench's cap.
    expect(featureRan(metrics, { ...cap, value: 2_500 })).toBe(false);
    expect(featureRan(metrics, { feature: 'b', metric: 'warmroute_tenant_budget_alive' })).toBe(
      false,
    );
    expect(featureRan({}, cap)).toBe(false);
  });

  it('takes a family by prefix, a series at 0 included (set up, nothing sent)', () => {
    expect(featureRan(metrics, { feature: 'kw', metric: 'warmroute_keep_warm_*' })).toBe(true);
    expect(featureRan(metrics, { feature: 'x', metric: 'warmroute_nothing_*' })).toBe(false);
  });
});
