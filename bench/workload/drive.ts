import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { mulberry32 } from './prng.js';

export interface DriveOptions<R> {
  /** Key index of each request, in issue order. */
  readonly trace: ArrayLike<number>;
  /** C: concurrent clients. Each takes the next request of the trace when its previous one is done. */
  readonly concurrency: number;
  /** Issue one request; a rejection is recorded, not thrown. */
  readonly request: (key: number, index: number) => Promise<R>;
  /**
   * Mean think time between a client's requests, in ms (exponentially
   * distributed, seeded per client). Default 0: closed loop at full speed.
   */
  readonly thinkTimeMs?: number;
  readonly seed?: number;
  /** Injectable clock (ms, monotonic). Default performance.now. */
  readonly now?: () => number;
  /** Called as each request settles (progress reporting); must not throw. */
  readonly onSettled?: (record: RequestRecord<R>) => void;
}

export interface RequestRecord<R> {
  readonly index: number;
  readonly key: number;
  /** ms since the run started, when the request was issued. */
  readonly start: number;
  /** ms since the run started, when it settled. */
  readonly end: number;
  readonly result?: R;
  readonly error?: unknown;
}

export interface DriveResult<R> {
  /** One record per trace entry, in trace order. */
  readonly records: RequestRecord<R>[];
  readonly elapsedMs: number;
}

/**
 * Drive a trace with C closed-loop clients sharing one cursor, so requests
 * are issued in trace order and each record carries the real start and end
 * times (which the oracle uses for its idle rule).
 */
export async function driveWorkload<R>(options: DriveOptions<R>): Promise<DriveResult<R>> {
  const { trace, concurrency, request } = options;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1)
    throw new RangeError(`drive: concurrency must be ≥ 1`);
  const now = options.now ?? (() => performance.now());
  const think = options.thinkTimeMs ?? 0;
  const records = new Array<RequestRecord<R>>(trace.length);
  const t0 = now();
  let cursor = 0;

  const worker = async (w: number): Promise<void> => {
    const random = mulberry32(((options.seed ?? 1) * 0x9e3779b1 + w) >>> 0);
    while (cursor < trace.length) {
      const index = cursor++;
      const key = trace[index] ?? 0;
      const start = now() - t0;
      let record: RequestRecord<R>;
      try {
        const result = await request(key, index);
        record = { index, key, start, end: now() - t0, result };
      } catch (error) {
        record = { index, key, start, end: now() - t0, error };
      }
      records[index] = record;
      options.onSettled?.(record);
      // Exponential think time: memoryless arrivals per client, mean `think`.
      if (think > 0) await sleep(-Math.log(1 - random()) * think);
    }
  };

  await Promise.all(
    Array.from({ length: Math.min(concurrency, Math.max(trace.length, 1)) }, (_, w) => worker(w)),
  );
  return { records, elapsedMs: now() - t0 };
}
