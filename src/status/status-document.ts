/**
 * The contract between the gateway and its status page: what
 * `GET /v1/status.json` answers, and what the page (status-page/) draws.
 * Both sides import these types; a change here is a change to both.
 *
 * Privacy rule: nothing in a StatusDocument names a key or a tenant ID. Only
 * counts, rates, durations and the names the operator configured (function
 * names, miss reasons, rejection reasons) appear. The page shows a key only
 * in the "explain a key" box, which calls the admin route with the token the
 * user types.
 */

/** Requests by the state the gateway reported (`x-affinity-state`). */
export interface StateCounts {
  hit: number;
  rehydrated: number;
  fresh: number;
  unknown: number;
}

/** p50 and p95 in milliseconds; null when the interval had no such request. */
export interface LatencyQuantiles {
  p50Ms: number | null;
  p95Ms: number | null;
}

/**
 * One interval of the time series (the sampler's step, 5 s by default; the
 * last point may be a partial interval computed at the moment of the call,
 * with `partial: true`). Counts are what happened in the interval, not totals.
 */
export interface StatusPoint {
  /** End of the interval, milliseconds since the epoch. */
  readonly t: number;
  /** Length of the interval in seconds (the step, or less for the partial last point). */
  readonly seconds: number;
  readonly partial: boolean;
  /**
   * Completed requests by state. Requests without an answer from a function are in `unknown`
   * too: a backend or function failure also in `errors`, a refusal (key busy, concurrency,
   * deadline) also in `rejections`.
   */
  readonly requests: StateCounts;
  /** hit / (hit + rehydrated + fresh); null when none of those happened. */
  readonly hitRatio: number | null;
  /** Warm hits (state `hit`). */
  readonly hitLatency: LatencyQuantiles;
  /** Cold: state `fresh` or `rehydrated` (a new environment, or one that had to load the state). */
  readonly coldLatency: LatencyQuantiles;
  readonly coldStarts: number;
  /** Estimated cold-start charge in USD (`warmroute_cold_start_cost_usd_total`). */
  readonly coldStartCostUsd: number;
  /** Requests waiting in the scheduler at the end of the interval. */
  readonly queueDepth: number;
  /** Backend invocations running at the end of the interval. */
  readonly inflight: number;
  /** Requests refused by the scheduler (key busy, concurrency, deadline, …) in the interval. */
  readonly rejections: number;
  /** Backend and function errors in the interval. */
  readonly errors: number;
}

/** One function's figures over the window. */
export interface FunctionStatus {
  /** The function label as the metrics have it (a configured name, or `other` past the label cap). */
  readonly name: string;
  readonly requests: StateCounts;
  readonly hitRatio: number | null;
  readonly coldStarts: number;
  /** Requests whose state was `rehydrated`. */
  readonly rehydrations: number;
  /** Backend errors and function errors (`warmroute_backend_errors_total`). */
  readonly errors: number;
}

/** Environments of one function on the embedded local host, now (and evictions since it started). */
export interface LocalHostFunctionStatus {
  readonly name: string;
  /** Environments alive: starting, busy or idle. */
  readonly live: number;
  readonly idle: number;
  /** Environments stopped to make room, by idle timeout, or by an evict call, since the host started. */
  readonly evictions: number;
}

export interface DirectoryStatus {
  readonly store: 'memory' | 'redis';
  readonly status: 'ok' | 'degraded';
  /** When the current degraded spell began (ISO 8601), null while ok. */
  readonly degradedSince: string | null;
  /** The directory's reason while degraded (no key in it), null while ok. */
  readonly reason: string | null;
}

/** One function's tenant-environment budget, now (src/status/budget-status.ts). */
export interface FunctionBudgetStatus {
  /** The function label as the metrics have it. */
  readonly name: string;
  /** Tenant environments the gateway estimates alive (`warmroute_tenant_budget_alive`). */
  readonly alive: number;
  /** Tenant environments Lambda allows the function (`warmroute_tenant_budget_cap`). */
  readonly cap: number;
  /** The learned idle lifetime in seconds (`warmroute_idle_lifetime_seconds`); null until learned. */
  readonly idleLifetimeSeconds: number | null;
  /** Keep-warm since the gateway started; null where no route of the function opted in. */
  readonly keepWarm: {
    readonly pings: number;
    readonly costUsd: number;
    readonly coldStartsAvoided: number;
  } | null;
}

export interface StatusDocument {
  /** Schema version of this document. */
  readonly v: 1;
  /** When the document was made (ISO 8601). */
  readonly generatedAt: string;
  /**
   * When the sampler took its first reading (ISO 8601): the series starts here.
   * While the gateway is younger than the window, the figures cover only the time since.
   */
  readonly startedAt: string;
  /** The gateway's package version. */
  readonly version: string;
  /** Sampler step in milliseconds. */
  readonly stepMs: number;
  /** How far back the series reaches at most (15 minutes). */
  readonly windowMs: number;
  /** Oldest first; the last point is the partial interval up to `generatedAt`. */
  readonly series: readonly StatusPoint[];
  /** Sums over `series` (the last 15 minutes, or since start when younger). */
  readonly totals: {
    readonly requests: StateCounts;
    readonly hitRatio: number | null;
    readonly hitLatency: LatencyQuantiles;
    readonly coldLatency: LatencyQuantiles;
    readonly coldStarts: number;
    readonly coldStartCostUsd: number;
    readonly rejections: number;
    readonly errors: number;
  };
  /** Sorted by name. */
  readonly functions: readonly FunctionStatus[];
  /** Misses by reason over the window (`first-use`, `released`, `stale`, `conflict`, `none`, `unknown`, `other`), sorted by count, largest first. */
  readonly missReasons: readonly { readonly reason: string; readonly count: number }[];
  /** Refusals by reason over the window, sorted by count, largest first. */
  readonly rejectionReasons: readonly { readonly reason: string; readonly count: number }[];
  readonly directory: DirectoryStatus;
  /** Each tenant-isolated function's tenant-environment budget now, sorted by name; empty before one is invoked. */
  readonly budgets: readonly FunctionBudgetStatus[];
  /** Present only when the gateway runs its embedded local host. */
  readonly localHost?: { readonly functions: readonly LocalHostFunctionStatus[] };
}

/** Paths the status page uses (the page fetches only these, on its own origin). */
export const STATUS_PAGE_PATH = '/v1/status';
export const STATUS_JSON_PATH = '/v1/status.json';
/** Static assets: `${STATUS_ASSET_PREFIX}<name>` for the names the build writes (status.js, status.css). */
export const STATUS_ASSET_PREFIX = '/v1/status/assets/';
/** How often the open page polls the JSON document. */
export const STATUS_POLL_MS = 2_000;
/** The sampler's step and the window the series covers. */
export const STATUS_STEP_MS = 5_000;
export const STATUS_WINDOW_MS = 15 * 60_000;
