import { describe, expect, it } from 'vitest';
import { keepWarmCostModel, pingsToBridge } from '../../bench/lib/keep-warm-cost.js';
import { mulberry32 as random } from '../../bench/workload/prng.js';
import { decidePing, type PingQuestion } from '../../src/budget/keep-warm-decision.js';
import { keepWarmPrice, type KeepWarmPrice } from '../../src/budget/keep-warm-price.js';

/**
 * The keep-warm planner's prices, and its expected-cost rule against the
 * bench's cost model (bench/lib/keep-warm-cost.ts, priced by the same
 * module): on a key whose gaps are all alike, the same cost as the
 * clairvoyant bound.
 */

function question(
  gaps: number[],
  over: Partial<PingQuestion> & Pick<PingQuestion, 'price'>,
): PingQuestion {
  const sorted = Float64Array.from(gaps).sort();
  return {
    sorted,
    count: sorted.length,
    elapsedMs: 900,
    aliveForMs: 1_000,
    lifetimeMs: 1_000,
    intervalMs: 900,
    maxPings: 1_000,
    ...over,
  };
}

/** Follows the rule through one gap g as the planner does (decide before each ping); its cost. */
function costOfGap(g: number, history: number[], L: number, step: number, price: KeepWarmPrice) {
  let pings = 0;
  let elapsed = step;
  let alive = L;
  while (elapsed < g) {
    const answer = decidePing(
      question(history, {
        elapsedMs: elapsed,
        aliveForMs: alive,
        lifetimeMs: L,
        intervalMs: step,
        price,
      }),
    );
    if (answer.pings === 0) break;
    pings++;
    alive = elapsed + L;
    elapsed += step;
  }
  return pings * price.pingPico + (g > alive ? price.coldStartPico : 0);
}

describe('keep-warm prices', () => {
  it("are AWS Lambda's x86 list prices by default, in picodollars", () => {
    // Act: 512 MB, 800 ms init, 200 ms rehydration.
    const price = keepWarmPrice({ memoryMb: 512, initMs: 800, rehydrateMs: 200 });
    // Assess: 0.5 GB × 0.000167 + 0.5 GB × 1 s × 0.0000166667 = 91.83335 µUSD;
    // a ping = 0.2 µUSD + 0.5 GB × 0.001 s × 0.0000166667 = 0.20833335 µUSD.
    expect(price).toEqual({ coldStartPico: 91_833_350, pingPico: 208_333 });
  });

  it('follow every price the caller overrides', () => {
    const price = keepWarmPrice({
      memoryMb: 1_024,
      initMs: 1_000,
      rehydrateMs: 0,
      coldStartPricePerGb: 0.000001,
      durationPricePerGbSecond: 0.000002,
      requestPrice: 0.000003,
      pingBilledMs: 500,
    });
    // 1 GB × 1 µUSD + 1 GB × 1 s × 2 µUSD; a ping = 3 µUSD + 1 GB × 0.5 s × 2 µUSD.
    expect(price).toEqual({ coldStartPico: 3_000_000, pingPico: 4_000_000 });
  });

  it('reports every bad value at once', () => {
    expect(() => keepWarmPrice({ memoryMb: 0, initMs: -1, rehydrateMs: Number.NaN })).toThrow(
      /memoryMb.*initMs.*rehydrateMs/,
    );
  });
});

describe('decidePing', () => {
  const price: KeepWarmPrice = { coldStartPico: 10_000, pingPico: 1_000 };

  it('for one ping is "P(return within the ping\'s extra window) × cold > ping"', () => {
    // 10 past gaps beyond e = 900: k of them in (1,000, 1,900] (the ping's window), the rest far beyond.
    for (let k = 0; k <= 10; k++) {
      const gaps = [
        ...Array.from({ length: k }, () => 1_500),
        ...Array.from({ length: 10 - k }, () => Infinity),
      ];
      const answer = decidePing(question(gaps, { price }));
      // P = k / 10; a ping pays iff k/10 × 10,000 > 1,000, i.e. k ≥ 2.
      expect(answer.pings > 0, `k = ${k}`).toBe(k >= 2);
    }
  });

  it('stops without evidence of a return this late, and once the environment is taken as gone', () => {
    expect(decidePing(question([100, 200, 500], { price })).pings).toBe(0);
    expect(decidePing(question([], { price })).pings).toBe(0);
    expect(
      decidePing(question([1_500], { price, elapsedMs: 1_000, aliveForMs: 1_000 })).pings,
    ).toBe(0);
  });

  it('on a key whose gaps are all alike, costs what the clairvoyant bound pays for that gap', () => {
    const rnd = random(18);
    for (let i = 0; i < 500; i++) {
      // Prepare: a lifetime, a ping interval under it, prices with 1 to 40 pings to break even.
      const L = 500 + Math.floor(rnd() * 10_000);
      const step = Math.max(1, Math.floor(L * (0.5 + rnd() * 0.5)));
      const cost: KeepWarmPrice = {
        pingPico: 1_000,
        coldStartPico: 1_000 + Math.floor(rnd() * 40_000),
      };
      const g = Math.floor(rnd() * 20 * L) + 1;
      const model = keepWarmCostModel({
        idleReclaimMs: L,
        pingIntervalMs: step,
        memoryMb: 128,
        initMs: 0,
        rehydrateMs: 0,
      });
      const needed = pingsToBridge(g, model);
      const clairvoyant = needed === 0 ? 0 : Math.min(cost.coldStartPico, needed * cost.pingPico);

      // Act
      const paid = costOfGap(g, [g, g, g, g], L, step, cost);

      // Assess
      expect(paid, JSON.stringify({ L, step, cost, g })).toBe(clairvoyant);
    }
  });
});
