import { describe, expect, it } from 'vitest';
import {
  formatCount,
  formatMs,
  formatPercent,
  formatRate,
  formatTime,
  formatUsd,
  rawValue,
  windowLabel,
} from '../../status-page/src/format.js';

/** The status page's number formats (status-page/src/format.ts), as people read them. */
describe('status page formats', () => {
  it('shows milliseconds with more decimals for small values and seconds past 10 s', () => {
    expect(formatMs(null)).toBe('—');
    expect(formatMs(0.0421)).toBe('0.042 ms');
    expect(formatMs(1.234)).toBe('1.23 ms');
    expect(formatMs(99.99)).toBe('99.99 ms');
    expect(formatMs(250.04)).toBe('250.0 ms');
    expect(formatMs(9_999)).toBe('9999.0 ms');
    expect(formatMs(12_345)).toBe('12.3 s');
  });

  it('shows dollars: $0, cents to 4 decimals, fractions of a cent to 6, no trailing zeros', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(12.5)).toBe('$12.50');
    expect(formatUsd(0.05)).toBe('$0.05');
    expect(formatUsd(0.012345)).toBe('$0.0123');
    expect(formatUsd(0.0000021)).toBe('$0.000002');
    expect(formatUsd(0.0001)).toBe('$0.0001');
  });

  it('shows ratios as percentages and rates with fewer decimals as they grow', () => {
    expect(formatPercent(null)).toBe('—');
    expect(formatPercent(0.8761)).toBe('87.6%');
    expect(formatPercent(1)).toBe('100.0%');
    expect(formatRate(null)).toBe('—');
    expect(formatRate(0.5)).toBe('0.50/s');
    expect(formatRate(12.34)).toBe('12.3/s');
    expect(formatRate(1_500)).toBe('1500/s');
  });

  it('shows counts without fractions, and keeps raw values exact for data-value', () => {
    expect(formatCount(2.6)).toBe(formatCount(3));
    expect(formatCount(0)).toBe('0');
    expect(rawValue(null)).toBe('');
    expect(rawValue(0.1 + 0.2)).toBe('0.30000000000000004');
    expect(rawValue('ok')).toBe('ok');
  });

  it('shows a time of day for an ISO date and the text itself when it is not one', () => {
    const iso = '2026-12-05T08:00:00.000Z';
    expect(formatTime(iso)).toBe(new Date(iso).toLocaleTimeString());
    expect(formatTime('not a date')).toBe('not a date');
  });

  it('says what the figures cover: the time since start while younger than the window, else the window', () => {
    const startedAt = '2026-12-05T08:00:00.000Z';
    const at = (minutes: number): string =>
      new Date(Date.parse(startedAt) + minutes * 60_000).toISOString();
    const since = `since ${new Date(startedAt).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`;

    expect(windowLabel({ startedAt, generatedAt: at(0), windowMs: 900_000 })).toBe(since);
    expect(windowLabel({ startedAt, generatedAt: at(14.9), windowMs: 900_000 })).toBe(since);
    expect(windowLabel({ startedAt, generatedAt: at(15), windowMs: 900_000 })).toBe('last 15 min');
    expect(windowLabel({ startedAt: 'garbage', generatedAt: at(1), windowMs: 900_000 })).toBe(
      'last 15 min',
    );
  });
});
