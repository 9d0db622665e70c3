import { describe, expect, it } from 'vitest';
import type { StatusPoint } from '../../src/status/status-document.js';
import { MIN_PARTIAL_SECONDS, latestValue, perSecond } from '../../status-page/src/rate.js';

/** Rates on the status page's charts (status-page/src/rate.ts). */

function point(seconds: number, partial: boolean, hits: number): StatusPoint {
  return {
    t: 1_800_000_000_000,
    seconds,
    partial,
    requests: { hit: hits, rehydrated: 0, fresh: 0, unknown: 0 },
    hitRatio: hits > 0 ? 1 : null,
    hitLatency: { p50Ms: null, p95Ms: null },
    coldLatency: { p50Ms: null, p95Ms: null },
    coldStarts: 0,
    coldStartCostUsd: 0,
    queueDepth: 0,
    inflight: 0,
    rejections: 0,
    errors: 0,
  };
}

describe('status page rates', () => {
  const hitsPerSecond = perSecond((p) => p.requests.hit);

  it('leaves out a partial point shorter than a second: 3 hits 2 ms after a step are no 1,500/s', () => {
    expect(hitsPerSecond(point(0.002, true, 3))).toBeNull();
    expect(hitsPerSecond(point(MIN_PARTIAL_SECONDS - 0.001, true, 3))).toBeNull();
    expect(hitsPerSecond(point(0, true, 0))).toBeNull();
  });

  it('rates a partial point of a second or more, and every full interval, over its own length', () => {
    expect(hitsPerSecond(point(2, true, 3))).toBe(1.5);
    expect(hitsPerSecond(point(5, false, 10))).toBe(2);
    // A full interval is never left out, however short (a step's timer can fire late or early).
    expect(hitsPerSecond(point(0.5, false, 1))).toBe(2);
    expect(hitsPerSecond(point(0, false, 3))).toBeNull();
  });

  it('gives the legend the latest value a series has: the last non-null one', () => {
    expect(latestValue([1, 2, null])).toBe(2);
    expect(latestValue([1, 0])).toBe(0);
    expect(latestValue([null, undefined])).toBeNull();
    expect(latestValue(new Float64Array([3, 4]))).toBe(4);
  });
});
