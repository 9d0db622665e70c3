import type { StatusDocument } from '../../src/status/status-document.js';
import { byId, element, figureCell } from './dom.js';
import { formatCount, formatMs, formatPercent, formatUsd, rawValue } from './format.js';

function countCell(field: string, n: number): HTMLTableCellElement {
  return figureCell(field, rawValue(n), formatCount(n));
}

function nameCell(name: string): HTMLTableCellElement {
  const cell = element('th', name);
  cell.scope = 'row';
  return cell;
}

/** Replaces the rows of `#tableId`'s body; its "none yet" note shows when there are none. */
function fillTable(tableId: string, rows: HTMLTableRowElement[]): void {
  const table = byId(tableId, HTMLTableElement);
  const body = table.tBodies[0] ?? table.createTBody();
  body.replaceChildren(...rows);
  table.hidden = rows.length === 0;
  const empty = document.querySelector<HTMLElement>(`[data-empty-for="${tableId}"]`);
  if (empty !== null) empty.hidden = rows.length > 0;
}

export function renderFunctions(doc: StatusDocument): void {
  fillTable(
    'functions',
    doc.functions.map((fn) => {
      const row = element('tr');
      row.dataset.function = fn.name;
      const { hit, rehydrated, fresh, unknown } = fn.requests;
      row.append(
        nameCell(fn.name),
        countCell('requests', hit + rehydrated + fresh + unknown),
        figureCell('hit-ratio', rawValue(fn.hitRatio), formatPercent(fn.hitRatio)),
        countCell('cold-starts', fn.coldStarts),
        countCell('rehydrations', fn.rehydrations),
        countCell('errors', fn.errors),
      );
      return row;
    }),
  );
}

function reasonRows(
  reasons: StatusDocument['missReasons'],
  attribute: 'missReason' | 'rejectionReason',
): HTMLTableRowElement[] {
  return reasons.map(({ reason, count }) => {
    const row = element('tr');
    row.dataset[attribute] = reason;
    row.append(nameCell(reason), countCell('count', count));
    return row;
  });
}

export function renderReasons(doc: StatusDocument): void {
  fillTable('miss-reasons', reasonRows(doc.missReasons, 'missReason'));
  fillTable('rejection-reasons', reasonRows(doc.rejectionReasons, 'rejectionReason'));
}

/** The embedded local host's environments; the whole section is hidden without one. */
export function renderLocalHost(doc: StatusDocument): void {
  const section = byId('local-host');
  section.hidden = doc.localHost === undefined;
  fillTable(
    'local-host-functions',
    (doc.localHost?.functions ?? []).map((fn) => {
      const row = element('tr');
      row.dataset.hostFunction = fn.name;
      row.append(
        nameCell(fn.name),
        countCell('live', fn.live),
        countCell('idle', fn.idle),
        countCell('evictions', fn.evictions),
      );
      return row;
    }),
  );
}

/**
 * Each tenant-isolated function's budget now: estimated alive tenant
 * environments against the cap, the learned idle lifetime, and keep-warm
 * totals since start where a route opted in.
 */
export function renderBudgets(doc: StatusDocument): void {
  fillTable(
    'tenant-budget',
    doc.budgets.map((b) => {
      const row = element('tr');
      row.dataset.budgetFunction = b.name;
      const use = b.cap > 0 ? b.alive / b.cap : null;
      const idleMs = b.idleLifetimeSeconds === null ? null : b.idleLifetimeSeconds * 1000;
      const kw = b.keepWarm;
      row.append(
        nameCell(b.name),
        countCell('alive', b.alive),
        countCell('cap', b.cap),
        figureCell('use', rawValue(use), formatPercent(use)),
        figureCell(
          'idle-lifetime',
          rawValue(idleMs),
          idleMs === null ? 'learning' : formatMs(idleMs),
        ),
        figureCell(
          'keep-warm-pings',
          rawValue(kw?.pings ?? null),
          kw === null ? '—' : formatCount(kw.pings),
        ),
        figureCell(
          'keep-warm-cost',
          rawValue(kw?.costUsd ?? null),
          kw === null ? '—' : formatUsd(kw.costUsd),
        ),
        figureCell(
          'cold-starts-avoided',
          rawValue(kw?.coldStartsAvoided ?? null),
          kw === null ? '—' : formatCount(kw.coldStartsAvoided),
        ),
      );
      return row;
    }),
  );
}
