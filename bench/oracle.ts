/**
 * The best hit rate any routing policy could reach on a trace, under the
 * host's real limits: an idle eviction time and a cap on environments.
 *
 * Model (one environment per key is enough for the optimum: a router that
 * serializes per key never needs a second one):
 * - a key's first request misses (cold);
 * - a request whose key was last used (end of its latest earlier request)
 *   more than `idleTimeoutMs` before this request started misses (idle): the
 *   host evicted that environment whatever the router did;
 * - capacity misses are those of Belady's MIN with `capacity` environments:
 *   when a new environment is needed and the cap is reached, evict the one
 *   whose key is next used farthest in the future. An environment whose next
 *   use will be an idle miss anyway counts as never used again.
 *
 * Why MIN stays optimal with idle expiry: a key's expiry depends only on its
 * own request times, which are the same under every policy. Renaming a key
 * after each idle gap (key, epoch) turns the problem into plain demand paging
 * on the renamed trace, where MIN is optimal; "next use = never" for a key
 * whose next request is an idle miss is exactly that renaming.
 *
 * Cost O(N log N) with a lazy-deletion max-heap (N pushes at most).
 */

export interface OracleRequest {
  readonly key: number;
  /** When the request started (ms, any origin). */
  readonly start: number;
  /** When it ended; defaults to `start`. The idle clock runs from here. */
  readonly end?: number;
}

export interface OracleOptions {
  /** An environment unused for longer than this is gone (the host's idle eviction). */
  readonly idleTimeoutMs: number;
  /** Most environments alive at once (the host's environment cap). */
  readonly capacity: number;
}

export interface OracleResult {
  readonly requests: number;
  readonly hits: number;
  readonly coldMisses: number;
  readonly idleMisses: number;
  readonly capacityMisses: number;
  /** hits / requests (NaN for an empty trace). */
  readonly hitRate: number;
}

/** Binary max-heap on (priority, stamp) for MIN's "farthest next use". */
class MaxHeap {
  private readonly prio: number[] = [];
  private readonly key: number[] = [];
  private readonly stamp: number[] = [];

  get size(): number {
    return this.prio.length;
  }

  push(priority: number, key: number, stamp: number): void {
    this.prio.push(priority);
    this.key.push(key);
    this.stamp.push(stamp);
    let i = this.prio.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.above(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  /** Remove the top; returns [key, stamp]. */
  pop(): [number, number] | undefined {
    const n = this.prio.length;
    if (n === 0) return undefined;
    const top: [number, number] = [this.key[0] ?? -1, this.stamp[0] ?? -1];
    this.swap(0, n - 1);
    this.prio.pop();
    this.key.pop();
    this.stamp.pop();
    let i = 0;
    const m = n - 1;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < m && this.above(l, best)) best = l;
      if (r < m && this.above(r, best)) best = r;
      if (best === i) break;
      this.swap(i, best);
      i = best;
    }
    return top;
  }

  private above(a: number, b: number): boolean {
    return (this.prio[a] ?? 0) > (this.prio[b] ?? 0);
  }

  private swap(a: number, b: number): void {
    for (const arr of [this.prio, this.key, this.stamp]) {
      const t = arr[a] ?? 0;
      arr[a] = arr[b] ?? 0;
      arr[b] = t;
    }
  }
}

/** Requests in time order (stable on ties): the order the host saw them in. */
export function timeOrdered(trace: readonly OracleRequest[]): OracleRequest[] {
  return trace
    .map((r, i) => ({ r, i }))
    .sort((a, b) => a.r.start - b.r.start || a.i - b.i)
    .map(({ r }) => r);
}

export function computeOracle(
  trace: readonly OracleRequest[],
  options: OracleOptions,
): OracleResult {
  const { idleTimeoutMs, capacity } = options;
  if (!Number.isSafeInteger(capacity) || capacity < 1)
    throw new RangeError(`oracle: capacity must be ≥ 1, got ${capacity}`);
  if (!(idleTimeoutMs >= 0)) throw new RangeError(`oracle: idleTimeoutMs must be ≥ 0`);
  const reqs = timeOrdered(trace);
  const n = reqs.length;

  // Pass 1: classify each request's relation to its key's previous use.
  const kind = new Uint8Array(n); // 0 reusable, 1 first use, 2 idle gap
  const lastEnd = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const r = reqs[i] as OracleRequest;
    const prev = lastEnd.get(r.key);
    if (prev === undefined) kind[i] = 1;
    else if (r.start - prev > idleTimeoutMs) kind[i] = 2;
    const end = r.end ?? r.start;
    lastEnd.set(r.key, prev === undefined ? end : Math.max(prev, end));
  }

  // Pass 2 (backwards): next use of the same key, Infinity if none or if it is an idle miss.
  const nextUse = new Float64Array(n);
  const seen = new Map<number, number>();
  for (let i = n - 1; i >= 0; i--) {
    const key = (reqs[i] as OracleRequest).key;
    const j = seen.get(key);
    nextUse[i] = j === undefined || kind[j] !== 0 ? Infinity : j;
    seen.set(key, i);
  }

  // Pass 3: MIN. `resident` maps key → stamp of its live heap entry.
  const resident = new Map<number, number>();
  const heap = new MaxHeap();
  let hits = 0;
  let coldMisses = 0;
  let idleMisses = 0;
  let capacityMisses = 0;
  for (let i = 0; i < n; i++) {
    const key = (reqs[i] as OracleRequest).key;
    const k = kind[i];
    if (k === 0 && resident.has(key)) {
      hits++;
    } else {
      if (k === 1) coldMisses++;
      else if (k === 2) idleMisses++;
      else capacityMisses++;
      // A key still resident here holds an expired environment: reuse its slot.
      if (!resident.has(key) && resident.size >= capacity) {
        for (;;) {
          const top = heap.pop();
          if (top === undefined) break;
          if (resident.get(top[0]) === top[1]) {
            resident.delete(top[0]);
            break;
          }
        }
      }
    }
    resident.set(key, i);
    heap.push(nextUse[i] ?? Infinity, key, i);
  }

  return {
    requests: n,
    hits,
    coldMisses,
    idleMisses,
    capacityMisses,
    hitRate: n === 0 ? NaN : hits / n,
  };
}
