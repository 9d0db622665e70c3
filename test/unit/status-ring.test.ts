import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Ring } from '../../src/status/ring.js';

describe('status ring', () => {
  it('is empty until pushed to', () => {
    const ring = new Ring<number>(3);

    expect(ring.size).toBe(0);
    expect(ring.toArray()).toEqual([]);
    expect(ring.last()).toBeUndefined();
  });

  it('keeps entries oldest first below capacity and displaces nothing', () => {
    const ring = new Ring<string>(3);

    const displaced = [ring.push('a'), ring.push('b')];

    expect(displaced).toEqual([undefined, undefined]);
    expect(ring.toArray()).toEqual(['a', 'b']);
    expect(ring.last()).toBe('b');
  });

  it('wraps at capacity: the oldest entry goes, order stays oldest first', () => {
    const ring = new Ring<number>(3);
    for (const n of [1, 2, 3]) ring.push(n);

    const displaced = [ring.push(4), ring.push(5)];

    expect(displaced).toEqual([1, 2]);
    expect(ring.size).toBe(3);
    expect(ring.toArray()).toEqual([3, 4, 5]);
    expect(ring.last()).toBe(5);
  });

  it('holds at most its capacity, the last pushed, whatever the number of pushes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.integer(), { maxLength: 100 }),
        (capacity, items) => {
          const ring = new Ring<number>(capacity);
          for (const item of items) ring.push(item);

          expect(ring.size).toBe(Math.min(capacity, items.length));
          expect(ring.toArray()).toEqual(items.slice(Math.max(0, items.length - capacity)));
        },
      ),
    );
  });

  it('returns a copy: changing what toArray gave does not change the ring', () => {
    const ring = new Ring<number>(2);
    ring.push(1);

    ring.toArray().push(99);

    expect(ring.toArray()).toEqual([1]);
  });

  it('clears to empty and fills again from the start', () => {
    const ring = new Ring<number>(2);
    for (const n of [1, 2, 3]) ring.push(n);

    ring.clear();
    ring.push(7);

    expect(ring.toArray()).toEqual([7]);
  });

  it('refuses a capacity that is not a positive integer', () => {
    for (const capacity of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => new Ring(capacity)).toThrow(RangeError);
  });
});
