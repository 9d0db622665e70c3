import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Open-loop replay of a timed trace: each request is sent at its `atMs`
 * from the start, whether or not earlier ones have answered. Idle reclaim
 * and keep-warm are about time, so a closed loop (drive.ts), which sends the
 * next request only when a client is free, would stretch the gaps a slow
 * cold start follows and change what the host reclaims.
 *
 * A timer cannot fire early, only late: each record carries its lateness
 * (actual send time − `atMs`) so a run on a loaded machine shows how far it
 * drifted from the trace instead of hiding it.
 */

export interface TimedArrival {
  /** ms from the start of the replay. */
  readonly atMs: number;
  readonly key: number;
}

export interface TimedRecord<R> {
  readonly index: number;
  readonly key: number;
  readonly atMs: number;
  /** ms since the replay started, when the request was sent. */
  readonly start: number;
  /** ms since the replay started, when it settled. */
  readonly end: number;
  readonly result?: R;
  readonly error?: unknown;
}

export interface TimedDriveOptions<R> {
  /** Sorted by `atMs`. */
  readonly arrivals: readonly TimedArrival[];
  /** Sends one request; a rejection is recorded, not thrown. */
  readonly request: (key: number, index: number) => Promise<R>;
  /** Called as each request settles (progress); must not throw. */
  readonly onSettled?: (record: TimedRecord<R>) => void;
  /** Monotonic ms. Default performance.now. */
  readonly now?: () => number;
  /** Waits `ms`. Default node:timers/promises setTimeout. */
  readonly sleep?: (ms: number) => Promise<unknown>;
}

export interface TimedDriveResult<R> {
  /** One record per arrival, in trace order. */
  readonly records: TimedRecord<R>[];
  /** From the start until the last request settled. */
  readonly elapsedMs: number;
}

export async function driveTimed<R>(options: TimedDriveOptions<R>): Promise<TimedDriveResult<R>> {
  const { arrivals, request } = options;
  const now = options.now ?? (() => performance.now());
  const wait = options.sleep ?? ((ms: number) => sleep(ms));
  for (let i = 1; i < arrivals.length; i++) {
    if ((arrivals[i]?.atMs ?? 0) < (arrivals[i - 1]?.atMs ?? 0))
      throw new RangeError(`timed drive: arrivals not sorted by atMs at ${i}`);
  }
  const records = new Array<TimedRecord<R>>(arrivals.length);
  const inFlight: Promise<void>[] = [];
  const t0 = now();

  const send = async (index: number, arrival: TimedArrival, start: number): Promise<void> => {
    let record: TimedRecord<R>;
    try {
      const result = await request(arrival.key, index);
      record = { index, key: arrival.key, atMs: arrival.atMs, start, end: now() - t0, result };
    } catch (error) {
      record = { index, key: arrival.key, atMs: arrival.atMs, start, end: now() - t0, error };
    }
    records[index] = record;
    options.onSettled?.(record);
  };

  let next = 0;
  while (next < arrivals.length) {
    const due = arrivals[next]?.atMs ?? 0;
    const ahead = due - (now() - t0);
    if (ahead > 0) await wait(ahead);
    // Everything due by now goes out in this turn, in trace order.
    const at = now() - t0;
    while (next < arrivals.length && (arrivals[next]?.atMs ?? 0) <= at) {
      const arrival = arrivals[next] as TimedArrival;
      inFlight.push(send(next, arrival, now() - t0));
      next++;
    }
  }
  await Promise.all(inFlight);
  return { records, elapsedMs: now() - t0 };
}
