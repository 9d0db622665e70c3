import { MONTH_ABBREVIATIONS } from '../clock-limits.js';

/**
 * The longest wait a `Retry-After` can ask for, seconds. A longer one (a
 * misconfigured server, a date years ahead) would park the call for good;
 * one day is far beyond any deadline a caller sets, so honouring up to it
 * changes no decision, and the arithmetic stays finite.
 */
export const MAX_RETRY_AFTER_SECONDS = 86_400;

const DAY = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAY = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTH = `(${MONTH_ABBREVIATIONS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** `Sun, 06 Nov 1994 08:49:37 GMT`: the form senders must use. */
const IMF_FIXDATE = new RegExp(`^${DAY}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** `Sunday, 06-Nov-94 08:49:37 GMT`: obsolete, two-digit year. */
const RFC850_DATE = new RegExp(`^${LONG_DAY}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** `Sun Nov  6 08:49:37 1994`: obsolete, C's asctime(). */
const ASCTIME_DATE = new RegExp(`^${DAY} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

/**
 * An HTTP-date (RFC 9110 §5.6.7: IMF-fixdate and the two obsolete forms a
 * recipient must also accept), epoch ms, or undefined. Nothing else: V8's
 * `Date.parse` reads almost any text as some date ("abc 12", "Sunday 3000").
 */
function parseHttpDate(text: string, now: number): number | undefined {
  // [day of month, month name, year, hour, minute, second]
  let parts: readonly (string | undefined)[];
  let m: RegExpExecArray | null;
  if ((m = IMF_FIXDATE.exec(text)) !== null) {
    parts = m.slice(1);
  } else if ((m = RFC850_DATE.exec(text)) !== null) {
    // RFC 9110: a two-digit year more than 50 years ahead is the most recent past one.
    const nowYear = new Date(now).getUTCFullYear();
    let year = nowYear - (nowYear % 100) + Number(m[3]);
    if (year > nowYear + 50) year -= 100;
    parts = [m[1], m[2], String(year), m[4], m[5], m[6]];
  } else if ((m = ASCTIME_DATE.exec(text)) !== null) {
    parts = [m[2], m[1], m[6], m[3], m[4], m[5]];
  } else {
    return undefined;
  }
  const [day, , year, hour, minute, second] = parts.map((p) => Number(p ?? NaN));
  const monthIndex = MONTH_ABBREVIATIONS.indexOf(parts[1] as (typeof MONTH_ABBREVIATIONS)[number]);
  if (
    day === undefined ||
    year === undefined ||
    hour === undefined ||
    minute === undefined ||
    second === undefined ||
    hour > 23 ||
    minute > 59 ||
    second > 60
  ) {
    return undefined;
  }
  // RFC 9110's second may be 60 (a leap second); JavaScript time has none,
  // and Date.UTC would roll :60 over into the next minute (at the end of a
  // day into the next day, failing the check below): read it as :59.
  const ms = Date.UTC(year, monthIndex, day, hour, minute, Math.min(second, 59));
  // Date.UTC rolls 31 Feb over into March (and reads years below 100 as
  // 19xx): a date that does not exist is no date.
  const check = new Date(ms);
  return check.getUTCDate() === day &&
    check.getUTCMonth() === monthIndex &&
    check.getUTCFullYear() === year
    ? ms
    : undefined;
}

/**
 * `Retry-After` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3),
 * or a number already parsed (the AWS SDK models the header as a field of
 * its throttling exception). An array (a repeated header) counts by its
 * first value. Undefined when absent or unreadable; otherwise in
 * [0, MAX_RETRY_AFTER_SECONDS].
 */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  const raw: unknown = Array.isArray(value) ? (value as unknown[])[0] : value;
  let seconds: number;
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) return undefined;
    seconds = raw;
  } else if (typeof raw === 'string') {
    const trimmed = raw.trim();
    if (/^\d+$/.test(trimmed)) {
      seconds = Number(trimmed);
    } else {
      const date = parseHttpDate(trimmed, now);
      if (date === undefined) return undefined;
      seconds = Math.ceil((date - now) / 1000);
    }
  } else {
    return undefined;
  }
  return Math.min(Math.max(0, seconds), MAX_RETRY_AFTER_SECONDS);
}
