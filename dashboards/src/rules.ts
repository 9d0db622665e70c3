import { durationBuckets } from '../../src/metrics.js';
import { defaultThresholds, ratioWindows, type Thresholds } from './thresholds.js';
import type { YamlMap } from './yaml.js';

/**
 * The Prometheus rule groups, built from the thresholds (thresholds.ts). Recording rules hold the
 * ratios the dashboards and the alerts share; alerts read those where one exists. Metric names
 * come from src/metrics.ts only (test/unit/dashboard-generated.test.ts checks), labels are
 * job, instance, function, state, outcome, reason and type: never a tenant ID or a key.
 */

export interface RecordingRule {
  readonly record: string;
  readonly expr: string;
}

export interface AlertingRule {
  readonly alert: string;
  readonly expr: string;
  readonly for: string;
  readonly labels: { readonly severity: 'page' | 'ticket' | 'warning' };
  readonly annotations: { readonly summary: string; readonly description: string };
}

export interface RuleGroup {
  /** The rule file (dashboards/prometheus/<file>) and its promtool test (tests/<file>). */
  readonly file: string;
  readonly name: string;
  readonly rules: readonly (RecordingRule | AlertingRule)[];
}

const invocations = 'warmroute_invocations_total';

/** `num / den`, where a missing numerator (no matching series yet) counts as 0 rather than no value. */
export function ratio(by: string, num: string, den: string): string {
  return [
    `(`,
    `  sum by (${by}) (${num})`,
    `  or`,
    `  0 * sum by (${by}) (${den})`,
    `)`,
    `/`,
    `sum by (${by}) (${den})`,
  ].join('\n');
}

function percent(x: number): string {
  return `${Number((x * 100).toPrecision(6))}%`;
}

/** The error budget an objective leaves, without float noise (1 - 0.999 is 0.0010000000000000009). */
function budget(objective: number): number {
  return Number((1 - objective).toPrecision(12));
}

/**
 * The `type` values of warmroute_backend_errors_total that mean throttled after retries: the
 * gateway's own `throttled` and the Lambda exception names it passes through
 * (src/invoker/metric-labels.ts). Lambda's tenant-environment cap arrives as
 * TooManyRequestsException too; warmroute_backend_throttles_total{reason} tells it apart.
 */
export const throttleTypes = 'throttled|TooManyRequestsException|EC2ThrottledException';

/** `name{matchers}`, leaving out empty matchers (a threshold's selector may be ''). */
function selector(name: string, ...matchers: string[]): string {
  const m = matchers.filter((x) => x !== '').join(', ');
  return m === '' ? name : `${name}{${m}}`;
}

function recordingGroup(t: Thresholds = defaultThresholds): RuleGroup {
  const rules: RecordingRule[] = [];
  for (const w of ratioWindows) {
    rules.push({
      record: `warmroute_function:invocations:rate${w}`,
      expr: `sum by (job, function) (rate(${invocations}[${w}]))`,
    });
    rules.push({
      record: `warmroute_function:hit_ratio:ratio_rate${w}`,
      expr: ratio(
        'job, function',
        `rate(${invocations}{state="hit"}[${w}])`,
        `rate(${invocations}[${w}])`,
      ),
    });
  }
  // What WarmrouteHitRatioLow judges: completed invocations only (a failed, refused or cancelled
  // one is state="unknown", not a miss), on the routes hitRatioSelector keeps.
  const served = selector(invocations, 'outcome="ok"', t.hitRatioSelector);
  rules.push(
    {
      record: 'warmroute_function:served_invocations:rate1h',
      expr: `sum by (job, function) (rate(${served}[1h]))`,
    },
    {
      record: 'warmroute_function:served_hit_ratio:ratio_rate1h',
      expr: ratio(
        'job, function',
        `rate(${selector(invocations, 'state="hit"', 'outcome="ok"', t.hitRatioSelector)}[1h])`,
        `rate(${served}[1h])`,
      ),
    },
    {
      record: 'warmroute:cold_start_cost_usd_per_hour:rate1h',
      expr: 'sum by (job) (rate(warmroute_cold_start_cost_usd_total[1h])) * 3600',
    },
    {
      record: 'warmroute_function:rehydration_duration_seconds:p95_rate5m',
      expr: 'histogram_quantile(0.95, sum by (job, function, le) (rate(warmroute_rehydration_duration_seconds_bucket[5m])))',
    },
    {
      record: 'warmroute_function:backend_throttles:ratio_rate5m',
      expr: ratio(
        'job, function',
        `rate(warmroute_backend_errors_total{type=~"${throttleTypes}"}[5m])`,
        `rate(${invocations}[5m])`,
      ),
    },
    {
      record: 'warmroute:concurrency_rejections:ratio_rate5m',
      expr: ratio(
        'job',
        `rate(warmroute_concurrency_rejections_total{reason!~"cancelled|shutting_down"}[5m])`,
        `rate(${invocations}[5m])`,
      ),
    },
  );
  return { file: 'warmroute-records.yaml', name: 'warmroute.records', rules };
}

/**
 * The `le` label of the latency SLO's bucket. A threshold that is not a bucket boundary of
 * warmroute_request_duration_seconds would select no series and silently turn the SLO off.
 */
function hitLatencyBucket(t: Thresholds): string {
  if (!durationBuckets.includes(t.hitLatencySeconds))
    throw new Error(
      `hitLatencySeconds ${t.hitLatencySeconds} is not a bucket boundary of warmroute_request_duration_seconds (${durationBuckets.join(', ')}): the latency SLO would select no series`,
    );
  return String(t.hitLatencySeconds);
}

export function sloRecordingGroup(t: Thresholds = defaultThresholds): RuleGroup {
  const rules: RecordingRule[] = [];
  const le = hitLatencyBucket(t);
  for (const w of ratioWindows) {
    // Errors less the scheduler's key_busy refusals: each is an outcome="error" invocation too
    // (src/invoker/invocation-metrics.ts), but one client hammering one key is not the service
    // failing. clamp_min: the two counters' rates can disagree by a scrape at a window's edge.
    const all = `sum by (job) (rate(${invocations}[${w}]))`;
    rules.push({
      record: `warmroute:availability_errors:ratio_rate${w}`,
      expr: [
        `(`,
        `  clamp_min(`,
        `    sum by (job) (rate(${invocations}{outcome="error"}[${w}]))`,
        `    - (`,
        `      sum by (job) (rate(warmroute_concurrency_rejections_total{reason="key_busy"}[${w}]))`,
        `      or`,
        `      0 * ${all}`,
        `    ),`,
        `    0`,
        `  )`,
        `  or`,
        `  0 * ${all}`,
        `)`,
        `/`,
        all,
      ].join('\n'),
    });
    rules.push({
      record: `warmroute:hit_latency_slow:ratio_rate${w}`,
      expr: [
        `1 - (`,
        `  sum by (job) (rate(warmroute_request_duration_seconds_bucket{state="hit", le="${le}"}[${w}]))`,
        `  /`,
        `  sum by (job) (rate(warmroute_request_duration_seconds_count{state="hit"}[${w}]))`,
        `)`,
      ].join('\n'),
    });
  }
  return { file: 'warmroute-slo-records.yaml', name: 'warmroute.slo.records', rules };
}

/** The multiwindow, multi-burn-rate alerts of the SRE workbook (ch. 5): two pages and a ticket. */
function burnRateAlerts(
  alert: string,
  series: string,
  objective: number,
  what: string,
  traffic: string,
): AlertingRule[] {
  const b = budget(objective);
  const over = (long: string, short: string, factor: number): string =>
    [`${series}${long} > (${factor} * ${b})`, `and`, `${series}${short} > (${factor} * ${b})`].join(
      '\n',
    );
  const annotations = (speed: string) => ({
    summary: `warmroute is burning its ${what} error budget ${speed}.`,
    description: `Job {{ $labels.job }}: ${what} (objective ${percent(objective)}) is failing fast enough to spend the error budget ${speed === 'fast' ? 'in days' : 'within the SLO period'}.`,
  });
  return [
    {
      alert,
      // `and` binds tighter than `or`: the traffic guard applies to both pairs.
      expr: [
        `(`,
        `  (`,
        indent(indent(over('1h', '5m', 14.4))),
        `  )`,
        `  or`,
        `  (`,
        indent(indent(over('6h', '30m', 6))),
        `  )`,
        `)`,
        `and on (job)`,
        traffic,
      ].join('\n'),
      for: '2m',
      labels: { severity: 'page' },
      annotations: annotations('fast'),
    },
    {
      alert,
      expr: over('3d', '6h', 1),
      for: '1h',
      labels: { severity: 'ticket' },
      annotations: annotations('slowly'),
    },
  ];
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
}

export function sloAlertGroup(t: Thresholds = defaultThresholds): RuleGroup {
  return {
    file: 'warmroute-slo-alerts.yaml',
    name: 'warmroute.slo.alerts',
    rules: [
      ...burnRateAlerts(
        'WarmrouteAvailabilityBudgetBurn',
        'warmroute:availability_errors:ratio_rate',
        t.availabilityObjective,
        'availability',
        `sum by (job) (rate(${invocations}[1h])) > ${t.sloMinRequestsPerSecond}`,
      ),
      ...burnRateAlerts(
        'WarmrouteHitLatencyBudgetBurn',
        'warmroute:hit_latency_slow:ratio_rate',
        t.hitLatencyObjective,
        `warm-hit latency (under ${t.hitLatencySeconds}s)`,
        `sum by (job) (rate(warmroute_request_duration_seconds_count{state="hit"}[1h])) > ${t.sloMinRequestsPerSecond}`,
      ),
    ],
  };
}

function alertGroup(t: Thresholds = defaultThresholds): RuleGroup {
  const rules: AlertingRule[] = [
    {
      alert: 'WarmrouteHitRatioLow',
      expr: [
        `warmroute_function:served_hit_ratio:ratio_rate1h < ${t.hitRatioTarget}`,
        `and`,
        `warmroute_function:served_invocations:rate1h > ${t.hitRatioMinRequestsPerSecond}`,
      ].join('\n'),
      for: '15m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Warm-state hit ratio is below target.',
        description: `Function {{ $labels.function }} (job {{ $labels.job }}): fewer than ${percent(t.hitRatioTarget)} of completed invocations over the last hour found their state warm.`,
      },
    },
    {
      alert: 'WarmrouteDirectoryDegraded',
      expr: 'max by (job, instance) (warmroute_directory_degraded) > 0',
      for: '2m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'The directory store (Redis) is unreachable.',
        description:
          'Instance {{ $labels.instance }} has routed from its L1 cache and tenant-ID derivation for more than 2 minutes.',
      },
    },
    {
      alert: 'WarmrouteRedisErrors',
      expr: `sum by (job, instance) (rate(warmroute_redis_errors_total[5m])) > ${t.redisErrorsPerSecond}`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Directory store (Redis) commands are failing.',
        description: `Instance {{ $labels.instance }}: more than ${t.redisErrorsPerSecond} Redis command failures or timeouts per second for 5 minutes.`,
      },
    },
    {
      alert: 'WarmrouteBackendThrottled',
      expr: `warmroute_function:backend_throttles:ratio_rate5m > ${t.backendThrottleRatio}`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Lambda is throttling invocations.',
        description: `Function {{ $labels.function }}: more than ${percent(t.backendThrottleRatio)} of invocations end throttled after the gateway's retries (concurrency limits or the tenant-environment cap).`,
      },
    },
    {
      alert: 'WarmrouteTenantEnvironmentCapThrottling',
      expr: `sum by (job, function) (rate(warmroute_backend_throttles_total{reason="unattributed", tenancy="PER_TENANT"}[5m])) > ${t.tenantEnvironmentCapThrottlesPerSecond}`,
      for: '5m',
      labels: { severity: 'warning' },
      annotations: {
        summary: "Lambda's tenant-environment cap is refusing new tenants.",
        description: `Function {{ $labels.function }}: more than ${t.tenantEnvironmentCapThrottlesPerSecond} throttles per second without a Reason (the tenant-environment cap's signature) for 5 minutes, retries included.`,
      },
    },
    {
      alert: 'WarmrouteTenantBudgetNearCap',
      // alive and cap are exported together, per instance and function, with the same labels:
      // each instance's budget decides on the tenants it invoked, so that is where spills start.
      expr: [
        `max by (job, instance, function) (warmroute_tenant_budget_alive)`,
        `/`,
        `max by (job, instance, function) (warmroute_tenant_budget_cap)`,
        `> ${t.tenantBudgetUseRatio}`,
      ].join('\n'),
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: "A function's tenant-environment budget is near its cap.",
        description: `Function {{ $labels.function }} (instance {{ $labels.instance }}): the gateway estimates {{ $value | humanizePercentage }} of the function's tenant-environment cap alive, above ${percent(t.tenantBudgetUseRatio)} for 10 minutes; at the cap, new keys spill by their route's budget policy (queue, pool or reject).`,
      },
    },
    {
      alert: 'WarmrouteColdStartCostOverBudget',
      expr: `warmroute:cold_start_cost_usd_per_hour:rate1h > ${t.coldStartBudgetUsdPerHour}`,
      for: '15m',
      labels: { severity: 'ticket' },
      annotations: {
        summary: 'Cold starts cost more than the hourly budget.',
        description: `Job {{ $labels.job }}: new tenant environments cost more than ${t.coldStartBudgetUsdPerHour} USD per hour over the last hour.`,
      },
    },
    {
      alert: 'WarmrouteRehydrationSlow',
      expr: `warmroute_function:rehydration_duration_seconds:p95_rate5m > ${t.rehydrationP95Seconds}`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Restoring state from snapshots is slow.',
        description: `Function {{ $labels.function }}: p95 rehydration time above ${t.rehydrationP95Seconds}s for 10 minutes.`,
      },
    },
    {
      alert: 'WarmrouteQueueingSustained',
      expr: `sum by (job, instance) (warmroute_queued_requests) > ${t.queuedRequests}`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'Requests are queueing in the gateway.',
        description: `Instance {{ $labels.instance }}: more than ${t.queuedRequests} requests waiting for a slot for 10 minutes.`,
      },
    },
    {
      alert: 'WarmrouteConcurrencyRejections',
      expr: `warmroute:concurrency_rejections:ratio_rate5m > ${t.concurrencyRejectionRatio}`,
      for: '10m',
      labels: { severity: 'warning' },
      annotations: {
        summary: 'The gateway is refusing requests for lack of capacity.',
        description: `Job {{ $labels.job }}: more than ${percent(t.concurrencyRejectionRatio)} of invocations refused (key busy, concurrency limit, deadline) for 10 minutes.`,
      },
    },
    {
      alert: 'WarmrouteTargetDown',
      expr: `up{${t.jobSelector}} == 0`,
      for: '5m',
      labels: { severity: 'page' },
      annotations: {
        summary: 'A warmroute gateway cannot be scraped.',
        description: 'Prometheus has failed to scrape {{ $labels.instance }} for 5 minutes.',
      },
    },
    {
      alert: 'WarmrouteTargetAbsent',
      expr: `absent(up{${t.jobSelector}})`,
      for: '15m',
      labels: { severity: 'page' },
      annotations: {
        summary: 'No warmroute gateway is known to Prometheus.',
        description: `No scrape target matches {${t.jobSelector}} for 15 minutes: service discovery or the scrape config lost the gateway.`,
      },
    },
  ];
  return { file: 'warmroute-alerts.yaml', name: 'warmroute.alerts', rules };
}

export function ruleGroups(t: Thresholds = defaultThresholds): readonly RuleGroup[] {
  return [recordingGroup(t), sloRecordingGroup(t), sloAlertGroup(t), alertGroup(t)];
}

function withRunbook(rule: RecordingRule | AlertingRule, t: Thresholds): YamlMap {
  if (!('alert' in rule)) return { record: rule.record, expr: rule.expr };
  return {
    alert: rule.alert,
    expr: rule.expr,
    for: rule.for,
    labels: rule.labels,
    annotations: {
      ...rule.annotations,
      runbook_url: `${t.runbookUrl}#${rule.alert.toLowerCase()}`,
    },
  };
}

/** The rule file's content: one group, as `promtool check rules` and Prometheus read it. */
export function ruleFile(group: RuleGroup, t: Thresholds = defaultThresholds): YamlMap {
  return { groups: [{ name: group.name, rules: group.rules.map((r) => withRunbook(r, t)) }] };
}
