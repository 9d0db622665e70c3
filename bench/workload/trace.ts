import { mulberry32 } from './prng.js';
import { zipfSampler } from './zipf.js';

export interface TraceOptions {
  /** K: number of distinct keys; key index 0 is the most popular. */
  readonly keys: number;
  /** N: number of requests in the trace. */
  readonly requests: number;
  /** Zipf exponent s (1.1 in the reference workload). */
  readonly zipfS: number;
  readonly seed: number;
  /**
   * Key bursts: with this probability a drawn key is repeated `burstLength`
   * times back to back. With C workers pulling from one trace, a burst
   * becomes concurrent requests for one key — the case where per-key
   * serialization matters (a second concurrent call would otherwise start a
   * second environment). Default 0.
   */
  readonly burstProbability?: number;
  /** Requests in one burst (including the first). Default 4. */
  readonly burstLength?: number;
}

/**
 * A repeatable request trace: the key index of each request, in issue order.
 * Same options (seed included) → same trace.
 */
export function generateTrace(options: TraceOptions): Int32Array {
  const { keys, requests, zipfS, seed } = options;
  const burstProbability = options.burstProbability ?? 0;
  const burstLength = options.burstLength ?? 4;
  if (!Number.isSafeInteger(requests) || requests < 0)
    throw new RangeError(`trace: requests must be ≥ 0, got ${requests}`);
  if (!(burstProbability >= 0 && burstProbability <= 1))
    throw new RangeError(`trace: burstProbability must be in [0, 1]`);
  if (!Number.isSafeInteger(burstLength) || burstLength < 1)
    throw new RangeError(`trace: burstLength must be ≥ 1`);
  const random = mulberry32(seed);
  const next = zipfSampler(keys, zipfS, random);
  const trace = new Int32Array(requests);
  let i = 0;
  while (i < requests) {
    const key = next();
    const repeat = burstProbability > 0 && random() < burstProbability ? burstLength : 1;
    for (let j = 0; j < repeat && i < requests; j++) trace[i++] = key;
  }
  return trace;
}
