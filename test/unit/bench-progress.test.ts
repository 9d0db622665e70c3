import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  describeProgress,
  estimateRemainingMs,
  formatDuration,
  startProgress,
} from '../../bench/lib/progress.js';

/** A non-terminal stream that keeps what is written. */
function logStream() {
  const chunks: string[] = [];
  return { stream: { isTTY: false, write: (s: string) => chunks.push(s) > 0 }, chunks };
}

describe('progress off a terminal (CI logs, pipes)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('writes nothing for a section that ends within the first interval', () => {
    const { stream, chunks } = logStream();
    const p = startProgress('quick', 10, 'runs', { stream, everyMs: 10_000, now: Date.now });
    p.tick(10);
    vi.advanceTimersByTime(9_000);
    p.done();
    expect(chunks).toEqual([]);
  });

  it('writes one full line per interval with count, phase and ETA, then a closing line', () => {
    const { stream, chunks } = logStream();
    const p = startProgress('hit-rate', 300, 'requests', {
      stream,
      everyMs: 10_000,
      now: Date.now,
    });
    p.phase('warmroute (3/3): starting');
    vi.advanceTimersByTime(5_000); // set-up: not counted in the rate
    p.tick(); // first tick: the rate is measured from here
    vi.advanceTimersByTime(4_000);
    p.phase('warmroute (3/3): 50.0% hits so far');
    p.tick(99);
    expect(chunks).toEqual([]);
    vi.advanceTimersByTime(1_000); // 10 s since the start
    expect(chunks).toEqual([
      '  hit-rate: 33% 100/300 requests · 10 s elapsed · ETA 10 s · warmroute (3/3): 50.0% hits so far\n',
    ]);
    vi.advanceTimersByTime(10_000);
    expect(chunks).toHaveLength(2);
    p.done();
    expect(chunks[2]).toBe('  hit-rate: done, 100 requests in 20 s\n');
    vi.advanceTimersByTime(60_000);
    expect(chunks).toHaveLength(3);
  });

  it('ignores ticks and phases after done(), and done() twice', () => {
    const { stream, chunks } = logStream();
    const p = startProgress('x', 2, 'runs', { stream, everyMs: 1_000, now: Date.now });
    vi.advanceTimersByTime(1_000);
    p.done();
    p.done();
    p.tick();
    p.phase('late');
    vi.advanceTimersByTime(5_000);
    expect(chunks).toEqual([
      '  x: 0% 0/2 runs · 1 s elapsed · ETA --\n',
      '  x: done, 0 runs in 1 s\n',
    ]);
  });

  it('draws from tick() when no timer can run (a loop of settled promises)', () => {
    const { stream, chunks } = logStream();
    let t = 0;
    const p = startProgress('scheduler', 4, 'runs', { stream, everyMs: 1_000, now: () => t });
    t = 1_500; // time passed without the event loop turning
    p.tick();
    expect(chunks).toHaveLength(1);
    p.done();
  });
});

describe('progress text', () => {
  it('formats durations for a bar line', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(59_400)).toBe('59 s');
    expect(formatDuration(245_000)).toBe('4m05s');
    expect(formatDuration(3_720_000)).toBe('1h02m');
    expect(formatDuration(Number.NaN)).toBe('?');
  });

  it('the ETA is unknown before two points, zero when done, never negative (property)', () => {
    expect(estimateRemainingMs(undefined, 1_000, 5, 10)).toBeUndefined();
    expect(estimateRemainingMs({ atMs: 0, value: 5 }, 1_000, 5, 10)).toBeUndefined();
    fc.assert(
      fc.property(
        fc.nat(1_000_000),
        fc.integer({ min: 1, max: 1_000_000 }),
        fc.nat(10_000),
        fc.integer({ min: 1, max: 10_000 }),
        fc.nat(20_000),
        (atMs, spent, firstValue, moreDone, total) => {
          const value = firstValue + moreDone;
          const eta = estimateRemainingMs({ atMs, value: firstValue }, atMs + spent, value, total);
          expect(eta).toBeGreaterThanOrEqual(0);
          if (value >= total) expect(eta).toBe(0);
          // At the measured rate, the time left is the work left over the rate.
          else expect(eta).toBeCloseTo(((total - value) * spent) / moreDone, 6);
        },
      ),
    );
  });

  it('caps the percentage at 100 and leaves out an empty phase', () => {
    const line = describeProgress({
      label: 'x',
      unit: 'calls',
      total: 10,
      value: 12,
      phase: '',
      elapsedMs: 3_000,
      remainingMs: 0,
    });
    expect(line).toBe('100% 12/10 calls · 3 s elapsed · ETA 0 s');
  });
});
