import { mulberry32 } from './prng.js';
import { generateTrace } from './trace.js';

/**
 * The Zipf trace (trace.ts, the hit-rate bench's workload) given times: the
 * same seeded key order, sent as a Poisson process of `requestsPerSecond`
 * (exponential gaps, rounded to whole ms so the cost model and the host see
 * the same integers). Replayed open loop, so the gaps the host's idle
 * reclaim sees are the trace's, not the speed of earlier answers.
 */
export interface TimedZipfOptions {
  readonly keys: number;
  readonly requests: number;
  readonly zipfS: number;
  readonly seed: number;
  readonly requestsPerSecond: number;
}

export function generateTimedZipf(options: TimedZipfOptions): { atMs: number; key: number }[] {
  if (!(Number.isFinite(options.requestsPerSecond) && options.requestsPerSecond > 0))
    throw new RangeError(
      `timed zipf: requestsPerSecond must be a finite number > 0, got ${options.requestsPerSecond}`,
    );
  const keys = generateTrace(options);
  // Its own stream: the key order stays the hit-rate bench's for the same seed.
  const random = mulberry32((options.seed ^ 0x5bd1e995) >>> 0);
  const meanGapMs = 1000 / options.requestsPerSecond;
  const arrivals: { atMs: number; key: number }[] = [];
  let clock = 0;
  for (const key of keys) {
    arrivals.push({ atMs: Math.round(clock), key });
    clock += -Math.log(1 - random()) * meanGapMs;
  }
  return arrivals;
}
