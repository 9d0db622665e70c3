/**
 * Every threshold the alerts use, in one place, with its default. The rule files in
 * dashboards/prometheus/ are generated from these values (`rules.ts`); to change one, edit it
 * here and regenerate (docs/runbook.md, "Changing a threshold"). The promtool tests in
 * dashboards/prometheus/tests/ are written against these defaults.
 */
export interface Thresholds {
  /** Selects the gateway's scrape target in `up` (the only metric not named `warmroute_*`). */
  readonly jobSelector: string;
  /** Where the `runbook_url` annotations point; each alert appends `#<alert name in lower case>`. */
  readonly runbookUrl: string;
  /**
   * Hit ratio (hits / completed invocations, `outcome="ok"`, per function, over 1 h) below which
   * WarmrouteHitRatioLow fires: failed, refused and cancelled invocations are not misses.
   */
  readonly hitRatioTarget: number;
  /** Completed invocations per second (per function, over 1 h) below which the hit ratio is not judged. */
  readonly hitRatioMinRequestsPerSecond: number;
  /**
   * Restricts the invocations WarmrouteHitRatioLow judges, as PromQL label matchers on
   * `warmroute_invocations_total` (e.g. `route!~"sandbox"`); '' judges every route. Exclude
   * routes served in fresh mode: every one of their invocations is `state="fresh"` by design.
   */
  readonly hitRatioSelector: string;
  /** Availability SLO: the share of invocations that do not end `outcome="error"`, `key_busy` refusals (client-caused) excepted. */
  readonly availabilityObjective: number;
  /** Latency SLO on warm hits: the share of hits faster than `hitLatencySeconds`. */
  readonly hitLatencyObjective: number;
  /** A bucket boundary of `warmroute_request_duration_seconds` (src/metrics.ts); the generator refuses any other value. */
  readonly hitLatencySeconds: number;
  /**
   * Requests per second (per job, over 1 h) below which the SLO burn-rate pages stay silent: at
   * night one slow or failed request is a large share of the hour. Availability counts every
   * invocation, warm-hit latency every hit. The tickets (3 d) are not guarded.
   */
  readonly sloMinRequestsPerSecond: number;
  /** Directory store (Redis) failures per second, per instance, over 5 m. */
  readonly redisErrorsPerSecond: number;
  /** Share of a function's invocations that end throttled after the gateway's retries, over 5 m. */
  readonly backendThrottleRatio: number;
  /**
   * Unattributed throttles (a 429 without a known Reason: the tenant-environment cap's
   * signature) per second, per PER_TENANT function, over 5 m. Low on purpose: the cap refuses
   * new tenants outright, so a sustained trickle already means tenants are turned away.
   */
  readonly tenantEnvironmentCapThrottlesPerSecond: number;
  /**
   * Share of its tenant-environment cap a function's budget estimates alive (per gateway
   * instance: each budget counts the tenants that instance invoked) above which
   * WarmrouteTenantBudgetNearCap fires: past the cap, new keys spill by their route's policy.
   */
  readonly tenantBudgetUseRatio: number;
  /** Estimated cold-start spend, USD per hour, per job (rate over 1 h). */
  readonly coldStartBudgetUsdPerHour: number;
  /** p95 of the time functions report restoring a snapshot, seconds, per function, over 5 m. */
  readonly rehydrationP95Seconds: number;
  /** Requests waiting in one gateway's scheduler. */
  readonly queuedRequests: number;
  /** Share of invocations the scheduler refused (key busy, concurrency, deadline), over 5 m. */
  readonly concurrencyRejectionRatio: number;
}

export const defaultThresholds: Thresholds = Object.freeze({
  jobSelector: 'job="warmroute"',
  runbookUrl: 'docs/runbook.md',
  hitRatioTarget: 0.8,
  hitRatioMinRequestsPerSecond: 0.1,
  hitRatioSelector: '',
  availabilityObjective: 0.999,
  hitLatencyObjective: 0.99,
  hitLatencySeconds: 0.25,
  sloMinRequestsPerSecond: 0.1,
  redisErrorsPerSecond: 0.05,
  backendThrottleRatio: 0.01,
  tenantEnvironmentCapThrottlesPerSecond: 0.01,
  tenantBudgetUseRatio: 0.9,
  coldStartBudgetUsdPerHour: 1,
  rehydrationP95Seconds: 2,
  queuedRequests: 10,
  concurrencyRejectionRatio: 0.01,
});

/** The windows the shared ratios are recorded over: the burn-rate pairs use all five. */
export const ratioWindows = ['5m', '30m', '1h', '6h', '3d'] as const;
export type RatioWindow = (typeof ratioWindows)[number];
