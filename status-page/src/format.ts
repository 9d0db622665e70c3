/**
 * Numbers as people read them. Every figure also carries its raw value in
 * `data-value` (see dom.ts), so these may round freely.
 */

const DASH = '—';
const counts = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

/** Raw value for `data-value`: `String(n)`, or "" for null. */
export function rawValue(value: number | string | null): string {
  return value === null ? '' : String(value);
}

export function formatCount(n: number): string {
  return counts.format(n);
}

/** A ratio 0..1 as a percentage with one decimal. */
export function formatPercent(ratio: number | null): string {
  return ratio === null ? DASH : `${(ratio * 100).toFixed(1)}%`;
}

/** Milliseconds with 1 to 3 decimals: more for small values, where they matter; seconds past 10 s. */
export function formatMs(ms: number | null): string {
  if (ms === null) return DASH;
  if (ms >= 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms >= 100) return `${ms.toFixed(1)} ms`;
  if (ms >= 1) return `${ms.toFixed(2)} ms`;
  return `${ms.toFixed(3)} ms`;
}

/** US dollars; cold-start charges are often fractions of a cent, so small sums keep up to 6 decimals. */
export function formatUsd(usd: number): string {
  if (usd === 0) return '$0';
  if (usd >= 1) return `$${usd.toFixed(2)}`;
  const digits = usd >= 0.01 ? 4 : 6;
  // Trailing zeros add width, not information.
  return `$${usd.toFixed(digits).replace(/0+$/, '').replace(/\.$/, '')}`;
}

/** Requests per second, for chart axes and legends. */
export function formatRate(perSecond: number | null): string {
  if (perSecond === null) return DASH;
  if (perSecond >= 100) return `${perSecond.toFixed(0)}/s`;
  if (perSecond >= 10) return `${perSecond.toFixed(1)}/s`;
  return `${perSecond.toFixed(2)}/s`;
}

export function formatTime(iso: string): string {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString();
}

/**
 * What the figures cover: the window, or the time since the gateway started
 * while it is younger than the window (a restarted gateway's zeros are not
 * "the last 15 minutes").
 */
export function windowLabel(doc: {
  readonly generatedAt: string;
  readonly startedAt: string;
  readonly windowMs: number;
}): string {
  const age = Date.parse(doc.generatedAt) - Date.parse(doc.startedAt);
  if (age < doc.windowMs) {
    const since = new Date(doc.startedAt);
    if (!Number.isNaN(since.getTime()))
      return `since ${since.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`;
  }
  return `last ${String(Math.round(doc.windowMs / 60_000))} min`;
}
