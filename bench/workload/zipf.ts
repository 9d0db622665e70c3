/**
 * A Zipf(s) sampler over `keys` ranks: rank r (0-based) is drawn with
 * probability proportional to 1 / (r + 1)^s. Inverse-CDF over a precomputed
 * cumulative table (binary search), so each draw is O(log K) and exact for
 * any s ≥ 0, including s ≤ 1 where rejection samplers do not apply.
 */
export function zipfSampler(keys: number, s: number, random: () => number): () => number {
  if (!Number.isSafeInteger(keys) || keys < 1)
    throw new RangeError(`zipf: keys must be a positive integer, got ${keys}`);
  if (!(s >= 0) || !Number.isFinite(s))
    throw new RangeError(`zipf: s must be a finite number ≥ 0, got ${s}`);
  const cdf = new Float64Array(keys);
  let total = 0;
  for (let r = 0; r < keys; r++) {
    total += 1 / Math.pow(r + 1, s);
    cdf[r] = total;
  }
  return () => {
    const u = random() * total;
    let lo = 0;
    let hi = keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((cdf[mid] ?? total) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
}
