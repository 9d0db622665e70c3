import { quantile, rate, timeseriesPanel, warmrouteDashboard } from '../panels.js';
import type { ClassicDashboard } from '../panels.js';

const cost = rate('warmroute_cold_start_cost_usd_total', { fn: true });
const coldStarts = rate('warmroute_cold_starts_total', { fn: true });
const invocations = rate('warmroute_invocations_total', { fn: true });
const keepWarmCost = rate('warmroute_keep_warm_cost_usd_total', { fn: true });
const keepWarmAvoided = rate('warmroute_keep_warm_cold_starts_avoided_total', { fn: true });
/** The average price of one cold start in the interval; no value in an interval without any. */
const coldStartPrice = `(sum by (function) (${cost}) / (sum by (function) (${coldStarts}) > 0))`;

/** What cold starts cost, and what warm state saved. */
export function costDashboard(): ClassicDashboard {
  return warmrouteDashboard(
    'warmroute-cost',
    'warmroute / Cost',
    'Estimated cold-start cost of warmroute traffic and what the hit ratio saves (docs/dashboards.md).',
  )
    .withPanel(
      timeseriesPanel({
        title: 'Cold-start cost per hour',
        description:
          "Estimated spend on new tenant environments, in USD per hour at the current rate, per function: configured memory (GB) times the configured price per GB, per cold start. It is an estimate from the gateway's settings, not a bill; WarmrouteColdStartCostOverBudget compares the 1 h rate with the budget.",
        unit: 'currencyUSD',
        stacked: true,
        targets: [{ expr: `sum by (function) (${cost}) * 3600`, legend: '{{function}}' }],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Cold-start cost per 1,000 requests',
        description:
          'Estimated cold-start spend in USD for every 1,000 invocations, per function: the cost rate divided by the request rate. Unlike cost per hour it does not grow with traffic, so a rise means a worse hit ratio, not more load.',
        unit: 'currencyUSD',
        targets: [
          {
            expr: `sum by (function) (${cost}) / (sum by (function) (${invocations}) > 0) * 1000`,
            legend: '{{function}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Cold starts per 1,000 requests',
        description:
          'New execution environments for every 1,000 invocations, per function. 1,000 would be a cold start on every request (what fresh mode without affinity costs); near 0 is every key finding a warm environment.',
        unit: 'short',
        targets: [
          {
            expr: `sum by (function) (${coldStarts}) / (sum by (function) (${invocations}) > 0) * 1000`,
            legend: '{{function}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Rehydration duration p95',
        description:
          'The 95th percentile of the time functions report spending restoring state from a snapshot, per function. This is the price of a miss that still had a snapshot; WarmrouteRehydrationSlow fires above its threshold for 10 minutes.',
        unit: 's',
        targets: [
          {
            expr: quantile(0.95, 'warmroute_rehydration_duration_seconds', ['function'], {
              fn: true,
            }),
            legend: '{{function}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Saved by warm state, per hour',
        description:
          "Estimated USD per hour that cold-starting every request would have cost on top of today's cold starts, per function: (requests - cold starts) per second times the average cost of one cold start, times 3600. It needs at least one cold start in the interval to know that average, so it shows no value in intervals without any.",
        unit: 'currencyUSD',
        stacked: true,
        targets: [
          {
            expr: [
              `(sum by (function) (${invocations}) - sum by (function) (${coldStarts}))`,
              `* ${coldStartPrice}`,
              `* 3600`,
            ].join('\n'),
            legend: '{{function}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Keep-warm vs cold-start cost per hour',
        description:
          "Per function, USD per hour at the current rate: what keep-warm pings cost (each priced as a request plus 1 ms billed) next to what cold starts cost. Keep-warm is opt-in per route: it pings a key's environment only when that is expected to cost less than the key's next cold start plus rehydration, within a per-minute budget. A keep-warm line that stays above the savings on the next panel means its predictions are not paying off.",
        unit: 'currencyUSD',
        targets: [
          { expr: `sum by (function) (${keepWarmCost}) * 3600`, legend: 'keep-warm {{function}}' },
          { expr: `sum by (function) (${cost}) * 3600`, legend: 'cold starts {{function}}' },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Keep-warm net saving per hour',
        description:
          "Per function, USD per hour: the cold starts keep-warm avoided (a key that came back after the learned idle lifetime and found its environment alive only because of the pings) times the average cost of one cold start in the interval, less the pings' cost. Below zero keep-warm costs more than it saves in cold-start charges alone; the rehydration time it also saves is not priced here. No value in intervals without a cold start (the average is then unknown).",
        unit: 'currencyUSD',
        targets: [
          {
            expr: [
              `(`,
              `  sum by (function) (${keepWarmAvoided}) * ${coldStartPrice}`,
              `  - sum by (function) (${keepWarmCost})`,
              `) * 3600`,
            ].join('\n'),
            legend: '{{function}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Keep-warm pings',
        description:
          'Per function, per second: pings sent; cold starts they avoided; pings wasted (the key came back before its environment would have died, after the pings stopped, cold anyway, or never); pings the per-minute budget refused. Many wasted per avoided is the planner misjudging when keys return; sustained denials mean the budget, not the cost test, limits keep-warm.',
        unit: 'ops',
        targets: [
          {
            expr: `sum by (function) (${rate('warmroute_keep_warm_invocations_total', { fn: true })})`,
            legend: 'sent {{function}}',
          },
          { expr: `sum by (function) (${keepWarmAvoided})`, legend: 'avoided {{function}}' },
          {
            expr: `sum by (function) (${rate('warmroute_keep_warm_wasted_total', { fn: true })})`,
            legend: 'wasted {{function}}',
          },
          {
            expr: `sum by (function) (${rate('warmroute_keep_warm_denied_total', { fn: true })})`,
            legend: 'denied {{function}}',
          },
        ],
      }),
    )
    .build();
}
