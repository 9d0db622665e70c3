import {
  heatmapPanel,
  quantile,
  range,
  rate,
  sel,
  timeseriesPanel,
  warmrouteDashboard,
} from '../panels.js';
import type { ClassicDashboard } from '../panels.js';
import { ratio } from '../rules.js';

const invocations = 'warmroute_invocations_total';

/** Is warm state being found, how fast are requests, and what fails: the page to open first. */
export function overviewDashboard(): ClassicDashboard {
  return warmrouteDashboard(
    'warmroute-overview',
    'warmroute / Overview',
    'Warm-state hit ratio, state mix, latency and errors of the warmroute gateway (docs/dashboards.md).',
  )
    .withPanel(
      timeseriesPanel({
        title: 'Hit ratio by function and route',
        description:
          'Share of invocations whose warm state was found in the execution environment (state="hit"), per function and route. 1 is every request warm; a drop means keys are landing on environments that do not hold their state (see the miss reasons panel for why). The WarmrouteHitRatioLow alert judges the same ratio over 1 h.',
        unit: 'percentunit',
        max: 1,
        targets: [
          {
            expr: ratio(
              'function, route',
              rate(invocations, { fn: true, match: 'state="hit"' }),
              rate(invocations, { fn: true }),
            ),
            legend: '{{function}} {{route}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'State mix',
        description:
          'Invocations per second by warm state, stacked: hit (state was in memory), rehydrated (restored from a snapshot), fresh (started without state) and unknown (the function sent no warm report, or the invocation failed, was refused or was cancelled before it could report). The stack height is the total request rate.',
        unit: 'reqps',
        stacked: true,
        targets: [
          {
            expr: `sum by (state) (${rate(invocations, { fn: true })})`,
            legend: '{{state}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Miss reasons',
        description:
          'Invocations per second that did not hit, by the reason the function reported: first-use (a new environment), released (the gateway moved the key), stale (an older state version), conflict (two writers), none (a fresh start), unknown (no reason given). A rise in released or first-use with steady traffic points at environment churn.',
        unit: 'reqps',
        stacked: true,
        targets: [
          {
            expr: `sum by (reason) (${rate('warmroute_state_misses_total', { fn: true })})`,
            legend: '{{reason}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Request latency by state (p50 / p95 / p99)',
        description:
          'End-to-end gateway request duration quantiles per warm state, estimated from histogram buckets. Hits should sit far below rehydrated and fresh; the gap is what warm state buys. Quantiles interpolate inside a bucket, so read them as approximate.',
        unit: 's',
        targets: [0.5, 0.95, 0.99].map((q) => ({
          expr: quantile(q, 'warmroute_request_duration_seconds', ['state'], { fn: true }),
          legend: `p${q * 100} {{state}}`,
        })),
      }),
    )
    .withPanel(
      heatmapPanel({
        title: 'Request latency heatmap',
        description:
          'Requests per latency bucket over time, all states together: each column is one interval, darker cells hold more requests. Two bands usually show, warm hits low and cold or rehydrated starts high; the upper band thinning is the hit ratio at work.',
        unit: 's',
        targets: [
          {
            expr: `sum by (le) (increase(${sel('warmroute_request_duration_seconds_bucket', { fn: true })}${range}))`,
            legend: '{{le}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Routing overhead p99',
        description:
          "99th percentile of the time a request spends in the gateway itself, outside the backend call and queue waits, per instance: directory lookup, scheduling and proxying. This is warmroute's own cost; it should stay in the sub-millisecond to low-millisecond range.",
        unit: 's',
        targets: [
          {
            expr: quantile(0.99, 'warmroute_routing_overhead_seconds', ['instance']),
            legend: '{{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Errors by type',
        description:
          "Backend failures per second by type: WR_ERR_* codes are the gateway's own (docs list them in the error catalogue), other values are Lambda exception names or function error types, \"other\" anything unrecognised. Function errors are the function's; WR_ERR_* and exceptions are the platform's.",
        unit: 'reqps',
        stacked: true,
        targets: [
          {
            expr: `sum by (type) (${rate('warmroute_backend_errors_total', { fn: true })})`,
            legend: '{{type}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Cold starts per second',
        description:
          'New execution environments per second, per function (fresh starts, first-use rehydrations, or an Init Duration seen in the log tail). Each one costs init time and money (see the Cost dashboard); with steady traffic this should fall to near zero once keys are placed.',
        unit: 'ops',
        targets: [
          {
            expr: `sum by (function) (${rate('warmroute_cold_starts_total', { fn: true })})`,
            legend: '{{function}}',
          },
        ],
      }),
    )
    .build();
}
