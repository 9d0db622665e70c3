import type { StatusDocument } from '../../src/status/status-document.js';
import { byTestId, setFigure } from './dom.js';
import {
  formatCount,
  formatMs,
  formatPercent,
  formatTime,
  formatUsd,
  rawValue,
  windowLabel,
} from './format.js';

function count(testId: string, n: number): void {
  setFigure(byTestId(testId), rawValue(n), formatCount(n));
}

function ms(testId: string, value: number | null): void {
  setFigure(byTestId(testId), rawValue(value), formatMs(value));
}

/** The cards at the top: window totals, the latest queue figures, directory health. */
export function renderSummary(doc: StatusDocument): void {
  const { totals } = doc;
  count('total-hit', totals.requests.hit);
  count('total-rehydrated', totals.requests.rehydrated);
  count('total-fresh', totals.requests.fresh);
  count('total-unknown', totals.requests.unknown);
  setFigure(byTestId('total-hit-ratio'), rawValue(totals.hitRatio), formatPercent(totals.hitRatio));
  count('total-cold-starts', totals.coldStarts);
  setFigure(
    byTestId('total-cold-start-cost'),
    rawValue(totals.coldStartCostUsd),
    formatUsd(totals.coldStartCostUsd),
  );
  count('total-errors', totals.errors);
  count('total-rejections', totals.rejections);
  ms('hit-latency-p50', totals.hitLatency.p50Ms);
  ms('hit-latency-p95', totals.hitLatency.p95Ms);
  ms('cold-latency-p50', totals.coldLatency.p50Ms);
  ms('cold-latency-p95', totals.coldLatency.p95Ms);

  const last = doc.series[doc.series.length - 1];
  for (const [testId, value] of [
    ['queue-depth', last?.queueDepth ?? null],
    ['inflight', last?.inflight ?? null],
  ] as const) {
    setFigure(byTestId(testId), rawValue(value), value === null ? '—' : formatCount(value));
  }

  renderDirectory(doc);
  byTestId('version').textContent = `v${doc.version}`;
  byTestId('window').textContent = windowLabel(doc);
}

/** Drawn last: the browser test waits on this attribute, so everything else is drawn by then. */
export function renderLastUpdated(doc: StatusDocument): void {
  const updated = byTestId('last-updated');
  updated.setAttribute('datetime', doc.generatedAt);
  setFigure(updated, doc.generatedAt, formatTime(doc.generatedAt));
}

function renderDirectory(doc: StatusDocument): void {
  const { directory } = doc;
  const status = byTestId('directory-status');
  setFigure(status, directory.status, directory.status === 'ok' ? 'OK' : 'Degraded');
  status.dataset.state = directory.status;
  const since = byTestId('directory-since');
  setFigure(
    since,
    rawValue(directory.degradedSince),
    directory.degradedSince === null ? '—' : formatTime(directory.degradedSince),
  );
  byTestId('directory-store').textContent = directory.store === 'redis' ? 'Redis' : 'in memory';
  const reason = byTestId('directory-reason');
  reason.textContent = directory.reason ?? '';
  reason.hidden = directory.reason === null;
}
