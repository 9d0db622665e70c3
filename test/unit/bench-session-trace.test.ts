import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  aliveStats,
  generateSessionTrace,
  type SessionArrival,
  type SessionTraceOptions,
} from '../../bench/workload/session-trace.js';

/** Consecutive gaps within each session, in order. */
function sessionGaps(arrivals: readonly SessionArrival[]): Map<number, number[]> {
  const times = new Map<number, number[]>();
  for (const a of arrivals) times.set(a.session, [...(times.get(a.session) ?? []), a.atMs]);
  const gaps = new Map<number, number[]>();
  for (const [session, ts] of times)
    gaps.set(
      session,
      ts.slice(1).map((t, i) => t - (ts[i] ?? t)),
    );
  return gaps;
}

const smallOptions = fc.record({
  seed: fc.integer(),
  idleReclaimMs: fc.integer({ min: 100, max: 100_000 }),
  sessions: fc.integer({ min: 0, max: 60 }),
  sessionsPerSecond: fc.double({ min: 0.01, max: 100, noNaN: true }),
  keys: fc.integer({ min: 1, max: 500 }),
  keyZipfS: fc.double({ min: 0, max: 2, noNaN: true }),
  meanRequestsPerSegment: fc.double({ min: 1, max: 20, noNaN: true }),
  maxRequestsPerSegment: fc.integer({ min: 1, max: 30 }),
  thinkSigma: fc.double({ min: 0, max: 3, noNaN: true }),
  resumeProbability: fc.double({ min: 0, max: 1, noNaN: true }),
  maxResumes: fc.integer({ min: 0, max: 4 }),
  nearPauseShare: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe('generateSessionTrace', () => {
  it('is the same trace for the same options and sorted by time', () => {
    fc.assert(
      fc.property(smallOptions, (options) => {
        // Act
        const a = generateSessionTrace(options);
        const b = generateSessionTrace(options);
        // Assess
        expect(b).toEqual(a);
        for (let i = 1; i < a.arrivals.length; i++)
          expect(a.arrivals[i]!.atMs).toBeGreaterThanOrEqual(a.arrivals[i - 1]!.atMs);
      }),
      { numRuns: 60 },
    );
  });

  it('keeps every value inside the bounds its parameters set', () => {
    fc.assert(
      fc.property(smallOptions, (options) => {
        // Prepare
        const t = options.idleReclaimMs;
        const thinkMax = Math.floor(t / 2);
        const near = [Math.round(1.1 * t), Math.round(1.6 * t)] as const;
        const far = [Math.round(2.5 * t), Math.round(8 * t)] as const;
        // Act
        const { arrivals, summary } = generateSessionTrace(options);
        // Assess: keys, integer times, segment lengths, think times and pauses.
        expect(summary.requests).toBe(arrivals.length);
        expect(summary.sessions).toBe(options.sessions);
        expect(summary.pauses).toBe(summary.nearPauses + summary.farPauses);
        expect(summary.keys).toBe(new Set(arrivals.map((a) => a.key)).size);
        expect(summary.keys).toBeLessThanOrEqual(Math.min(options.keys, options.sessions));
        for (const a of arrivals) {
          expect(Number.isSafeInteger(a.atMs) && a.atMs >= 0).toBe(true);
          expect(Number.isInteger(a.key) && a.key >= 0 && a.key < options.keys).toBe(true);
        }
        let pauses = 0;
        for (const gaps of sessionGaps(arrivals).values()) {
          let run = 1;
          let sessionPauses = 0;
          for (const g of gaps) {
            if (g <= thinkMax) {
              expect(g).toBeGreaterThanOrEqual(1);
              run++;
              continue;
            }
            const isNear = g >= near[0] && g <= near[1];
            const isFar = g >= far[0] && g <= far[1];
            expect(isNear || isFar).toBe(true);
            expect(run).toBeLessThanOrEqual(options.maxRequestsPerSegment);
            run = 1;
            sessionPauses++;
          }
          expect(run).toBeLessThanOrEqual(options.maxRequestsPerSegment);
          expect(sessionPauses).toBeLessThanOrEqual(options.maxResumes);
          pauses += sessionPauses;
        }
        expect(pauses).toBe(summary.pauses);
        expect(summary.peakKeysAlive).toBeLessThanOrEqual(summary.keys);
        if (arrivals.length > 0) expect(summary.peakKeysAlive).toBeGreaterThanOrEqual(1);
      }),
      { numRuns: 80 },
    );
  });

  it('with the defaults, holds far more keys alive than a small cap, with pauses both just and well past T', () => {
    // Prepare: T = 10 s, compressed the way a bench run would.
    const options: SessionTraceOptions = {
      seed: 18,
      idleReclaimMs: 10_000,
      sessions: 3_000,
      sessionsPerSecond: 20,
    };
    // Act
    const { arrivals, summary } = generateSessionTrace(options);
    // Assess
    expect(summary.requests).toBeGreaterThan(3_000 * 8);
    expect(summary.nearPauses).toBeGreaterThan(200);
    expect(summary.farPauses).toBeGreaterThan(200);
    // λ × (span + T) ≈ 20 × (~4 s + 10 s), a few hundred; a 50-environment cap binds.
    expect(summary.peakKeysAlive).toBeGreaterThan(200);
    expect(summary.meanKeysAlive).toBeLessThanOrEqual(summary.peakKeysAlive);
    // Session starts are Poisson at 20/s: 3,000 sessions take about 150 s.
    const starts = new Map<number, number>();
    for (const a of arrivals) if (!starts.has(a.session)) starts.set(a.session, a.atMs);
    expect(Math.max(...starts.values()) / 1000).toBeGreaterThan(140);
    expect(Math.max(...starts.values()) / 1000).toBeLessThan(160);
    expect(generateSessionTrace({ ...options, seed: 19 }).arrivals).not.toEqual(arrivals);
  });

  it('reports every bad parameter in one RangeError', () => {
    // Act
    const act = (): unknown =>
      generateSessionTrace({
        seed: 1,
        idleReclaimMs: 1_000,
        sessions: -1,
        thinkMaxMs: 1_000,
        resumeProbability: 2,
        nearPauseFactor: [2, 1],
      });
    // Assess
    expect(act).toThrow(RangeError);
    expect(act).toThrow(
      /sessions.*thinkMaxMs must be < idleReclaimMs.*resumeProbability.*nearPauseFactor/,
    );
  });
});

describe('aliveStats', () => {
  it('counts a key alive until T after its last request, a gap of exactly T included', () => {
    // Prepare: T = 10. Key a: 0 and 10 (one span [0, 20]); key b: 21 (span [21, 31]);
    // key c: 20 (span [20, 30]) touches a's end, so a and c overlap at 20.
    const trace = [
      { atMs: 0, key: 'a' },
      { atMs: 10, key: 'a' },
      { atMs: 20, key: 'c' },
      { atMs: 21, key: 'b' },
    ];
    // Act
    const stats = aliveStats(trace, 10);
    // Assess: peak 2 (a+c at 20, then c+b on [21, 30]); area 20·1 + 1·1 + 9·2 + 1·1 = 40 over [0, 31].
    expect(stats.keys).toBe(3);
    expect(stats.peakKeysAlive).toBe(2);
    expect(stats.meanKeysAlive).toBeCloseTo(40 / 31, 10);
    expect(aliveStats([], 10)).toEqual({ keys: 0, peakKeysAlive: 0, meanKeysAlive: 0 });
  });
});
