import { quantile, range, rate, sel, timeseriesPanel, warmrouteDashboard } from '../panels.js';
import type { ClassicDashboard } from '../panels.js';
import { ratio, throttleTypes } from '../rules.js';

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
