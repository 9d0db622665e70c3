import { quantile, range, rate, sel, timeseriesPanel, warmrouteDashboard } from '../panels.js';
import type { ClassicDashboard } from '../panels.js';
import { ratio, throttleTypes } from '../rules.js';

const budgetAlive = 'warmroute_tenant_budget_alive';
const budgetCap = 'warmroute_tenant_budget_cap';

/** Is the gateway keeping up, and are its dependencies (Lambda, Redis) healthy. */
export function capacityDashboard(): ClassicDashboard {
  return warmrouteDashboard(
    'warmroute-capacity',
    'warmroute / Capacity',
    'Concurrency, queueing, throttling and directory health of the warmroute gateway (docs/dashboards.md).',
  )
    .withPanel(
      timeseriesPanel({
        title: 'In-flight and queued requests',
        description:
          'Per instance, the most backend invocations running at once and the most requests waiting for a key, tenant or global slot, within each interval (max_over_time, so short peaks between scrapes are not lost). In-flight near the global concurrency setting with a growing queue means the gateway is the bottleneck.',
        unit: 'short',
        targets: [
          {
            expr: `max by (instance) (max_over_time(${sel('warmroute_inflight_requests')}${range}))`,
            legend: 'in-flight {{instance}}',
          },
          {
            expr: `max by (instance) (max_over_time(${sel('warmroute_queued_requests')}${range}))`,
            legend: 'queued {{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Queue wait p95',
        description:
          "95th percentile of the time requests waited for their key, tenant or global slot, per instance. Near zero when capacity is ample; it rises first for hot keys (requests to one key run one at a time), so compare with the rejections panel's key_busy.",
        unit: 's',
        targets: [
          {
            expr: quantile(0.95, 'warmroute_queue_wait_seconds', ['instance']),
            legend: '{{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Concurrency rejections by reason',
        description:
          'Requests per second the scheduler did not run, by reason: key_busy (the per-key queue was full), concurrency (tenant or global limit), deadline (the request would have waited past its deadline), shutting_down, cancelled (the caller left while waiting). Anything but cancelled is load the gateway turned away.',
        unit: 'reqps',
        stacked: true,
        targets: [
          {
            expr: `sum by (reason) (${rate('warmroute_concurrency_rejections_total')})`,
            legend: '{{reason}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Backend throttles and retries',
        description:
          "Per function: invocations per second that ended throttled after the gateway's retries; throttled attempts per second (retries included) by reason: concurrency (account or reserved concurrency), rate (invocation rate limits), unattributed (no Reason: on a PER_TENANT function, Lambda's tenant-environment cap, docs/runbook.md); and backend attempts beyond the first. Retries without final throttles are Lambda pushing back and the gateway absorbing it.",
        unit: 'reqps',
        targets: [
          {
            expr: `sum by (function) (${rate('warmroute_backend_errors_total', { fn: true, match: `type=~"${throttleTypes}"` })})`,
            legend: 'throttled {{function}}',
          },
          {
            expr: `sum by (function, reason) (${rate('warmroute_backend_throttles_total', { fn: true })})`,
            legend: 'throttled attempts {{function}} {{reason}}',
          },
          {
            expr: `sum by (function) (${rate('warmroute_backend_retries_total', { fn: true })})`,
            legend: 'retries {{function}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Tenant environments alive vs cap',
        description:
          "Per instance and function, the most tenant environments the gateway's budget estimated alive within each interval (tenants it invoked within the learned idle lifetime, idle ones included), and the function's cap (2,500 per 1,000 concurrency unless configured). Each instance's budget counts the tenants it invoked. At the cap, a new key spills by its route's policy (see the spills panel); Lambda's own cap answers 429 past it.",
        unit: 'short',
        targets: [
          {
            expr: `max by (instance, function) (max_over_time(${sel(budgetAlive, { fn: true })}${range}))`,
            legend: 'alive {{function}} {{instance}}',
          },
          {
            expr: `max by (instance, function) (last_over_time(${sel(budgetCap, { fn: true })}${range}))`,
            legend: 'cap {{function}} {{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Tenant budget use',
        description:
          'Per instance and function, the peak estimated alive tenant environments as a share of the cap within each interval. WarmrouteTenantBudgetNearCap fires above 90 % for 10 minutes; at 100 % new keys spill (queue, pool or reject, by route) while hot keys keep their tenants.',
        unit: 'percentunit',
        max: 1,
        targets: [
          {
            expr: [
              `max by (instance, function) (max_over_time(${sel(budgetAlive, { fn: true })}${range}))`,
              `/`,
              `max by (instance, function) (last_over_time(${sel(budgetCap, { fn: true })}${range}))`,
            ].join('\n'),
            legend: '{{function}} {{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Tenant budget spills by policy and outcome',
        description:
          "Requests per second, per function, whose key got no tenant of its own within the budget, by the route's policy and what became of them: queue/dedicated (a place freed while it waited), queue/rejected (429 after the route's wait), queue/abandoned (the client left), pool/pooled (run in a pooled tenant of its isolation domain), pool/rejected, reject/rejected (429 at once). Zero while every function is under its cap.",
        unit: 'reqps',
        stacked: true,
        targets: [
          {
            expr: `sum by (function, policy, outcome) (${rate('warmroute_tenant_budget_spills_total', { fn: true })})`,
            legend: '{{function}} {{policy}}/{{outcome}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Learned idle lifetime',
        description:
          "Per instance and function, the idle time after which the gateway has learned the function's environments are gone: the median, fitted from each key's gap since its previous request and whether its environment survived it (a hit on the same environment) or not (fresh, or another environment). No value until the estimate has evidence on both sides; until then the budget assumes the function's idleLifetimeMs (10 minutes by default). A key that comes back later than this finds a cold environment.",
        unit: 's',
        targets: [
          {
            expr: `max by (instance, function) (last_over_time(${sel('warmroute_idle_lifetime_seconds', { fn: true })}${range}))`,
            legend: '{{function}} {{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'L1 hit ratio',
        description:
          "Share of directory resolutions answered from the in-process L1 cache, per instance, instead of a Redis round trip. High is cheap routing; it drops after a restart or when the key space outgrows the cache's size.",
        unit: 'percentunit',
        max: 1,
        targets: [
          {
            expr: ratio(
              'instance',
              rate('warmroute_l1_hits_total'),
              `(${rate('warmroute_l1_hits_total')} + ${rate('warmroute_l1_misses_total')})`,
            ),
            legend: '{{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Redis errors',
        description:
          'Directory store (Redis) command failures and timeouts per second, per instance. Any sustained value means routing falls back to L1 and tenant-ID derivation (see the degraded panel); WarmrouteRedisErrors alerts on it.',
        unit: 'ops',
        targets: [
          {
            expr: `sum by (instance) (${rate('warmroute_redis_errors_total')})`,
            legend: '{{instance}}',
          },
        ],
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Directory degraded time',
        description:
          'Share of each interval that the directory store was unreachable, per instance (1 is degraded throughout). While degraded, tenant IDs come from L1 or derivation, so placement still works but is not shared across instances; WarmrouteDirectoryDegraded fires after 2 minutes.',
        unit: 'percentunit',
        max: 1,
        targets: [
          {
            expr: `max by (instance) (${rate('warmroute_directory_degraded_seconds_total')})`,
            legend: '{{instance}}',
          },
        ],
      }),
    )
    .build();
}
