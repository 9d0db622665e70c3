/**
 * `Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3),
 * or a number already parsed (the AWS SDK models the header as a field of
 * its throttling exception). An array (a repeated header) counts by its
 * first value. Undefined when absent or unreadable; never negative.
 */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  const raw: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (typeof raw === 'number') return Number.isFinite(raw) ? Math.max(0, raw) : undefined;
  if (typeof raw !== 'string') return undefined;
  const trimmed = raw.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  // An HTTP date names its month; Date.parse alone would read "-1" as a year.
  if (!/[a-z]{3}/i.test(trimmed)) return undefined;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}
