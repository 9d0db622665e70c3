import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  KeepWarmPlanner,
  type KeepWarmCounters,
  type KeepWarmPlannerOptions,
} from '../../src/budget/keep-warm.js';
import type { KeepWarmPrice } from '../../src/budget/keep-warm-price.js';

/**
 * The keep-warm planner on hand-made histories, with fake timers: it pings
 * only when the expected cost of a ping plan is below that of a cold start,
 * respects its per-minute budget, and its counters add up.
 *
 * Throughout: L = 1,000 ms, margin 10 % → pings 900 ms after the last use;
 * a cold start costs 10,000 pUSD and a ping 1,000 (ten pings break even).
 */

const L = 1_000;
const T = 900;
const PRICE: KeepWarmPrice = { coldStartPico: 10_000, pingPico: 1_000 };

interface Ping {
  readonly tenant: string;
  readonly at: number;
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

function planner(options: Partial<KeepWarmPlannerOptions> = {}) {
  const pings: Ping[] = [];
  const p = new KeepWarmPlanner({
    functionName: 'fn',
    pingsPerMinute: 10_000,
    burst: 10_000,
    marginRatio: 0.1,
    minMarginMs: 0,
    send: (functionName, tenant) => {
      expect(functionName).toBe('fn');
      pings.push({ tenant, at: Date.now() });
      return Promise.resolve();
    },
    idleLifetimeMs: () => L,
    price: () => PRICE,
    ...options,
  });
  return { p, pings };
}

/** Observes `key` (tenant `t-<key>`) at each time, advancing the fake clock; then `tailMs` more. */
function run(p: KeepWarmPlanner, uses: readonly (readonly [string, number])[], tailMs = 0): void {
  const sorted = [...uses].sort((a, b) => a[1] - b[1]);
  for (const [key, at] of sorted) {
    vi.advanceTimersByTime(at - Date.now());
    p.observe(key, `t-${key}`, at);
  }
  vi.advanceTimersByTime(tailMs);
}

/** `run`, letting promise callbacks (a send's rejection) run between timers as they would. */
async function runAsync(p: KeepWarmPlanner, uses: readonly (readonly [string, number])[]) {
  for (const [key, at] of [...uses].sort((a, b) => a[1] - b[1])) {
    await vi.advanceTimersByTimeAsync(at - Date.now());
    p.observe(key, `t-${key}`, at);
  }
}

/** `count` uses of `key` every `gap` ms from `from`. */
function every(key: string, gap: number, count: number, from = 0): [string, number][] {
  return Array.from({ length: count }, (_, i) => [key, from + i * gap] as [string, number]);
}

function addsUp(c: KeepWarmCounters): void {
  expect(c.pingsSent).toBe(c.pingsUseful + c.pingsWasted + c.pingsPending);
  expect(c.pingCostPico).toBe(c.pingsSent * PRICE.pingPico);
}

describe('KeepWarmPlanner: when to ping', () => {
  it('a key that comes back 1.5 L after each use gets one ping per gap once it has 4 gaps, and each avoids a cold start', () => {
    // Prepare
    const { p, pings } = planner();

    // Act: 10 uses, 9 gaps of 1,500 ms.
    run(p, every('a', 1_500, 10));

    // Assess: gaps 1–4 build the key's history (no function history either: under 16 gaps).
    expect(pings.map((x) => x.at)).toEqual([4, 5, 6, 7, 8].map((i) => i * 1_500 + T));
    const c = p.counters();
    expect(c).toMatchObject({ pingsSent: 5, coldStartsAvoided: 5, pingsUseful: 5, pingsWasted: 0 });
    addsUp(c);
  });

  it('never pings for gaps shorter than L (warm anyway) nor longer than ten pings can bridge (cheaper cold)', () => {
    const { p, pings } = planner();

    run(p, [...every('short', 600, 40), ...every('long', 20_000, 10)], 30_000);

    expect(pings).toEqual([]);
    addsUp(p.counters());
  });

  it('a gap that needs three pings gets all three, though no single one pays for itself', () => {
    // Prepare: gaps of L + 2T' + 100 = 2,900 ms need ceil(1,900 / 900) = 3 pings (3,000 < 10,000).
    const { p, pings } = planner();

    // Act
    run(p, every('d', 2_900, 8));

    // Assess: from the 5th use on, pings at +900, +1,800, +2,700.
    const fromFifth = pings.map((x) => x.at - 4 * 2_900).filter((x) => x > 0 && x < 2_900);
    expect(fromFifth).toEqual([900, 1_800, 2_700]);
    expect(pings).toHaveLength(9);
    expect(p.counters()).toMatchObject({ coldStartsAvoided: 3, pingsUseful: 9, pingsWasted: 0 });
  });

  it('weighs the chance of a return: half the gaps bridgeable by one ping pays at 1,000 pUSD a ping, not at 6,000', () => {
    // Prepare: the key alternates a 1,500 ms gap and a 12,000 ms one (past the 10,000 ms
    // horizon at 1,000 pUSD a ping: recorded as "did not come back").
    const uses: [string, number][] = [];
    let at = 0;
    for (let i = 0; i < 12; i++) {
      uses.push(['m', at]);
      at += i % 2 === 0 ? 1_500 : 12_000;
    }
    const cheap = planner();
    const dear = planner({ price: () => ({ coldStartPico: 10_000, pingPico: 6_000 }) });

    // Act
    run(cheap.p, uses, 20_000);
    vi.setSystemTime(0);
    run(dear.p, uses, 20_000);

    // Assess: P(return in the ping's window) = 0.5; 0.5 × 10,000 = 5,000 > 1,000 but < 6,000.
    const c = cheap.p.counters();
    expect(c.pingsSent).toBeGreaterThan(0);
    expect(c.coldStartsAvoided).toBeGreaterThan(0);
    // A short gap is always saved by its ping, a long one wastes exactly one and no more.
    expect(c.pingsUseful).toBe(c.coldStartsAvoided);
    expect(c.pingsWasted).toBe(c.pingsSent - c.pingsUseful);
    expect(c.pingsPending).toBe(0);
    addsUp(c);
    expect(dear.pings).toEqual([]);
  });

  it('without a learned lifetime it never pings', () => {
    const { p, pings } = planner({ idleLifetimeMs: () => undefined });

    run(p, every('a', 1_500, 20));

    expect(pings).toEqual([]);
  });

  it("uses the function's gaps for a key with too few of its own", () => {
    // Prepare: 20 keys that each come back once, 1,500 ms later, fill the function's history.
    const { p, pings } = planner({ minFunctionGaps: 16 });
    const history = Array.from({ length: 20 }, (_, i): [string, number][] => [
      [`k${i}`, i * 100],
      [`k${i}`, i * 100 + 1_500],
    ]).flat();
    run(p, history, 5_000);
    const before = pings.length;

    // Act: a new key, used once.
    run(p, [['new', 20_000]], 1_000);

    // Assess: it is pinged on the function's evidence.
    expect(pings.slice(before)).toEqual([{ tenant: 't-new', at: 20_900 }]);
  });

  it('does not ping a tenant another key keeps busy', () => {
    // Prepare: keys x and y share tenant "pool"; x has a 1.5 L rhythm, y is used every 300 ms.
    const { p, pings } = planner();
    for (let at = 0; at <= 15_000; at += 300) {
      vi.advanceTimersByTime(at - Date.now());
      if (at % 1_500 === 0) p.observe('x', 'pool', at);
      p.observe('y', 'pool', at);
    }

    expect(pings).toEqual([]);
  });

  it("an answer that was not warm makes the gap's pings wasted, not an avoided cold start", () => {
    const { p } = planner();
    run(p, every('a', 1_500, 6));
    const before = p.counters();

    vi.advanceTimersByTime(6 * 1_500 - Date.now());
    p.observe('a', 't-a', 6 * 1_500, false);

    const after = p.counters();
    expect(after.coldStartsAvoided).toBe(before.coldStartsAvoided);
    expect(after.pingsWasted).toBe(before.pingsWasted + 1);
    addsUp(after);
  });

  it("a failed send is counted and ends that gap's chain", async () => {
    // Prepare: gaps needing three pings; every send fails.
    const sent: number[] = [];
    const { p } = planner({
      send: () => {
        sent.push(Date.now());
        return Promise.reject(new Error('down'));
      },
    });

    // Act
    await runAsync(p, every('d', 2_900, 6));

    // Assess: one ping per gap (the first fails, no second), each failed.
    const c = p.counters();
    expect(c.pingsFailed).toBe(c.pingsSent);
    expect(sent.map((x) => x % 2_900)).toEqual(sent.map(() => 900));
    addsUp(c);
  });
});

describe('KeepWarmPlanner: budget, memory and timers', () => {
  it('never sends more than burst + pingsPerMinute in any minute, and counts the refusals', () => {
    // Prepare: 100 keys on a 1.5 L rhythm for five minutes want a ping every 1.5 s each.
    const { p, pings } = planner({ pingsPerMinute: 60, burst: 5 });
    const uses = Array.from({ length: 100 }, (_, k) => every(`k${k}`, 1_500, 200, k)).flat();

    // Act
    run(p, uses);

    // Assess
    const c = p.counters();
    expect(c.pingsDenied).toBeGreaterThan(1_000);
    expect(c.pingsSent).toBe(pings.length);
    for (const first of pings) {
      const inMinute = pings.filter((x) => x.at >= first.at && x.at < first.at + 60_000).length;
      expect(inMinute).toBeLessThanOrEqual(5 + 60);
    }
    // Five minutes at 60 a minute plus the burst: the budget is used, not just capped.
    expect(pings.length).toBeGreaterThanOrEqual(5 * 60);
    addsUp(c);
  });

  it("remembers at most maxKeys keys; a forgotten key's pending pings are wasted", () => {
    const { p } = planner({ maxKeys: 3 });
    run(p, every('a', 1_500, 6), 950); // a ping is in flight for a's open gap

    expect(p.counters().pingsPending).toBe(1);
    run(p, [
      ['b', Date.now()],
      ['c', Date.now() + 1],
      ['d', Date.now() + 2],
    ]);

    const c = p.counters();
    expect(c.keys).toBe(3);
    expect(c.pingsPending).toBe(0);
    expect(c.pingsWasted).toBe(1);
    addsUp(c);
  });

  it("holds one timer, unref'd, however many keys wait", () => {
    const { p } = planner();
    const before = vi.getTimerCount();

    for (let k = 0; k < 500; k++) p.observe(`k${k}`, `t${k}`, Date.now() + k);

    expect(vi.getTimerCount() - before).toBe(1);
    p.close();
    expect(vi.getTimerCount()).toBe(before);
  });

  it('rejects a bad configuration, naming every bad value', () => {
    expect(
      () =>
        new KeepWarmPlanner({
          functionName: '',
          pingsPerMinute: -1,
          marginRatio: 1,
          maxKeys: 0,
          minKeyGaps: 20,
          send: () => Promise.resolve(),
          idleLifetimeMs: () => L,
          price: () => PRICE,
        }),
    ).toThrow(
      /functionName.*pingsPerMinute.*marginRatio.*maxKeys.*minKeyGaps \(20\) must be ≤ keyHistory/,
    );
  });

  it('ignores bad observations instead of throwing', () => {
    const { p } = planner();

    p.observe('a', 't', Number.NaN);
    p.observe(undefined as unknown as string, 't', 0);

    expect(p.counters().keys).toBe(0);
  });
});

describe('KeepWarmPlanner: odd inputs', () => {
  it('a horizon weeks away does not spin its timer (setTimeout caps delays at 2^31 − 1 ms)', () => {
    // Prepare: L = 1 day, cheap pings: the horizon is ~1,000 days after the last use.
    let reads = 0;
    const { p } = planner({
      idleLifetimeMs: () => 86_400_000,
      maxPingsPerGap: 1_000,
      price: () => ({ coldStartPico: 1e9, pingPico: 1 }),
      now: () => {
        reads++;
        return Date.now();
      },
    });
    p.observe('a', 't', 0);
    vi.advanceTimersByTime(86_400_000); // first decision: no history, so to the horizon
    const before = reads;

    // Act
    vi.advanceTimersByTime(60_000);

    // Assess: nothing fell due, so the clock was not read again.
    expect(reads - before).toBe(0);
  });

  it('a price that is not a number sends nothing and breaks nothing', () => {
    const { p, pings } = planner({ price: () => ({ coldStartPico: Number.NaN, pingPico: 1_000 }) });

    run(p, every('a', 1_500, 10), 5_000);
    p.observe('b', 't-b', Date.now());
    vi.advanceTimersByTime(100_000);

    expect(pings).toEqual([]);
    expect(p.counters().keys).toBe(2);
  });
});
