import type { StatusPoint } from '../../src/status/status-document.js';

/**
 * The partial last point covers the time since the sampler's last step,
 * which can be milliseconds: 3 requests 2 ms after a step would read as
 * 1,500/s. Below this length the point has no rate; the charts leave it out
 * until it has grown (the page polls every 2 s, the step is 5 s).
 */
export const MIN_PARTIAL_SECONDS = 1;

/** `count` per second of the point's interval; null for an empty interval or a partial one too short to tell. */
export function perSecond(count: (p: StatusPoint) => number): (p: StatusPoint) => number | null {
  return (p) => {
    if (!(p.seconds > 0)) return null;
    if (p.partial && p.seconds < MIN_PARTIAL_SECONDS) return null;
    return count(p) / p.seconds;
  };
}

/**
 * The latest value a series has: its last non-null one, or null. The legend
 * shows it as "now" when the cursor is off the chart, so a partial point
 * left out of a rate chart does not blank the legend.
 */
export function latestValue(data: ArrayLike<number | null | undefined>): number | null {
  for (let i = data.length - 1; i >= 0; i--) {
    const value = data[i];
    if (value !== null && value !== undefined) return value;
  }
  return null;
}
