import { STATUS_POLL_MS, type StatusDocument } from '../../src/status/status-document.js';
import { Charts } from './charts.js';
import { byTestId } from './dom.js';
import { ExplainBox } from './explain.js';
import { Poller } from './poller.js';
import { renderLastUpdated, renderSummary } from './render-summary.js';
import { renderBudgets, renderFunctions, renderLocalHost, renderReasons } from './render-tables.js';
import { fetchStatus } from './status-client.js';
import { setUpTheme } from './theme.js';

const MAX_BACKOFF_MS = 30_000;

const charts = new Charts();
const pollError = byTestId('poll-error');

function render(doc: StatusDocument): void {
  renderSummary(doc);
  renderFunctions(doc);
  renderReasons(doc);
  renderBudgets(doc);
  renderLocalHost(doc);
  charts.update(doc);
  renderLastUpdated(doc);
}

setUpTheme(() => {
  charts.restyle();
});
new ExplainBox();

new Poller({
  periodMs: STATUS_POLL_MS,
  maxBackoffMs: MAX_BACKOFF_MS,
  poll: async () => {
    render(await fetchStatus());
  },
  onFailure: (error, retryInMs) => {
    const why = error instanceof Error ? error.message : 'unknown error';
    pollError.textContent = `Cannot update: ${why}. Retrying in ${Math.round(retryInMs / 1000)} s; the figures below may be stale.`;
    pollError.hidden = false;
  },
  onRecovery: () => {
    pollError.hidden = true;
    pollError.textContent = '';
  },
  visibility: {
    isHidden: () => document.visibilityState === 'hidden',
    onChange: (listener) => {
      document.addEventListener('visibilitychange', listener);
    },
  },
  timers: {
    setTimeout: (callback, ms) => window.setTimeout(callback, ms),
    clearTimeout: (id) => {
      window.clearTimeout(id);
    },
  },
}).start();
