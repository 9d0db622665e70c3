import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  baselineCost,
  breakEvenGapMs,
  clairvoyantCost,
  keepWarmCostModel,
  pingsToBridge,
  policyCost,
  type KeepWarmCostModel,
  type TimedRequest,
} from '../../bench/lib/keep-warm-cost.js';

/**
 * Hand-sized prices: 1 GB, no duration price, so a cold start is exactly
 * 3 µUSD (3,000,000 pUSD) and a ping exactly 1 µUSD: break-even at 3 pings.
 * T = 100 ms, T' = 50 ms.
 */
const model: KeepWarmCostModel = keepWarmCostModel({
  idleReclaimMs: 100,
  pingIntervalMs: 50,
  memoryMb: 1024,
  initMs: 0,
  rehydrateMs: 0,
  coldStartPricePerGb: 0.000003,
  durationPricePerGbSecond: 0,
  requestPrice: 0.000001,
});

/** One key 'k' with requests at the given times. */
const oneKey = (...times: number[]): TimedRequest[] => times.map((atMs) => ({ atMs, key: 'k' }));

describe('keepWarmCostModel', () => {
  it('prices a cold start and a ping in integer picodollars from Lambda list prices', () => {
    // Act: 512 MB, 800 ms init + 200 ms rehydration, default prices.
    const m = keepWarmCostModel({
      idleReclaimMs: 600_000,
      memoryMb: 512,
      initMs: 800,
      rehydrateMs: 200,
    });
    // Assess: 0.5 × 0.000167 + 0.5 × 1 s × 0.0000166667 = 91.83335 µUSD;
    // ping = 0.2 µUSD + 0.5 × 0.001 s × 0.0000166667 = 0.20833335 µUSD.
    expect(m.coldStartPico).toBe(91_833_350);
    expect(m.pingPico).toBe(208_333);
    expect(m.pingIntervalMs).toBe(540_000);
    expect(model).toEqual({
      idleReclaimMs: 100,
      pingIntervalMs: 50,
      coldStartPico: 3_000_000,
      pingPico: 1_000_000,
    });
  });

  it('reports every bad value in one RangeError', () => {
    const act = (): unknown =>
      keepWarmCostModel({
        idleReclaimMs: 100,
        pingIntervalMs: 101,
        memoryMb: 0,
        initMs: -1,
        rehydrateMs: 0,
      });
    expect(act).toThrow(RangeError);
    expect(act).toThrow(/pingIntervalMs.*memoryMb.*initMs/);
  });
});

describe('pingsToBridge and breakEvenGapMs', () => {
  it('needs no ping up to T, then one more per started T′', () => {
    expect(pingsToBridge(100, model)).toBe(0);
    expect(pingsToBridge(101, model)).toBe(1);
    expect(pingsToBridge(150, model)).toBe(1);
    expect(pingsToBridge(151, model)).toBe(2);
    expect(pingsToBridge(1_000, model)).toBe(18);
    // 3 pings affordable: up to T + 3·T' = 250 ms.
    expect(breakEvenGapMs(model)).toBe(250);
    expect(breakEvenGapMs({ ...model, pingPico: 0 })).toBe(Infinity);
  });
});

describe('baselineCost and clairvoyantCost', () => {
  it('a gap just under T costs nothing in either', () => {
    // Act
    const trace = oneKey(0, 99, 199);
    const base = baselineCost(trace, model);
    const bound = clairvoyantCost(trace, model);
    // Assess: only the compulsory cold start.
    for (const r of [base, bound]) {
      expect(r.coldStarts).toBe(1);
      expect(r.compulsoryColdStarts).toBe(1);
      expect(r.pings).toBe(0);
      expect(r.costPico).toBe(3_000_000);
      expect(r.coldStartsPerThousand).toBeCloseTo(1000 / 3, 10);
      expect(r.costPerThousandUsd).toBeCloseTo((3e-6 * 1000) / 3, 15);
    }
  });

  it('a gap just over T: baseline goes cold, the bound pays one ping', () => {
    const trace = oneKey(0, 101);
    expect(baselineCost(trace, model)).toMatchObject({
      coldStarts: 2,
      pings: 0,
      costPico: 6_000_000,
    });
    expect(clairvoyantCost(trace, model)).toMatchObject({
      coldStarts: 1,
      pings: 1,
      keptWarmGaps: 1,
      costPico: 4_000_000,
    });
  });

  it('at break-even exactly (3 pings = 1 cold start) the bound keeps warm; one ping more and it lets go', () => {
    // 250 ms needs ceil(150 / 50) = 3 pings; 251 ms needs 4.
    expect(clairvoyantCost(oneKey(0, 250), model)).toMatchObject({
      coldStarts: 1,
      pings: 3,
      costPico: 6_000_000,
    });
    expect(clairvoyantCost(oneKey(0, 251), model)).toMatchObject({
      coldStarts: 2,
      pings: 0,
      costPico: 6_000_000,
    });
  });

  it('a gap far over T goes cold in both', () => {
    const trace = oneKey(0, 10_000);
    expect(clairvoyantCost(trace, model)).toEqual(baselineCost(trace, model));
    expect(baselineCost(trace, model).coldStarts).toBe(2);
  });

  it('sums over keys and interleaved requests, each key cold on its first request', () => {
    // a: 0, 120 (1 ping), 1_000 (cold); b: 50, 60 (warm), 300 (240 ms: 3 pings).
    const trace: TimedRequest[] = [
      { atMs: 0, key: 'a' },
      { atMs: 50, key: 'b' },
      { atMs: 60, key: 'b' },
      { atMs: 120, key: 'a' },
      { atMs: 300, key: 'b' },
      { atMs: 1_000, key: 'a' },
    ];
    expect(baselineCost(trace, model)).toMatchObject({
      requests: 6,
      coldStarts: 5,
      compulsoryColdStarts: 2,
    });
    expect(clairvoyantCost(trace, model)).toMatchObject({
      coldStarts: 3,
      pings: 4,
      keptWarmGaps: 2,
      costPico: 3 * 3_000_000 + 4 * 1_000_000,
    });
  });

  it('rejects an unsorted trace', () => {
    expect(() =>
      baselineCost(
        [
          { atMs: 5, key: 1 },
          { atMs: 4, key: 2 },
        ],
        model,
      ),
    ).toThrow(/not sorted/);
  });
});

describe('policyCost', () => {
  it('charges a policy for every ping it sends, and a cold start when it gives up', () => {
    // Prepare: a policy that pings twice in each gap and keeps warm only what 2 pings bridge.
    const trace = oneKey(0, 120, 400, 450);
    const seen: (number | null)[] = [];
    // Act
    const report = policyCost(trace, model, (gap) => {
      seen.push(gap.toMs);
      const needed = gap.toMs === null ? Infinity : pingsToBridge(gap.toMs - gap.fromMs, model);
      return { keptWarm: needed <= 2, pings: 2 };
    });
    // Assess: gaps 120 (kept), 280 (needs 4: cold), 50 (≤ T), tail: 8 pings, 2 cold starts.
    expect(seen).toEqual([120, 400, 450, null]);
    expect(report).toMatchObject({
      coldStarts: 2,
      pings: 8,
      keptWarmGaps: 1,
      costPico: 2 * 3_000_000 + 8 * 1_000_000,
    });
  });

  it('refuses a decision that claims a gap bridged with too few pings', () => {
    expect(() => policyCost(oneKey(0, 200), model, () => ({ keptWarm: true, pings: 1 }))).toThrow(
      /claims kept warm with 1 pings; it needs 2/,
    );
    expect(() => policyCost(oneKey(0), model, () => ({ keptWarm: false, pings: -1 }))).toThrow(
      RangeError,
    );
  });

  it('never beats the clairvoyant bound, which never exceeds the baseline', () => {
    const traceArb = fc
      .array(
        fc.record({ dt: fc.integer({ min: 0, max: 400 }), key: fc.integer({ min: 0, max: 4 }) }),
        {
          maxLength: 60,
        },
      )
      .map((steps) => {
        let at = 0;
        return steps.map(({ dt, key }) => ({ atMs: (at += dt), key }));
      });
    const modelArb = fc
      .record({
        idleReclaimMs: fc.integer({ min: 1, max: 300 }),
        margin: fc.double({ min: 0, max: 0.99, noNaN: true }),
        memoryMb: fc.integer({ min: 128, max: 10_240 }),
        initMs: fc.integer({ min: 0, max: 5_000 }),
        rehydrateMs: fc.integer({ min: 0, max: 5_000 }),
        requestPrice: fc.double({ min: 0, max: 0.0001, noNaN: true }),
      })
      .map(({ margin, idleReclaimMs, ...rest }) =>
        keepWarmCostModel({
          idleReclaimMs,
          pingIntervalMs: Math.max(1, Math.floor(idleReclaimMs * (1 - margin))),
          ...rest,
        }),
      );
    // A policy: per gap, a random ping count and, where that bridges the gap, a random choice to keep warm.
    fc.assert(
      fc.property(
        traceArb,
        modelArb,
        fc.infiniteStream(fc.tuple(fc.nat(30), fc.boolean())),
        (trace, m, choices) => {
          // Prepare
          const it = choices[Symbol.iterator]();
          // Act
          const bound = clairvoyantCost(trace, m);
          const base = baselineCost(trace, m);
          const policy = policyCost(trace, m, (gap) => {
            const [pings, keep] = it.next().value as [number, boolean];
            const needed = gap.toMs === null ? 0 : pingsToBridge(gap.toMs - gap.fromMs, m);
            return { keptWarm: keep && pings >= needed, pings };
          });
          // Assess
          expect(bound.costPico).toBeLessThanOrEqual(base.costPico);
          expect(bound.costPico).toBeLessThanOrEqual(policy.costPico);
          expect(bound.coldStarts).toBeLessThanOrEqual(base.coldStarts);
          expect(bound.compulsoryColdStarts).toBe(base.compulsoryColdStarts);
          expect(Number.isSafeInteger(policy.costPico)).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });
});
