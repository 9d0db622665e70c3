import type { Logger } from 'pino';
import type { DirectoryStore } from './store.js';
import type { InvocationState } from '../../lambda/protocol.js';
import type { RoutingMode } from '../routing-mode.js';

export type { RoutingMode } from '../routing-mode.js';

/**
 * What the directory is told: every setting required, resolved from the
 * config (src/create-dependencies.ts `directorySettingsOf`; the config schema
 * holds the defaults), so none can disagree with the documented one.
 */
export interface DirectorySettings {
  /** Prefix of every tenant ID (`WARMROUTE_TENANT_PREFIX`). */
  readonly tenantPrefix: string;
  /** Namespace used when a call names none (`WARMROUTE_NAMESPACE`). */
  readonly namespace: string;
  /** L1 cache (`WARMROUTE_L1_MAX`, `WARMROUTE_L1_TTL_MS`); `max: 0` disables it. */
  readonly l1: { readonly max: number; readonly ttlMs: number };
  /** Write-behind period of outcome counters (`WARMROUTE_STATS_FLUSH_INTERVAL_MS`). */
  readonly statsFlushIntervalMs: number;
}

export interface DirectoryOptions extends DirectorySettings {
  /** HMAC secret (WARMROUTE_SECRET; see resolveSecret). */
  readonly secret: string | Buffer;
  /**
   * Where keys live: a MemoryDirectoryStore or a RedisDirectoryStore, not
   * started yet (`directory.start()` starts it, `close()` closes it). Built
   * with the same `clock`.
   */
  readonly store: DirectoryStore;
  readonly logger: Logger;
  /** Milliseconds since the epoch (tests inject one; production passes Date.now). */
  readonly clock: () => number;
}

export interface ResolveOptions {
  readonly mode?: RoutingMode;
  /** Number of tenant slots: required in `pooled` mode (the route's `poolSize`), ignored otherwise. */
  readonly poolSize?: number;
  readonly namespace?: string;
  /**
   * The function the request goes to: the resolution's `stateVersion` is
   * this function's (versions are kept per function, like snapshots).
   * Without one, `stateVersion` is 0.
   */
  readonly functionName?: string;
}

/**
 * Whose warm state a request works on, as the gateway sends it to the
 * function (lambda/protocol.ts `scope`); the function adds its own name.
 * See docs/protocol.md, "Snapshot scope".
 */
export interface StateScope {
  readonly namespace: string;
  /**
   * The epoch of the bucket (epoch-bucket.ts) of `key` in the namespace (see
   * DirectoryStore.epoch): of the chain end's bucket when bound.
   */
  readonly epoch: string;
  readonly generation: number;
  /** The key whose state it is: the end of the binding chain in affinity mode, else the key itself. */
  readonly key: string;
}

export interface Resolution {
  readonly tenantId: string;
  /**
   * Generation the tenant ID was derived from: the key's own, or, when the
   * key is bound, that of the key at the end of its chain (`boundTo`).
   * Always 0 in `fresh` and `pooled` mode.
   */
  readonly generation: number;
  /** The key whose environment is used (end of the binding chain), when bound. */
  readonly boundTo?: string;
  /** Latest state version known for the key's state in `functionName` (0 = none). */
  readonly stateVersion: number;
  /** l1: in-process cache; store: Redis/memory store; derived: computed without the store. */
  readonly source: 'l1' | 'store' | 'derived';
  readonly mode: RoutingMode;
  /** The state this request works on (every mode, fresh included). */
  readonly state: StateScope;
}

export interface OutcomeReport {
  readonly envId: string;
  readonly state: InvocationState;
  /** Recorded for `functionName` only (ignored without one): it says nothing about other functions' state. */
  readonly stateVersion?: number;
  /** The function that reported the outcome. */
  readonly functionName?: string;
}

export interface KeyExplanation {
  readonly key: string;
  readonly namespace: string;
  /**
   * The epoch the tenant ID is derived from: that of the bucket
   * (epoch-bucket.ts) of the chain's last key when bound, else `ownEpoch`.
   */
  readonly epoch: string;
  /** The epoch of the key's own bucket in the namespace. */
  readonly ownEpoch: string;
  /** Whether the store holds a record of the key. */
  readonly known: boolean;
  /** The tenant ID `affinity` mode resolves the key to now. */
  readonly tenantId: string;
  readonly generation: number;
  /** Direct binding target, if bound. */
  readonly binding?: string;
  /** Keys followed through bindings, in order, with their generations and their buckets' epochs. */
  readonly chain: readonly {
    readonly key: string;
    readonly generation: number;
    readonly epoch: string;
  }[];
  /** Latest state version per function (bare function name → version; only functions with one). */
  readonly stateVersions: Readonly<Record<string, number>>;
  readonly lastEnvId?: string;
  /** Invocations recorded per warm state (lambda/protocol.ts `INVOCATION_STATES`). */
  readonly counts: Readonly<Record<InvocationState, number>>;
  readonly createdAt?: string;
  readonly lastSeenAt?: string;
  /** Seconds until the stored record expires for lack of use (absent: never / unknown). */
  readonly expiresInSeconds?: number;
  /** Outcomes recorded on this replica and not yet written to the store (already included in counts). */
  readonly pendingOutcomes: number;
  readonly store: 'memory' | 'redis';
}

export interface DirectoryHealth {
  readonly status: 'ok' | 'degraded';
  readonly reason?: string;
  /** When the current degraded spell began (ISO 8601); absent while ok. */
  readonly degradedSince?: string;
  readonly store: 'memory' | 'redis';
}

export interface DirectoryCounters {
  resolves: number;
  l1Hits: number;
  l1Misses: number;
  /** Resolves answered from an expired L1 entry or by derivation because the store failed. */
  fallbackResolves: number;
  /** Store calls made by resolve (each one Redis round trip). */
  storeLookups: number;
  storeErrors: number;
  /** Mappings this replica created (first resolve of a key). */
  mappingsCreated: number;
  /** L1 invalidations received from other replicas over pub/sub. */
  pubsubInvalidations: number;
  /**
   * Times the epoch of a (namespace, bucket) changed under this replica (the
   * store lost its data): a loss of N buckets counts up to N.
   */
  epochChanges: number;
  statsFlushes: number;
  statsPending: number;
  /** Outcome deltas dropped because the write-behind buffer was full while the store was down. */
  statsDropped: number;
  degraded: boolean;
  /** Total seconds spent degraded since start. */
  degradedSeconds: number;
}

export interface InvalidationNotice {
  readonly op: 'rotate' | 'bind' | 'unbind' | 'forget' | 'resync';
  readonly namespace: string;
  readonly key: string;
  /** True when another replica made the change. */
  readonly remote: boolean;
}

/**
 * The key directory as every consumer sees it (the invoker, the admin and
 * health routes, metrics, the SDK's embedded transport). Narrow views are
 * `Pick<Directory, …>` of this one interface.
 */
export interface Directory {
  /** The settings it runs with (read-only; test/unit/config-single-source.test.ts compares them with the config). */
  readonly settings: Readonly<DirectorySettings>;
  resolve(key: string, opts?: ResolveOptions): Promise<Resolution>;
  /**
   * What `resolve` answers when the L1 cache holds a live entry for the call
   * (`source: 'l1'`), synchronously: the request path saves a promise and an
   * await on a hit. Undefined when `resolve` would not answer from L1 (a
   * miss, an entry without the function's version, the cache disabled):
   * call `resolve` then. An invalid key or namespace is never in L1, so it
   * gets undefined here and its refusal from `resolve`; a bad `poolSize` on
   * a hit throws what `resolve` rejects with. Counts a resolve and an L1 hit
   * only when it answers.
   */
  resolveCached(key: string, opts?: ResolveOptions): Resolution | undefined;
  rotate(
    key: string,
    opts?: { namespace?: string },
  ): Promise<{ generation: number; tenantId: string }>;
  bind(key: string, targetKey: string, opts?: { namespace?: string }): Promise<void>;
  unbind(key: string, opts?: { namespace?: string }): Promise<void>;
  forget(key: string, opts?: { namespace?: string }): Promise<void>;
  /** Non-blocking: buffered and written behind in batches. */
  recordOutcome(key: string, outcome: OutcomeReport, opts?: { namespace?: string }): void;
  explain(key: string, opts?: { namespace?: string }): Promise<KeyExplanation>;
  health(): DirectoryHealth;
  counters(): DirectoryCounters;
  /** Called for each L1 invalidation (tests, logs); returns an unsubscribe function. */
  onInvalidate(listener: (notice: InvalidationNotice) => void): () => void;
  /** Write pending outcomes now (close() does it too). */
  flush(): Promise<void>;
  close(): Promise<void>;
}
