import { describe, expect, it } from 'vitest';
import { createMetrics, type BudgetGaugeReading, type KeepWarmReading } from '../../src/metrics.js';
import { readBudgets } from '../../src/status/budget-status.js';
import { StatusSampler } from '../../src/status/status-sampler.js';

function reading(
  label: string,
  cap: number,
  alive: number,
  idleMs?: number,
  keepWarm?: KeepWarmReading,
): BudgetGaugeReading {
  return {
    label,
    cap,
    alive: () => alive,
    learnedIdleMs: () => idleMs,
    keepWarm: keepWarm === undefined ? undefined : () => keepWarm,
  };
}

const PRICE_PER_GB = 0.0000166667;

describe('status page: tenant budget rows', () => {
  it('reads each function budget from the metrics /metrics serves, sorted by name', async () => {
    // Prepare: two budgets; counter has learned its idle lifetime and keeps keys warm.
    const metrics = createMetrics({ coldStartPricePerGb: PRICE_PER_GB });
    const pinging: KeepWarmReading = {
      pingsSent: 40,
      pingCostPico: 8_400_000,
      coldStartsAvoided: 7,
      pingsWasted: 5,
      pingsDenied: 0,
    };
    let budgets = [reading('workspace', 3, 3), reading('counter', 2_500, 12, 412.5, pinging)];
    metrics.watchBudgets(() => budgets);

    // Act
    const rows = await readBudgets(metrics.registry);

    // Assess: lifetime in seconds, null while unknown; keep-warm only where opted in.
    expect(rows).toEqual([
      {
        name: 'counter',
        alive: 12,
        cap: 2_500,
        idleLifetimeSeconds: 0.4125,
        keepWarm: { pings: 40, costUsd: 8.4e-6, coldStartsAvoided: 7 },
      },
      { name: 'workspace', alive: 3, cap: 3, idleLifetimeSeconds: null, keepWarm: null },
    ]);
    // The same figures as the scrape at the same moment.
    const scrape = await metrics.registry.metrics();
    expect(scrape).toContain('warmroute_tenant_budget_alive{function="workspace"} 3');
    expect(scrape).toContain('warmroute_idle_lifetime_seconds{function="counter"} 0.4125');
    expect(scrape).toContain('warmroute_keep_warm_invocations_total{function="counter"} 40');

    // A budget gone from the source is gone from the rows (gauges are current state).
    budgets = [reading('counter', 2_500, 0)];
    expect(await readBudgets(metrics.registry)).toEqual([
      { name: 'counter', alive: 0, cap: 2_500, idleLifetimeSeconds: null, keepWarm: null },
    ]);
  });

  it('answers no rows when no budget is watched (no PER_TENANT function invoked yet)', async () => {
    const metrics = createMetrics({ coldStartPricePerGb: PRICE_PER_GB });
    expect(await readBudgets(metrics.registry)).toEqual([]);
  });

  it('the status document carries the rows, read when it is built', async () => {
    // Prepare: a sampler over metrics whose budgets change between two documents.
    const metrics = createMetrics({ coldStartPricePerGb: PRICE_PER_GB });
    let alive = 2;
    metrics.watchBudgets(() => [reading('workspace', 3, alive)]);
    const sampler = new StatusSampler(
      {
        metrics,
        directory: {
          health: () => ({ status: 'ok', store: 'memory' }),
        },
        scheduler: {
          stats: () => ({
            running: 0,
            queued: 0,
            keysActive: 0,
            tenantsActive: 0,
            rejected: { keyBusy: 0, concurrency: 0, deadline: 0 },
          }),
        },
        version: '1',
      },
      { documentReuseMs: 0 },
    );

    // Act / Assess: each document reads the gauges afresh (no ring, no reuse of old values).
    expect((await sampler.document()).budgets).toEqual([
      { name: 'workspace', alive: 2, cap: 3, idleLifetimeSeconds: null, keepWarm: null },
    ]);
    alive = 3;
    expect((await sampler.document()).budgets.map((b) => b.alive)).toEqual([3]);
    sampler.close();
  });
});
