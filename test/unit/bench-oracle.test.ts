import { describe, expect, it } from 'vitest';
import { computeOracle, type OracleRequest } from '../../bench/oracle.js';
import { computeLruBound } from '../../bench/scenarios/lru-bound.js';
import { mulberry32 } from '../../bench/workload/prng.js';

/** Requests one ms apart, instantaneous. */
const at1ms = (keys: readonly number[]): OracleRequest[] =>
  keys.map((key, i) => ({ key, start: i }));

/**
 * Exhaustive optimum, modelled independently of the oracle: environments
 * vanish once idle longer than the timeout; on a miss at the cap, try every
 * victim. Exponential, so only for tiny traces.
 */
function bruteForceBest(trace: readonly OracleRequest[], idle: number, cap: number): number {
  const go = (i: number, resident: ReadonlyMap<number, number>): number => {
    const r = trace[i];
    if (r === undefined) return 0;
    const alive = new Map([...resident].filter(([, lastEnd]) => r.start - lastEnd <= idle));
    const end = r.end ?? r.start;
    if (alive.has(r.key)) {
      const next = new Map(alive);
      next.set(r.key, Math.max(end, alive.get(r.key) ?? end));
      return 1 + go(i + 1, next);
    }
    if (alive.size < cap) return go(i + 1, new Map(alive).set(r.key, end));
    let best = 0;
    for (const victim of alive.keys()) {
      const next = new Map(alive);
      next.delete(victim);
      next.set(r.key, end);
      best = Math.max(best, go(i + 1, next));
    }
    return best;
  };
  return go(0, new Map());
}

describe('computeOracle', () => {
  it('counts each key’s first use as a cold miss and every repeat as a hit when nothing binds', () => {
    // Prepare
    const trace = at1ms([0, 1, 0, 2, 1, 0]);
    // Act
    const result = computeOracle(trace, { idleTimeoutMs: 1_000, capacity: 10 });
    // Assess
    expect(result).toMatchObject({
      requests: 6,
      hits: 3,
      coldMisses: 3,
      idleMisses: 0,
      capacityMisses: 0,
    });
    expect(result.hitRate).toBe(0.5);
  });

  it('misses a use after an idle gap longer than the idle timeout, measured from the previous end', () => {
    const trace: OracleRequest[] = [
      { key: 0, start: 0, end: 50 },
      { key: 0, start: 140 }, // 90 ms after the end: within 100
      { key: 0, start: 241 }, // 101 ms after: evicted
      { key: 0, start: 341 }, // exactly 100: still alive
    ];
    const result = computeOracle(trace, { idleTimeoutMs: 100, capacity: 1 });
    expect(result).toMatchObject({ hits: 2, coldMisses: 1, idleMisses: 1, capacityMisses: 0 });
  });

  it('gives Belady’s MIN on the textbook reference string (3 frames → 9 faults)', () => {
    // Silberschatz's example: OPT has 9 page faults of which 6 are compulsory.
    const trace = at1ms([7, 0, 1, 2, 0, 3, 0, 4, 2, 3, 0, 3, 2, 1, 2, 0, 1, 7, 0, 1]);
    const result = computeOracle(trace, { idleTimeoutMs: 1e9, capacity: 3 });
    expect(result).toMatchObject({
      requests: 20,
      hits: 11,
      coldMisses: 6,
      capacityMisses: 3,
      idleMisses: 0,
    });
  });

  it('beats LRU where LRU thrashes (cyclic access over cap + 1 keys)', () => {
    // LRU misses every request of 0,1,2,0,1,2,… with 2 slots; MIN keeps one key.
    const trace = at1ms([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const result = computeOracle(trace, { idleTimeoutMs: 1e9, capacity: 2 });
    expect(result.coldMisses).toBe(3);
    expect(result.hits).toBe(bruteForceBest(trace, 1e9, 2));
    expect(result.hits).toBeGreaterThan(0);
  });

  it('evicts an environment whose next use will be an idle miss anyway before a live one', () => {
    // Key 1 comes back only after its idle gap: keeping it is worthless, so
    // at cap 2 the oracle must evict 1 (not 0) when 2 arrives, and hit 0 later.
    const trace: OracleRequest[] = [
      { key: 0, start: 0 },
      { key: 1, start: 1 },
      { key: 2, start: 2 },
      { key: 0, start: 50 },
      { key: 1, start: 500 },
    ];
    const result = computeOracle(trace, { idleTimeoutMs: 100, capacity: 2 });
    expect(result).toMatchObject({ hits: 1, coldMisses: 3, idleMisses: 1, capacityMisses: 0 });
  });

  it('sorts requests by start time before simulating', () => {
    const inOrder = computeOracle(at1ms([0, 1, 0]), { idleTimeoutMs: 10, capacity: 1 });
    const shuffled = computeOracle(
      [
        { key: 0, start: 2 },
        { key: 0, start: 0 },
        { key: 1, start: 1 },
      ],
      { idleTimeoutMs: 10, capacity: 1 },
    );
    expect(shuffled).toEqual(inOrder);
  });

  it('matches an exhaustive search of every eviction choice on random tiny traces', () => {
    const random = mulberry32(7);
    for (let round = 0; round < 150; round++) {
      const n = 4 + Math.floor(random() * 8);
      const keys = 2 + Math.floor(random() * 3);
      const cap = 1 + Math.floor(random() * 2);
      let t = 0;
      const trace: OracleRequest[] = [];
      for (let i = 0; i < n; i++) {
        t += Math.floor(random() * 40);
        trace.push({
          key: Math.floor(random() * keys),
          start: t,
          end: t + Math.floor(random() * 5),
        });
      }
      const result = computeOracle(trace, { idleTimeoutMs: 50, capacity: cap });
      expect(result.hits, JSON.stringify({ trace, cap })).toBe(bruteForceBest(trace, 50, cap));
      expect(result.hits + result.coldMisses + result.idleMisses + result.capacityMisses).toBe(n);
    }
  });

  it('rejects a capacity below one', () => {
    expect(() => computeOracle([], { idleTimeoutMs: 1, capacity: 0 })).toThrow(RangeError);
  });
});

describe('computeLruBound', () => {
  it('thrashes on a cyclic trace one key larger than the cap, where MIN does not', () => {
    const trace = at1ms([0, 1, 2, 0, 1, 2, 0, 1, 2]);
    const lru = computeLruBound(trace, { idleTimeoutMs: 1e9, capacity: 2 });
    expect(lru).toMatchObject({ hits: 0, coldMisses: 3, capacityMisses: 6 });
    expect(computeOracle(trace, { idleTimeoutMs: 1e9, capacity: 2 }).hits).toBeGreaterThan(0);
  });

  it('counts LRU hits, cold and idle misses, and never beats the oracle', () => {
    expect(computeLruBound(at1ms([0, 1, 0, 1]), { idleTimeoutMs: 1e9, capacity: 2 })).toMatchObject(
      { hits: 2, coldMisses: 2 },
    );
    const gap: OracleRequest[] = [
      { key: 0, start: 0 },
      { key: 0, start: 200 },
    ];
    expect(computeLruBound(gap, { idleTimeoutMs: 100, capacity: 2 })).toMatchObject({
      hits: 0,
      idleMisses: 1,
    });
    const random = mulberry32(11);
    for (let round = 0; round < 50; round++) {
      const trace = Array.from({ length: 200 }, (_, i) => ({
        key: Math.floor(random() * random() * 20),
        start: i * 3,
      }));
      const opts = { idleTimeoutMs: 120, capacity: 1 + Math.floor(random() * 8) };
      expect(computeLruBound(trace, opts).hits).toBeLessThanOrEqual(
        computeOracle(trace, opts).hits,
      );
    }
  });
});
