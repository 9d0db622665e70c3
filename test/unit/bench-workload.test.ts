import { describe, expect, it } from 'vitest';
import { driveWorkload } from '../../bench/workload/drive.js';
import { percentile } from '../../bench/workload/percentile.js';
import { mulberry32 } from '../../bench/workload/prng.js';
import { generateTrace } from '../../bench/workload/trace.js';
import { zipfSampler } from '../../bench/workload/zipf.js';

describe('mulberry32', () => {
  it('repeats its sequence for a seed, differs across seeds, stays in [0, 1)', () => {
    const a = mulberry32(42);
    const b = mulberry32(42);
    const c = mulberry32(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('zipfSampler', () => {
  it('draws rank r with probability ∝ 1/(r+1)^s', () => {
    const next = zipfSampler(100, 1.1, mulberry32(1));
    const counts = new Array<number>(100).fill(0);
    const draws = 200_000;
    for (let i = 0; i < draws; i++) {
      const r = next();
      counts[r] = (counts[r] ?? 0) + 1;
    }
    let h = 0;
    for (let r = 1; r <= 100; r++) h += 1 / Math.pow(r, 1.1);
    // Expected share of rank 0 is 1/H; ranks 0 and 1 differ by 2^1.1.
    expect((counts[0] ?? 0) / draws).toBeCloseTo(1 / h, 2);
    expect((counts[0] ?? 0) / (counts[1] ?? 1)).toBeCloseTo(Math.pow(2, 1.1), 1);
    expect(counts.every((c) => c > 0)).toBe(true);
  });

  it('is uniform at s = 0 and rejects bad parameters', () => {
    const next = zipfSampler(4, 0, mulberry32(3));
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 40_000; i++) counts[next()]! += 1;
    for (const c of counts) expect(c / 40_000).toBeCloseTo(0.25, 1);
    expect(() => zipfSampler(0, 1, Math.random)).toThrow(RangeError);
    expect(() => zipfSampler(10, -1, Math.random)).toThrow(RangeError);
  });
});

describe('generateTrace', () => {
  it('is repeatable from its seed and stays within the key range', () => {
    const opts = { keys: 50, requests: 5_000, zipfS: 1.1, seed: 9 };
    const t1 = generateTrace(opts);
    expect(generateTrace(opts)).toEqual(t1);
    expect(generateTrace({ ...opts, seed: 10 })).not.toEqual(t1);
    expect(t1.length).toBe(5_000);
    expect(t1.every((k) => k >= 0 && k < 50)).toBe(true);
  });

  it('repeats a key burstLength times back to back when bursts are on', () => {
    const always = generateTrace({
      keys: 1000,
      requests: 12,
      zipfS: 0,
      seed: 5,
      burstProbability: 1,
      burstLength: 3,
    });
    for (let i = 0; i < 12; i += 3) {
      expect(always[i + 1]).toBe(always[i]);
      expect(always[i + 2]).toBe(always[i]);
    }
    const runs = (t: Int32Array): number =>
      t.reduce((n, k, i) => n + (i > 0 && t[i - 1] === k ? 1 : 0), 0);
    const none = generateTrace({ keys: 1000, requests: 2_000, zipfS: 0, seed: 5 });
    const some = generateTrace({
      keys: 1000,
      requests: 2_000,
      zipfS: 0,
      seed: 5,
      burstProbability: 0.2,
      burstLength: 4,
    });
    expect(runs(some)).toBeGreaterThan(runs(none) + 200);
  });
});

describe('driveWorkload', () => {
  it('issues every request once, in trace order, with at most C in flight, and records errors', async () => {
    // Prepare
    const trace = generateTrace({ keys: 20, requests: 300, zipfS: 1, seed: 2 });
    let inFlight = 0;
    let maxInFlight = 0;
    const issued: number[] = [];
    let tick = 0;
    // Act
    const { records } = await driveWorkload({
      trace,
      concurrency: 8,
      now: () => tick++,
      request: async (key, index) => {
        issued.push(index);
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((resolve) => setImmediate(resolve));
        inFlight--;
        if (index % 50 === 7) throw new Error(`boom ${index}`);
        return key * 10;
      },
    });
    // Assess
    expect(issued).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(maxInFlight).toBe(8);
    expect(records).toHaveLength(300);
    for (const [i, r] of records.entries()) {
      expect(r.index).toBe(i);
      expect(r.key).toBe(trace[i]);
      expect(r.end).toBeGreaterThan(r.start);
      if (i % 50 === 7) expect(r.error).toBeInstanceOf(Error);
      else expect(r.result).toBe((trace[i] ?? 0) * 10);
    }
  });
});

describe('percentile', () => {
  it('uses nearest rank', () => {
    const xs = [5, 1, 4, 2, 3, 6, 7, 8, 9, 10];
    expect(percentile(xs, 50)).toBe(5);
    expect(percentile(xs, 95)).toBe(10);
    expect(percentile(xs, 10)).toBe(1);
    expect(percentile([], 50)).toBeNaN();
  });
});
