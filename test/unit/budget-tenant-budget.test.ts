import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bench/workload/prng.js';
import { zipfSampler } from '../../bench/workload/zipf.js';
import { FrequencySketch } from '../../src/budget/frequency.js';
import { TenantBudget } from '../../src/budget/tenant-budget.js';

/** A host that reclaims an environment `lifetimeMs` after its last invocation, and nothing else. */
class Host {
  private readonly last = new Map<string, number>();
  constructor(private readonly lifetimeMs: number) {}
  invoke(tenant: string, now: number): void {
    this.last.set(tenant, now);
  }
  alive(now: number): number {
    let n = 0;
    for (const last of this.last.values()) if (last + this.lifetimeMs > now) n++;
    return n;
  }
}

/** What a gateway without a budget does: a tenant for every key while there is room. */
function firstComeFirstServed(cap: number, lifetimeMs: number) {
  const last = new Map<string, number>();
  return (tenant: string, now: number): 'alive' | 'new' | 'spill' => {
    for (const [t, at] of last) {
      if (at + lifetimeMs > now) break;
      last.delete(t);
    }
    const known = last.delete(tenant);
    if (known || last.size < cap) last.set(tenant, now);
    return known ? 'alive' : last.has(tenant) ? 'new' : 'spill';
  };
}

describe('TenantBudget keeps within the cap', () => {
  it('never puts more environments alive than the cap when every decision is followed', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        fc.array(
          fc.record({
            key: fc.integer({ min: 0, max: 40 }),
            step: fc.integer({ min: 0, max: 30 }),
            // The budget's lifetime may overestimate the host's, never underestimate it.
            slack: fc.integer({ min: 0, max: 20 }),
          }),
          { maxLength: 300 },
        ),
        (cap, lifetimeMs, nearCapRatio, requests) => {
          // Prepare
          const host = new Host(lifetimeMs);
          let slack = 0;
          const budget = new TenantBudget({
            cap,
            nearCapRatio,
            idleLifetimeMs: () => lifetimeMs + slack,
          });
          let now = 0;
          for (const r of requests) {
            now += r.step;
            slack = r.slack;
            // Act
            const decision = budget.admit(`key-${r.key}`, `tenant-${r.key}`, now);
            if (decision.kind === 'dedicated') host.invoke(`tenant-${r.key}`, now);
            // Assess
            expect(host.alive(now)).toBeLessThanOrEqual(cap);
            expect(host.alive(now)).toBeLessThanOrEqual(budget.alive(now));
          }
        },
      ),
    );
  });

  it('answers spill at the cap, and dedicated again once an environment has died', () => {
    // Prepare
    const budget = new TenantBudget({ cap: 2, nearCapRatio: 1, idleLifetimeMs: () => 100 });
    expect(budget.admit('a', 'ta', 0)).toEqual({ kind: 'dedicated', reason: 'free' });
    expect(budget.admit('b', 'tb', 10)).toEqual({ kind: 'dedicated', reason: 'free' });
    // Act + Assess
    expect(budget.admit('c', 'tc', 20)).toEqual({ kind: 'spill', reason: 'cap' });
    expect(budget.admit('a', 'ta', 30)).toEqual({ kind: 'dedicated', reason: 'alive' });
    expect(budget.admit('c', 'tc', 109)).toEqual({ kind: 'spill', reason: 'cap' });
    // tb was last invoked at 10: gone at 110.
    expect(budget.admit('c', 'tc', 110)).toEqual({ kind: 'dedicated', reason: 'free' });
  });

  it('counts an unknown lifetime as forever, so it can only spill more', () => {
    const budget = new TenantBudget({ cap: 1, idleLifetimeMs: () => Number.NaN });
    expect(budget.admit('a', 'ta', 0).kind).toBe('dedicated');
    expect(budget.admit('b', 'tb', 1e12).kind).toBe('spill');
    expect(budget.alive(1e12)).toBe(1);
  });

  it('holds its clock when now steps back, instead of reviving the dead', () => {
    const budget = new TenantBudget({ cap: 4, idleLifetimeMs: () => 100 });
    budget.admit('a', 'ta', 1_000);
    expect(budget.alive(1_100)).toBe(0);
    expect(budget.alive(1_050)).toBe(0);
    expect(budget.admit('b', 'tb', 500)).toEqual({ kind: 'dedicated', reason: 'free' });
    expect(budget.alive(1_199)).toBe(1);
    expect(budget.alive(1_200)).toBe(0);
  });
});

describe('TenantBudget estimate', () => {
  it('shrinks as time passes without invocations', () => {
    // Prepare: ten tenants invoked 10 ms apart, lifetime 100 ms.
    const budget = new TenantBudget({ cap: 100, idleLifetimeMs: () => 100 });
    for (let i = 0; i < 10; i++) budget.admit(`k${i}`, `t${i}`, i * 10);
    // Act + Assess
    const seen = [90, 100, 125, 150, 175, 189, 190].map((t) => budget.alive(t));
    expect(seen).toEqual([10, 9, 7, 4, 2, 1, 0]);
  });

  it('follows the lifetime it is given: a shorter learned lifetime shrinks the estimate at once', () => {
    let lifetime = 1_000;
    const budget = new TenantBudget({ cap: 100, idleLifetimeMs: () => lifetime });
    for (let i = 0; i < 10; i++) budget.admit(`k${i}`, `t${i}`, i);
    expect(budget.alive(500)).toBe(10);
    lifetime = 495;
    expect(budget.alive(500)).toBe(4);
  });

  it('exposes the cap and the ratio above which admission is filtered', () => {
    const budget = new TenantBudget({ cap: 2_500, idleLifetimeMs: () => 1 });
    expect(budget.cap).toBe(2_500);
    expect(budget.nearCapRatio).toBe(0.9);
  });

  it('refuses a bad configuration, naming every bad value', () => {
    const idleLifetimeMs = () => 1;
    expect(() => new TenantBudget({ cap: 0, nearCapRatio: 1.5, idleLifetimeMs })).toThrow(
      /cap.*nearCapRatio/,
    );
    expect(
      () => new TenantBudget({ cap: 10, victimSample: 0, frequencyWindow: -1, idleLifetimeMs }),
    ).toThrow(/victimSample.*frequencyWindow/);
    expect(() => new TenantBudget({ cap: 10, sketchWidthPerCap: 0.5, idleLifetimeMs })).toThrow(
      RangeError,
    );
  });
});

describe('TenantBudget admission (TinyLFU)', () => {
  it('near the cap admits a newcomer seen more often than the victim, spills a one-off', () => {
    // Prepare: cap 10, filtered from 5 alive; five one-off tenants fill the free part.
    const budget = new TenantBudget({ cap: 10, nearCapRatio: 0.5, idleLifetimeMs: () => 1_000 });
    for (let i = 0; i < 5; i++) expect(budget.admit(`old${i}`, `old${i}`, i).reason).toBe('free');
    // Act + Assess: a one-off ties with the victims (seen once) and spills.
    expect(budget.admit('once', 'once', 10)).toEqual({ kind: 'spill', reason: 'cold' });
    // A key seen before (its spilled requests count too) beats them.
    expect(budget.admit('twice', 'twice', 11)).toEqual({ kind: 'spill', reason: 'cold' });
    expect(budget.admit('twice', 'twice', 12)).toEqual({ kind: 'dedicated', reason: 'admitted' });
  });

  it('at the cap demotes a cold tenant for a hot newcomer, who gets its place when it dies', () => {
    // Prepare: a full budget of tenants each seen once.
    const budget = new TenantBudget({ cap: 4, nearCapRatio: 1, idleLifetimeMs: () => 100 });
    for (let i = 0; i < 4; i++) budget.admit(`cold${i}`, `cold${i}`, i);
    // Act: a hot newcomer asks three times.
    const answers = [10, 11, 12].map((t) => budget.admit('hot', 'hot', t));
    // Assess: it spills while the cap is full, and the coldest soonest-dying tenant is demoted.
    expect(answers.every((a) => a.kind === 'spill')).toBe(true);
    expect(budget.pendingDemotions).toBe(1);
    expect(budget.admit('cold0', 'cold0', 50)).toEqual({ kind: 'spill', reason: 'demoted' });
    // The others keep their tenants; cold0 is no longer refreshed and dies at 100.
    expect(budget.admit('cold1', 'cold1', 60)).toEqual({ kind: 'dedicated', reason: 'alive' });
    expect(budget.alive(99)).toBe(4);
    expect(budget.alive(100)).toBe(3);
    expect(budget.pendingDemotions).toBe(0);
    expect(budget.admit('hot', 'hot', 101).kind).toBe('dedicated');
  });

  it('under a Zipf workload keeps the hot keys in their own tenants and spills the cold', () => {
    // Prepare: Zipf(1.0) over 20,000 keys, one request a ms, lifetime 2 s (2,000 requests,
    // about 960 distinct keys a lifetime against a cap of 200).
    const keys = 20_000;
    const cap = 200;
    const lifetimeMs = 2_000;
    const requests = 200_000;
    const draw = zipfSampler(keys, 1.0, mulberry32(42));
    const trace = Array.from({ length: requests }, () => draw());
    const host = new Host(lifetimeMs);
    const budget = new TenantBudget({ cap, idleLifetimeMs: () => lifetimeMs });
    const baseline = firstComeFirstServed(cap, lifetimeMs);
    const warmUp = requests / 10;
    let ownWarm = 0;
    let baselineWarm = 0;
    let hot = 0;
    let hotDedicated = 0;
    const dedicatedByKey = new Map<number, number>();
    const seenByKey = new Map<number, number>();
    // Act
    for (let now = 0; now < requests; now++) {
      const k = trace[now]!;
      const decision = budget.admit(`key-${k}`, `tenant-${k}`, now);
      if (decision.kind === 'dedicated') host.invoke(`tenant-${k}`, now);
      const base = baseline(`tenant-${k}`, now);
      if (now < warmUp) continue;
      if (decision.reason === 'alive') ownWarm++;
      if (base === 'alive') baselineWarm++;
      if (k < 20) {
        hot++;
        if (decision.kind === 'dedicated') hotDedicated++;
      }
      seenByKey.set(k, (seenByKey.get(k) ?? 0) + 1);
      if (decision.kind === 'dedicated') dedicatedByKey.set(k, (dedicatedByKey.get(k) ?? 0) + 1);
      if (now % 1_000 === 0) expect(host.alive(now)).toBeLessThanOrEqual(cap);
    }
    // Assess: the 20 hottest keys are in their own tenants for nearly every request.
    expect(hotDedicated / hot).toBeGreaterThan(0.99);
    // Keys seen once in the measured part mostly spill.
    const once = [...seenByKey].filter(([, n]) => n === 1).map(([k]) => k);
    const onceDedicated = once.filter((k) => dedicatedByKey.has(k)).length;
    expect(once.length).toBeGreaterThan(1_000);
    expect(onceDedicated / once.length).toBeLessThan(0.1);
    // More requests find their own warm tenant than first-come-first-served gives
    // (measured 0.54 against 0.49).
    const measured = requests - warmUp;
    expect(ownWarm / measured).toBeGreaterThan(0.52);
    expect(ownWarm / measured).toBeGreaterThan(baselineWarm / measured + 0.03);
  });

  it('uses an injected sketch, so a caller can share or inspect it', () => {
    const frequency = new FrequencySketch({ capacity: 64 });
    const budget = new TenantBudget({ cap: 4, idleLifetimeMs: () => 100, frequency });
    budget.admit('k', 't', 0);
    budget.admit('k', 't', 1);
    expect(frequency.estimate('k')).toBe(2);
  });
});
