import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../bench/workload/prng.js';
import { IdleLifetime } from '../../src/budget/idle-lifetime.js';

/**
 * A simulated host: an environment left idle survives `reclaimMs` (times
 * 1 + jitter × U[0, 1)), and with probability `noise` is lost anyway
 * (crash, recycling, a concurrent request taking a new environment).
 */
interface Host {
  readonly reclaimMs: number;
  readonly jitter: number;
  readonly noise: number;
}

type GapMix = (random: () => number) => number;

/** Gaps log-uniform over T/20 .. 20T: as many keys return early as late. */
const logUniform =
  (T: number): GapMix =>
  (random) =>
    (T / 20) * 400 ** random();

/** Sessions: 80 % of gaps are think times (T/100 .. T/4), 20 % resumptions (T/4 .. 10T). */
const sessions =
  (T: number): GapMix =>
  (random) =>
    random() < 0.8 ? (T / 100) * 25 ** random() : (T / 4) * 40 ** random();

function feed(idle: IdleLifetime, host: Host, gaps: GapMix, n: number, random: () => number): void {
  for (let i = 0; i < n; i++) {
    const gapMs = gaps(random);
    const lifetime = host.reclaimMs * (1 + host.jitter * random());
    const lost = random() < host.noise;
    idle.observe({ gapMs, reusedEnvironment: gapMs < lifetime && !lost });
  }
}

/** The relative error of the median estimate against the host's median reclaim time, per seed. */
function errors(host: Host, gaps: GapMix, n: number, seeds = 20): number[] {
  const median = host.reclaimMs * (1 + host.jitter / 2);
  return Array.from({ length: seeds }, (_, seed) => {
    const idle = new IdleLifetime();
    feed(idle, host, gaps, n, mulberry32(seed + 1));
    idle.fit();
    const estimate = idle.estimateMs();
    return estimate === undefined ? Number.POSITIVE_INFINITY : Math.abs(estimate / median - 1);
  });
}

const T = 600_000; // Lambda-like: ten minutes.

describe('IdleLifetime converges on the host idle reclaim time', () => {
  it('within ±10 % after 500 observations, fixed reclaim time', () => {
    const worst = Math.max(...errors({ reclaimMs: T, jitter: 0, noise: 0 }, logUniform(T), 500));
    expect(worst).toBeLessThanOrEqual(0.1);
  });

  it('within ±10 % after 500 observations with 5 % of environments lost to other causes', () => {
    const host = { reclaimMs: T, jitter: 0, noise: 0.05 };
    expect(Math.max(...errors(host, logUniform(T), 500))).toBeLessThanOrEqual(0.1);
  });

  it('within ±10 % of the median after 500 observations with reclaim jittered over T..1.2T', () => {
    const host = { reclaimMs: T, jitter: 0.2, noise: 0.05 };
    expect(Math.max(...errors(host, logUniform(T), 500))).toBeLessThanOrEqual(0.1);
  });

  it('within ±10 % after 2,000 observations of session traffic (mostly short gaps)', () => {
    const host = { reclaimMs: T, jitter: 0.2, noise: 0.05 };
    expect(Math.max(...errors(host, sessions(T), 2_000))).toBeLessThanOrEqual(0.1);
  });

  it('works at local-host scale (300 ms) with the default range', () => {
    const host = { reclaimMs: 300, jitter: 0, noise: 0.05 };
    expect(Math.max(...errors(host, logUniform(300), 500))).toBeLessThanOrEqual(0.1);
  });

  it.each([0.5, 2])(
    're-learns within ±10 %, 3,000 observations after the host reclaim time changes ×%s',
    (factor) => {
      for (let seed = 1; seed <= 10; seed++) {
        // Prepare: a long history at T.
        const random = mulberry32(seed);
        const idle = new IdleLifetime();
        feed(idle, { reclaimMs: T, jitter: 0, noise: 0.05 }, logUniform(T), 50_000, random);
        idle.fit();
        expect(idle.estimateMs()! / T).toBeCloseTo(1, 1);
        // Act
        const changed = { reclaimMs: T * factor, jitter: 0, noise: 0.05 };
        feed(idle, changed, logUniform(T), 3_000, random);
        idle.fit();
        // Assess
        expect(Math.abs(idle.estimateMs()! / (T * factor) - 1)).toBeLessThanOrEqual(0.1);
      }
    },
  );
});

describe('IdleLifetime estimates', () => {
  it('a high quantile sits above the median, near the top of the jitter range', () => {
    const idle = new IdleLifetime();
    feed(idle, { reclaimMs: T, jitter: 0.2, noise: 0 }, logUniform(T), 5_000, mulberry32(7));
    idle.fit();
    const median = idle.estimateMs()!;
    const high = idle.estimateMs(0.9)!;
    expect(high).toBeGreaterThan(median);
    expect(high / (T * 1.18)).toBeGreaterThan(0.9);
    expect(high / (T * 1.18)).toBeLessThan(1.1);
    // Asking again (cached) gives the same answer; the median is unchanged by it.
    expect(idle.estimateMs(0.9)).toBe(high);
    expect(idle.estimateMs()).toBe(median);
  });

  it('has no estimate without a crossing: no evidence, only survivals, only losses', () => {
    const empty = new IdleLifetime();
    empty.fit();
    expect(empty.estimateMs()).toBeUndefined();
    expect(empty.confidence).toBe(0);

    const survived = new IdleLifetime();
    for (let g = 1; g <= 100; g++) survived.observe({ gapMs: g * 1_000, reusedEnvironment: true });
    survived.fit();
    expect(survived.estimateMs()).toBeUndefined();

    const gone = new IdleLifetime();
    for (let g = 1; g <= 100; g++) gone.observe({ gapMs: g * 1_000, reusedEnvironment: false });
    gone.fit();
    expect(gone.estimateMs()).toBeUndefined();
  });

  it('places the boundary between a reused gap and a longer lost one', () => {
    const idle = new IdleLifetime();
    for (let i = 0; i < 20; i++) {
      idle.observe({ gapMs: 1_000, reusedEnvironment: true });
      idle.observe({ gapMs: 1_300, reusedEnvironment: false });
    }
    idle.fit();
    const estimate = idle.estimateMs()!;
    expect(estimate).toBeGreaterThan(1_000);
    expect(estimate).toBeLessThan(1_300);
    expect(idle.confidence).toBe(40);
  });

  it('has no confidence in a boundary interpolated across gaps no key left', () => {
    // Prepare: evidence only at 1 s (reused) and 8 s (gone); the estimate is a guess between.
    const idle = new IdleLifetime();
    for (let i = 0; i < 20; i++) {
      idle.observe({ gapMs: 1_000, reusedEnvironment: true });
      idle.observe({ gapMs: 8_000, reusedEnvironment: false });
    }
    idle.fit();
    // Assess
    expect(idle.estimateMs()).toBeGreaterThan(1_000);
    expect(idle.estimateMs()).toBeLessThan(8_000);
    expect(idle.confidence).toBe(0);
  });

  it('ignores gaps that carry no idle evidence (negative: overlapping requests; NaN)', () => {
    const idle = new IdleLifetime({ refitEvery: 1 });
    for (let i = 0; i < 20; i++) {
      idle.observe({ gapMs: 1_000, reusedEnvironment: true });
      idle.observe({ gapMs: 4_000, reusedEnvironment: false });
    }
    const before = idle.estimateMs();
    for (let i = 0; i < 100; i++) {
      idle.observe({ gapMs: -5, reusedEnvironment: false });
      idle.observe({ gapMs: Number.NaN, reusedEnvironment: false });
    }
    idle.fit();
    expect(idle.estimateMs()).toBe(before);
  });

  it('refits lazily, every refitEvery observations, unless fit() is called', () => {
    const idle = new IdleLifetime({ refitEvery: 16 });
    for (let i = 0; i < 7; i++) {
      idle.observe({ gapMs: 1_000, reusedEnvironment: true });
      idle.observe({ gapMs: 4_000, reusedEnvironment: false });
    }
    expect(idle.estimateMs()).toBeUndefined(); // 14 observations: not refitted yet
    idle.observe({ gapMs: 1_000, reusedEnvironment: true });
    idle.observe({ gapMs: 4_000, reusedEnvironment: false });
    expect(idle.estimateMs()).toBeDefined();
  });

  it('keeps bounded evidence: a bucket remembers about bucketMemory observations', () => {
    const idle = new IdleLifetime({ bucketMemory: 32 });
    for (let i = 0; i < 100_000; i++) {
      idle.observe({ gapMs: 1_000, reusedEnvironment: true });
      idle.observe({ gapMs: 1_300, reusedEnvironment: false });
    }
    idle.fit();
    // The median's ±√2 window holds the two buckets, each at most bucketMemory.
    expect(idle.confidence).toBeLessThanOrEqual(2 * 32);
    expect(idle.confidence).toBeGreaterThan(32);
  });

  it('refuses a bad configuration, naming every bad value', () => {
    expect(() => new IdleLifetime({ minMs: 0, bucketsPerDoubling: 0.5 })).toThrow(
      /minMs.*bucketsPerDoubling/,
    );
    expect(() => new IdleLifetime({ minMs: 10, maxMs: 5 })).toThrow(/maxMs/);
    expect(() => new IdleLifetime({ bucketMemory: 1, refitEvery: 0 })).toThrow(
      /bucketMemory.*refitEvery/,
    );
    expect(() => new IdleLifetime({ minMs: 1e-9, maxMs: 1e12, bucketsPerDoubling: 64 })).toThrow(
      /buckets/,
    );
  });
});
