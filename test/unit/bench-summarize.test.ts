import { describe, expect, it } from 'vitest';
import { summarize, type Outcome } from '../../bench/scenarios/summarize.js';
import type { RequestRecord } from '../../bench/workload/drive.js';

const rec = (
  index: number,
  start: number,
  end: number,
  result?: Outcome,
): RequestRecord<Outcome> =>
  result === undefined
    ? { index, key: 0, start, end, error: new Error(`failed ${index}`) }
    : { index, key: 0, start, end, result };

describe('summarize', () => {
  it('counts states, reasons, distinct environments as cold starts, errors as misses', () => {
    // Prepare
    const records = [
      rec(0, 0, 10, { state: 'fresh', env: 'a' }),
      rec(1, 0, 20, { state: 'hit', env: 'a' }),
      rec(2, 5, 35, { state: 'rehydrated', env: 'b', reason: 'first-use' }),
      rec(3, 10, 50, { state: 'rehydrated', env: 'a', reason: 'stale' }),
      rec(4, 20, 60),
    ];
    // Act
    const s = summarize(records, 100, { memoryMb: 2048, pricePerGb: 0.5 });
    // Assess
    expect(s).toMatchObject({
      requests: 5,
      hit: 1,
      rehydrated: 2,
      fresh: 1,
      unknown: 0,
      errors: 1,
      coldStarts: 2,
    });
    expect(s.hitRate).toBeCloseTo(0.2);
    expect(s.missReasons).toEqual({ fresh: 1, 'first-use': 1, stale: 1 });
    expect(s.coldStartCostUsd).toBeCloseTo(2 * 2 * 0.5);
    expect(s.latencyMs).toEqual({ p50: 30, p95: 40, p99: 40 });
    expect(s.throughputRps).toBeCloseTo(50);
    expect(s.errorSamples).toEqual(['failed 4']);
  });
});
