import type { LocalHost } from '../localhost/local-host.js';
import { BoundedLabel, MAX_FUNCTION_LABELS, OTHER_LABEL } from '../invoker/metric-labels.js';
import type { LocalHostFunctionStatus } from './status-document.js';

export type LocalHostSource = Pick<LocalHost, 'environments' | 'stats'>;

/**
 * The embedded local host's environments per function, now. Read when a
 * document is made, not sampled: the page shows the current pool, and the
 * pool's own counters (evictions) are already cumulative. Only the function
 * name and the environment's state are read: an environment's tenant ID
 * and id never reach the document. `names` caps the rows; pass the same one
 * to every call so that a function named once stays named.
 */
export function localHostStatus(
  host: LocalHostSource,
  names: BoundedLabel = new BoundedLabel(new Set([OTHER_LABEL]), MAX_FUNCTION_LABELS),
): { readonly functions: readonly LocalHostFunctionStatus[] } {
  const rows = new Map<string, { live: number; idle: number; evictions: number }>();
  const rowOf = (name: string): { live: number; idle: number; evictions: number } => {
    const key = names.value(name);
    let row = rows.get(key);
    if (row === undefined) {
      row = { live: 0, idle: 0, evictions: 0 };
      rows.set(key, row);
    }
    return row;
  };
  // The host's functions (configuration order) are named before its environments (an order
  // that changes with traffic): past the cap, which functions fold into `other` stays the same.
  for (const [name, stats] of Object.entries(host.stats().functions)) {
    const evictions = Number.isFinite(stats.evictions) ? stats.evictions : 0;
    rowOf(name).evictions += evictions;
  }
  for (const env of host.environments()) {
    const row = rowOf(env.function);
    row.live += 1;
    if (env.state === 'idle') row.idle += 1;
  }
  return {
    functions: [...rows]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, row]) => ({ name, ...row })),
  };
}
