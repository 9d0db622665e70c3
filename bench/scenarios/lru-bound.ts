import {
  timeOrdered,
  type OracleOptions,
  type OracleRequest,
  type OracleResult,
} from '../oracle.js';

/**
 * What a perfect affinity router gets on a trace when the host evicts the
 * least recently used environment at its cap (as the local host does, and
 * as Lambda is assumed to) instead of Belady's farthest-next-use. Same
 * idle and first-use rules as the oracle, so oracle − LRU bound is the part
 * of the gap no router can close: it belongs to the host's eviction policy.
 */
export function computeLruBound(
  trace: readonly OracleRequest[],
  options: OracleOptions,
): OracleResult {
  const { idleTimeoutMs, capacity } = options;
  if (!Number.isSafeInteger(capacity) || capacity < 1)
    throw new RangeError(`lru: capacity must be ≥ 1, got ${capacity}`);
  const reqs = timeOrdered(trace);
  // Map order = recency: the first entry is the least recently used environment.
  const resident = new Map<number, true>();
  const lastEnd = new Map<number, number>();
  let hits = 0;
  let coldMisses = 0;
  let idleMisses = 0;
  let capacityMisses = 0;
  for (const r of reqs) {
    const prev = lastEnd.get(r.key);
    if (prev === undefined) coldMisses++;
    else if (r.start - prev > idleTimeoutMs) idleMisses++;
    else if (resident.has(r.key)) hits++;
    else capacityMisses++;
    lastEnd.set(r.key, Math.max(r.end ?? r.start, prev ?? -Infinity));
    resident.delete(r.key);
    // Expired environments sit at the front (least recent), so this frees them first.
    if (resident.size >= capacity) {
      const lru = resident.keys().next();
      if (lru.done !== true) resident.delete(lru.value);
    }
    resident.set(r.key, true);
  }
  const n = reqs.length;
  return {
    requests: n,
    hits,
    coldMisses,
    idleMisses,
    capacityMisses,
    hitRate: n === 0 ? NaN : hits / n,
  };
}
