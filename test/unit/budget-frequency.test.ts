import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FrequencySketch } from '../../src/budget/frequency.js';

/** Keys with their true counts, from a list of accesses. */
function truth(accesses: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const key of accesses) counts.set(key, (counts.get(key) ?? 0) + 1);
  return counts;
}

const anyString = fc.string({ unit: 'binary', maxLength: 64 });

describe('FrequencySketch', () => {
  it('never underestimates a count (up to the 4-bit ceiling) before aging', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(fc.oneof(anyString, fc.constantFrom('a', 'b', 'c')), { maxLength: 400 }),
        (capacity, accesses) => {
          // Prepare: a sample size larger than the run, so no aging happens.
          const sketch = new FrequencySketch({ capacity, sampleSize: 1_000_000 });
          // Act
          for (const key of accesses) sketch.increment(key);
          // Assess
          expect(sketch.agingCount).toBe(0);
          for (const [key, count] of truth(accesses))
            expect(sketch.estimate(key)).toBeGreaterThanOrEqual(Math.min(count, 15));
        },
      ),
    );
  });

  it('is exact for a few keys in a roomy sketch', () => {
    const sketch = new FrequencySketch({ capacity: 1024, sampleSize: 1_000_000 });
    for (let i = 0; i < 7; i++) sketch.increment('seven');
    for (let i = 0; i < 3; i++) sketch.increment('three');
    for (let i = 0; i < 40; i++) sketch.increment('many');
    expect(sketch.estimate('seven')).toBe(7);
    expect(sketch.estimate('three')).toBe(3);
    expect(sketch.estimate('many')).toBe(15);
    expect(sketch.estimate('never')).toBe(0);
  });

  it('aging halves every estimate (rounding down)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 64 }),
        fc.array(anyString, { maxLength: 300 }),
        (capacity, accesses) => {
          // Prepare
          const sketch = new FrequencySketch({ capacity, sampleSize: 1_000_000 });
          for (const key of accesses) sketch.increment(key);
          const before = new Map([...truth(accesses).keys()].map((k) => [k, sketch.estimate(k)]));
          // Act
          sketch.age();
          // Assess
          for (const [key, estimate] of before)
            expect(sketch.estimate(key)).toBe(Math.floor(estimate / 2));
        },
      ),
    );
  });

  it('ages by itself every sampleSize increments, so an old favourite fades', () => {
    // Prepare
    const sketch = new FrequencySketch({ capacity: 64, sampleSize: 100 });
    for (let i = 0; i < 15; i++) sketch.increment('old favourite');
    expect(sketch.estimate('old favourite')).toBe(15);
    // Act: 400 increments of other keys, at least three agings.
    for (let i = 0; i < 400; i++) sketch.increment(`other-${i % 50}`);
    // Assess
    expect(sketch.agingCount).toBeGreaterThanOrEqual(3);
    expect(sketch.estimate('old favourite')).toBeLessThanOrEqual(1);
  });

  it('never throws on any string, including lone surrogates and the empty string', () => {
    const sketch = new FrequencySketch({ capacity: 16, sampleSize: 50 });
    fc.assert(
      fc.property(anyString, (key) => {
        sketch.increment(key);
        const estimate = sketch.estimate(key);
        expect(Number.isInteger(estimate)).toBe(true);
        expect(estimate).toBeGreaterThanOrEqual(0);
        expect(estimate).toBeLessThanOrEqual(15);
      }),
    );
    expect(() => FrequencySketch.hash('\ud800')).not.toThrow();
    expect(sketch.estimate('')).toBeGreaterThanOrEqual(0);
  });

  it('keeps hot keys above cold ones in a Zipf-like stream much larger than its capacity', () => {
    // Prepare: 5,000 distinct cold keys seen once each, interleaved with 10 hot keys.
    const sketch = new FrequencySketch({ capacity: 256 });
    for (let i = 0; i < 5_000; i++) {
      sketch.increment(`cold-${i}`);
      if (i % 50 === 0) for (let h = 0; h < 10; h++) sketch.increment(`hot-${h}`);
    }
    // Assess: with aging every 2,560 increments the hot keys still stand out.
    const hot = Array.from({ length: 10 }, (_, h) => sketch.estimate(`hot-${h}`));
    const cold = Array.from({ length: 1_000 }, (_, i) => sketch.estimate(`cold-${4_000 + i}`));
    const meanCold = cold.reduce((a, b) => a + b, 0) / cold.length;
    expect(Math.min(...hot)).toBeGreaterThan(3 * meanCold);
    expect(Math.min(...hot)).toBeGreaterThanOrEqual(4);
  });

  it('uses memory set by capacity, not by the number of keys', () => {
    expect(new FrequencySketch({ capacity: 2_500 }).width).toBe(4_096);
    expect(new FrequencySketch({ capacity: 1 }).width).toBe(8);
  });

  it('refuses a capacity or sample size that is not a positive integer', () => {
    expect(() => new FrequencySketch({ capacity: 0 })).toThrow(RangeError);
    expect(() => new FrequencySketch({ capacity: 1.5 })).toThrow(/capacity/);
    expect(() => new FrequencySketch({ capacity: 2 ** 40 })).toThrow(/capacity/);
    expect(() => new FrequencySketch({ capacity: 8, sampleSize: 0 })).toThrow(/sampleSize/);
  });
});
