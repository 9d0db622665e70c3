import { describe, expect, it } from 'vitest';
import {
  keepWarmCostModel,
  pingsToBridge,
  type KeepWarmCostOptions,
} from '../../bench/lib/keep-warm-cost.js';
import { decidePing, type PingQuestion } from '../../src/budget/keep-warm-decision.js';
import { keepWarmPrice, type KeepWarmPrice } from '../../src/budget/keep-warm-price.js';

/**
 * The expected-cost rule of the keep-warm planner, and its prices, against
 * the bench's cost model (bench/lib/keep-warm-cost.ts): the same terms, and
 * on a key whose gaps are all alike the same cost as the clairvoyant bound.
 */

/** mulberry32: a seeded generator, so a failure names its case. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

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
  it("are the bench cost model's, to the picodollar", () => {
    const rnd = random(7);
    for (let i = 0; i < 200; i++) {
      const options: KeepWarmCostOptions = {
        idleReclaimMs: 1_000,
        memoryMb: 128 + Math.floor(rnd() * 10_112),
        initMs: Math.floor(rnd() * 5_000),
        rehydrateMs: Math.floor(rnd() * 2_000),
        ...(rnd() < 0.5 ? { coldStartPricePerGb: rnd() * 0.001 } : {}),
        ...(rnd() < 0.5 ? { pingBilledMs: 1 + Math.floor(rnd() * 10) } : {}),
      };
      const model = keepWarmCostModel(options);
      expect(keepWarmPrice(options), JSON.stringify(options)).toEqual({
        coldStartPico: model.coldStartPico,
        pingPico: model.pingPico,
      });
    }
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
