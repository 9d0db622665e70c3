/**
 * Prometheus's `histogram_quantile` over one cumulative bucket vector, so
 * the page's p50/p95 agree with what a dashboard computes from the same
 * `warmroute_request_duration_seconds` buckets: linear interpolation inside
 * the bucket the rank falls in, the lowest bucket starting at 0, and a rank
 * in the `+Inf` bucket answered with the largest finite bound (Prometheus
 * cannot know more either).
 *
 * `upperBounds`: the finite bounds, ascending. `cumulative`: one count per
 * bound plus the `+Inf` count last (length `upperBounds.length + 1`).
 * Returns null when there is no observation (Prometheus's NaN, which JSON
 * cannot carry).
 */
export function histogramQuantile(
  q: number,
  upperBounds: readonly number[],
  cumulative: ArrayLike<number>,
): number | null {
  const n = upperBounds.length;
  if (cumulative.length !== n + 1)
    throw new RangeError(
      `expected ${String(n + 1)} bucket counts, got ${String(cumulative.length)}`,
    );
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be within [0, 1], got ${String(q)}`);
  const total = cumulative[n] as number;
  if (!(total > 0) || n === 0) return null;
  const rank = q * total;
  let b = 0;
  while (b < n && (cumulative[b] as number) < rank) b++;
  if (b === n) return upperBounds[n - 1] as number;
  const end = upperBounds[b] as number;
  if (b === 0 && end <= 0) return end;
  const start = b === 0 ? 0 : (upperBounds[b - 1] as number);
  const below = b === 0 ? 0 : (cumulative[b - 1] as number);
  const inBucket = (cumulative[b] as number) - below;
  // Only q = 0 can land in an empty bucket; its answer is the bucket's start.
  if (!(inBucket > 0)) return start;
  return start + (end - start) * ((rank - below) / inBucket);
}
