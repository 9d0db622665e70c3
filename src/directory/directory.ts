import type { Logger } from 'pino';
import { WarmrouteError, isWarmrouteError } from '../errors.js';
import { DEFAULT_CALL_MODE } from '../routing-mode.js';
import { EPOCH_BUCKETS, epochBucket, newEpoch } from './epoch-bucket.js';
import { L1Cache, l1Id, type L1Entry } from './l1-cache.js';
import { OutcomeBuffer } from './outcome-buffer.js';
import { stateFunctionId } from './state-function.js';
import {
  EpochMismatchError,
  StoreBusyError,
  type ChainLink,
  type DirectoryStore,
  type MutationOp,
  type StoreEvent,
  type StoreResolution,
} from './store.js';
import {
  deriveTenantId,
  MAX_POOL_SIZE,
  poolSlot,
  poolTenantId,
  randomTenantId,
  validateTenantPrefix,
} from './tenant-id.js';
import type {
  Directory,
  DirectoryCounters,
  DirectoryHealth,
  DirectoryOptions,
  DirectorySettings,
  InvalidationNotice,
  KeyExplanation,
  OutcomeReport,
  Resolution,
  ResolveOptions,
  RoutingMode,
  StateScope,
} from './types.js';
import { isValidEnvId, keyProblem, validateKey } from './validate-key.js';

/** After a failed store call (e.g. a timeout), misses skip the store this long before probing again. */
const STORE_RETRY_MS = 1_000;
const MAX_PENDING_OUTCOME_KEYS = 50_000;
const FLUSH_CHUNK = 1_000;
const MAX_POOL_TENANT_CACHE = 10_000;
/** Store calls retried after an epoch mismatch (the epoch changed again meanwhile: very unlikely). */
const EPOCH_ATTEMPTS = 3;
/** After a prefetch of a namespace's epochs left some unread (store down), wait this long before another. */
export const EPOCH_PREFETCH_RETRY_MS = 5_000;
/** A lost shard changes hundreds of buckets' epochs, each adopted on its own: one warning a minute per namespace. */
const EPOCH_WARN_INTERVAL_MS = 60_000;
/** After a bucket's epoch was found changed, a namespace's other buckets are read again at most this often. */
const EPOCH_RECHECK_INTERVAL_MS = 5_000;

/** Epoch reads a prefetch or recheck has in flight at once: bursts that stay well inside the command timeout. */
const EPOCH_READ_BATCH = 128;

/**
 * `read` for every bucket, EPOCH_READ_BATCH at a time; whether every read
 * succeeded. Never rejects (callers run it in the background): a read that
 * throws instead of rejecting counts as failed too.
 */
async function forEveryBucket(read: (bucket: number) => Promise<unknown>): Promise<boolean> {
  let all = true;
  for (let first = 0; first < EPOCH_BUCKETS; first += EPOCH_READ_BATCH) {
    const batch = Array.from(
      { length: Math.min(EPOCH_READ_BATCH, EPOCH_BUCKETS - first) },
      (_, i) => Promise.resolve(first + i).then(read),
    );
    const settled = await Promise.allSettled(batch);
    if (settled.some((result) => result.status === 'rejected')) all = false;
  }
  return all;
}

/** Cache id of one bucket's epoch in a namespace (namespaces contain no control characters). */
function epochId(namespace: string, bucket: number): string {
  return `${namespace}\u0000${bucket}`;
}

function validateNamespace(namespace: string): void {
  const problem = keyProblem(namespace);
  if (problem !== undefined)
    throw new WarmrouteError('WR_ERR_BAD_REQUEST', [`namespace: ${problem}`]);
}

/** Bounds the function-id memo (names are client-chosen when there is no allow-list). */
const MAX_FUNCTION_IDS = 10_000;
const functionIds = new Map<string, string>();

/**
 * The id a function's state versions are kept under; '' = none (no name, or
 * not a function name). Memoised: every resolve asks for it, and the answer
 * (two regular expressions) only depends on the name.
 */
function versionFunctionId(functionName: string | undefined): string {
  if (functionName === undefined) return '';
  let id = functionIds.get(functionName);
  if (id === undefined) {
    id = stateFunctionId(functionName) ?? '';
    if (functionIds.size >= MAX_FUNCTION_IDS) functionIds.clear();
    functionIds.set(functionName, id);
  }
  return id;
}

function validatePoolSize(poolSize: number | undefined): asserts poolSize is number {
  if (
    poolSize === undefined ||
    !Number.isInteger(poolSize) ||
    poolSize < 1 ||
    poolSize > MAX_POOL_SIZE
  ) {
    throw new WarmrouteError('WR_ERR_BAD_REQUEST', [
      `poolSize must be an integer from 1 to ${MAX_POOL_SIZE}`,
    ]);
  }
}

/**
 * The directory service: key → tenant ID. Policy lives here, storage in a
 * DirectoryStore: L1 first (no store call on a hit), one store call on a miss
 * (concurrent misses of one key share it), derivation when the store fails,
 * mutations refused while it is down, outcomes written behind in batches.
 */
export class KeyDirectory implements Directory {
  readonly #secret: string | Buffer;
  readonly #prefix: string;
  readonly #namespace: string;
  readonly #store: DirectoryStore;
  readonly #l1: L1Cache;
  readonly #l1TtlMs: number;
  readonly #clock: () => number;
  readonly #logger: Logger;
  readonly #outcomes = new OutcomeBuffer(MAX_PENDING_OUTCOME_KEYS);
  readonly #flushIntervalMs: number;
  readonly #inflight = new Map<string, Promise<L1Entry>>();
  readonly #listeners = new Set<(notice: InvalidationNotice) => void>();
  readonly #poolTenants = new Map<string, string>();
  #flushTimer: NodeJS.Timeout | undefined;
  /** Set by start(): outcomes recorded before then wait for it. */
  #flushEnabled = false;
  /** The running flush pass: true if the store took everything it was given. */
  #flushing: Promise<boolean> | undefined;
  /** Bumped by every invalidation: a lookup that straddles one must not fill L1 with what it read. */
  #invalidations = 0;
  /**
   * The store's epoch of each (namespace, bucket) this replica has seen, by
   * epochId (kept while the store is unreachable, for derivation).
   */
  readonly #epochs = new Map<string, string>();
  readonly #epochLoads = new Map<string, Promise<string>>();
  /**
   * Store reads confirming an announced epoch, by epochId (#confirmEpoch);
   * `again` = the last announcement that came meanwhile.
   */
  readonly #epochConfirms = new Map<string, { again: string | undefined }>();
  /** Namespaces this replica has used: their buckets' epochs are prefetched, and announced ones adopted. */
  readonly #namespaces = new Set<string>();
  /** Namespaces whose every bucket's epoch this replica knows (none is ever forgotten). */
  readonly #completeNamespaces = new Set<string>();
  /** When each namespace's epochs were last all read again after a change (#recheckEpochs). */
  readonly #recheckedAtMs = new Map<string, number>();
  /** When an epoch change was last logged, per namespace. */
  readonly #epochWarnedAtMs = new Map<string, number>();
  /** Running prefetch of each namespace's epochs (epochsLoaded waits for it). */
  readonly #prefetches = new Map<string, Promise<void>>();
  /** Namespaces whose last prefetch left buckets unread: when the next one may start. */
  readonly #prefetchRetryAtMs = new Map<string, number>();
  /**
   * Used for buckets whose epoch this replica has never seen while the store
   * is unreachable (it started during an outage): fresh environments, never
   * ones derived from an epoch that may have been lost.
   */
  readonly #localEpoch = newEpoch();
  #retryStoreAtMs = 0;
  #failure: string | undefined;
  #degradedSinceMs: number | undefined;
  #degradedTotalMs = 0;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #counts = {
    resolves: 0,
    l1Hits: 0,
    l1Misses: 0,
    fallbackResolves: 0,
    storeLookups: 0,
    storeErrors: 0,
    mappingsCreated: 0,
    pubsubInvalidations: 0,
    statsFlushes: 0,
    epochChanges: 0,
  };

  /** The settings it runs with (a frozen copy of what the constructor was given). */
  readonly settings: Readonly<DirectorySettings>;

  /**
   * Takes its store instead of building one (the factory in
   * src/create-dependencies.ts picks Redis or memory): the store is started
   * by `start()` and closed by `close()`, so it must not be shared.
   */
  constructor(options: DirectoryOptions) {
    if (options.secret.length === 0)
      throw new WarmrouteError('WR_ERR_CONFIG', ['directory secret must not be empty']);
    this.#secret = options.secret;
    this.#prefix = options.tenantPrefix;
    // The config schema checks this too; a directory built by hand gets the same rule.
    try {
      validateTenantPrefix(this.#prefix);
    } catch (err) {
      throw new WarmrouteError('WR_ERR_CONFIG', [(err as Error).message]);
    }
    this.#namespace = options.namespace;
    validateNamespace(this.#namespace);
    this.#clock = options.clock;
    this.#logger = options.logger;
    this.#l1TtlMs = options.l1.ttlMs;
    this.#l1 = new L1Cache({ max: options.l1.max, ttlMs: this.#l1TtlMs, clock: this.#clock });
    this.#flushIntervalMs = options.statsFlushIntervalMs;
    this.settings = Object.freeze({
      tenantPrefix: options.tenantPrefix,
      namespace: options.namespace,
      l1: Object.freeze({ max: options.l1.max, ttlMs: options.l1.ttlMs }),
      statsFlushIntervalMs: options.statsFlushIntervalMs,
    });
    this.#store = options.store;
    this.#store.onEvent((event) => {
      this.#onStoreEvent(event);
    });
  }

  /**
   * The L1 cache's bounds as its lru-cache instance holds them (`settings.l1`
   * is what the constructor was given; this is what runs).
   */
  get l1Limits(): { readonly max: number; readonly ttlMs: number } {
    return this.#l1.limits;
  }

  /** The store behind this directory (tests and benchmarks). */
  get store(): DirectoryStore {
    return this.#store;
  }

  async start(): Promise<void> {
    await this.#store.start();
    this.#refreshDegraded();
    // In the background: requests wait only for the one bucket they need.
    this.#prefetchEpochs(this.#namespace);
    this.#flushEnabled = true;
    if (this.#outcomes.size > 0) this.#armFlush();
  }

  /**
   * The write-behind flush runs one interval after the first outcome it has
   * not taken yet, not on a fixed interval: an idle gateway has nothing to
   * flush and is not woken every second for it (issue 16). Outcomes the store
   * did not take wait one more interval, as before.
   */
  #armFlush(): void {
    if (this.#flushTimer !== undefined || !this.#flushEnabled || this.#closed) return;
    this.#flushTimer = setTimeout(() => {
      this.#flushTimer = undefined;
      void this.flush().finally(() => {
        if (this.#outcomes.size > 0) this.#armFlush();
      });
    }, this.#flushIntervalMs);
    this.#flushTimer.unref();
  }

  resolveCached(key: string, opts: ResolveOptions = {}): Resolution | undefined {
    const namespace = opts.namespace ?? this.#namespace;
    // Looked up before validation: only resolve puts entries in L1, after
    // validating key and namespace, and neither contains NUL, so every id in
    // L1 splits one way only; a hit proves both valid. Anything invalid is a
    // miss, and resolve refuses it.
    const cached = this.#l1.get(l1Id(namespace, key));
    if (cached === undefined) return undefined;
    // '' = no function named (or not a function name): no version read or served.
    const functionId = versionFunctionId(opts.functionName);
    // An entry that holds no version of this function is a miss: serving 0
    // would hide a newer version the store knows from staleness checks.
    if (functionId !== '' && !cached.stateVersions.has(functionId)) return undefined;
    const mode = opts.mode ?? DEFAULT_CALL_MODE;
    let poolSize = 0;
    if (mode === 'pooled') {
      validatePoolSize(opts.poolSize);
      poolSize = opts.poolSize;
    }
    this.#counts.resolves += 1;
    this.#counts.l1Hits += 1;
    return this.#resolution(cached, 'l1', mode, namespace, key, poolSize, functionId);
  }

  async resolve(key: string, opts: ResolveOptions = {}): Promise<Resolution> {
    validateKey(key);
    const namespace = opts.namespace ?? this.#namespace;
    if (opts.namespace !== undefined) validateNamespace(namespace);
    // Fresh mode looks the key up too (L1 first): the tenant is random, but
    // the state scope must name the key's current generation and epoch, so
    // that a rotated key's old state is not handed to a fresh environment.
    const hit = this.resolveCached(key, opts);
    if (hit !== undefined) return hit;
    const mode = opts.mode ?? DEFAULT_CALL_MODE;
    // Pooled mode needs the route's size (the config requires one); other modes ignore it.
    let poolSize = 0;
    if (mode === 'pooled') {
      validatePoolSize(opts.poolSize);
      poolSize = opts.poolSize;
    }
    // '' = no function named (or not a function name): no version read or served.
    const functionId = versionFunctionId(opts.functionName);
    const id = l1Id(namespace, key);
    this.#counts.resolves += 1;
    this.#counts.l1Misses += 1;

    if (this.#storeUsable()) {
      try {
        const entry = await this.#lookup(namespace, key, id, functionId);
        return this.#resolution(entry, 'store', mode, namespace, key, poolSize, functionId);
      } catch (err) {
        // The store answered, with an error about this key (WR_ERR_INTERNAL:
        // a corrupt record): derivation would hide it behind a guess at the
        // key's tenant, and the store is not down, so the error is the answer.
        if (isWarmrouteError(err) && err.code === 'WR_ERR_INTERNAL') throw err;
        this.#noteStoreFailure(err, 'resolve');
      }
    }
    return this.#fallback(namespace, key, id, mode, poolSize, functionId);
  }

  async rotate(
    key: string,
    opts: { namespace?: string } = {},
  ): Promise<{ generation: number; tenantId: string }> {
    const namespace = this.#mutationTarget(key, opts.namespace);
    // Outcomes still buffered carry the old generation's state version; write
    // them first so the rotation's reset to version 0 is the last word.
    await this.flush();
    const { value: generation, epoch } = await this.#mutate('rotate', () =>
      this.#withEpoch(namespace, key, (e) => this.#store.rotate(namespace, e, key)),
    );
    this.#invalidate('rotate', namespace, key, false);
    return {
      generation,
      tenantId: deriveTenantId(this.#secret, this.#prefix, { namespace, epoch, key, generation }),
    };
  }

  async bind(key: string, targetKey: string, opts: { namespace?: string } = {}): Promise<void> {
    const namespace = this.#mutationTarget(key, opts.namespace);
    const problem = keyProblem(targetKey);
    if (problem !== undefined)
      throw new WarmrouteError('WR_ERR_BINDING_INVALID', [`target: ${problem}`]);
    await this.#mutate('bind', () =>
      this.#withEpoch(namespace, key, (e) => this.#store.bind(namespace, e, key, targetKey)),
    );
    this.#invalidate('bind', namespace, key, false);
  }

  async unbind(key: string, opts: { namespace?: string } = {}): Promise<void> {
    const namespace = this.#mutationTarget(key, opts.namespace);
    await this.#mutate('unbind', () =>
      this.#withEpoch(namespace, key, (e) => this.#store.unbind(namespace, e, key)),
    );
    this.#invalidate('unbind', namespace, key, false);
  }

  async forget(key: string, opts: { namespace?: string } = {}): Promise<void> {
    const namespace = this.#mutationTarget(key, opts.namespace);
    await this.#mutate('forget', () =>
      this.#withEpoch(namespace, key, (e) => this.#store.forget(namespace, e, key)),
    );
    this.#invalidate('forget', namespace, key, false);
  }

  recordOutcome(key: string, outcome: OutcomeReport, opts: { namespace?: string } = {}): void {
    const namespace = opts.namespace ?? this.#namespace;
    // Called after the response went out: a bad key is a caller bug, logged rather than thrown.
    if (keyProblem(key) !== undefined || keyProblem(namespace) !== undefined) {
      this.#logger.warn(
        'directory: recordOutcome called with an invalid key or namespace; ignored',
      );
      return;
    }
    // A version is recorded for the function that reported it and no other:
    // a function's word (true or not) only ever concerns its own state.
    const functionId = versionFunctionId(outcome.functionName);
    const stateVersion =
      functionId !== '' &&
      outcome.stateVersion !== undefined &&
      Number.isSafeInteger(outcome.stateVersion) &&
      outcome.stateVersion > 0
        ? outcome.stateVersion
        : 0;
    this.#outcomes.add(
      namespace,
      // The epoch of the key's bucket ('' = not known yet: the flush looks it up).
      this.#epochs.get(epochId(namespace, epochBucket(key))) ?? '',
      key,
      outcome.state,
      // The environment id comes from a function's report: it reaches a Redis
      // hash (Lua ARGV) only when it has the shape the library makes.
      isValidEnvId(outcome.envId) ? outcome.envId : '',
      functionId,
      stateVersion,
      this.#clock(),
    );
    this.#armFlush();
    if (stateVersion > 0) this.#l1.raiseStateVersion(namespace, key, functionId, stateVersion);
  }

  async explain(key: string, opts: { namespace?: string } = {}): Promise<KeyExplanation> {
    validateKey(key);
    const namespace = opts.namespace ?? this.#namespace;
    validateNamespace(namespace);
    const { value: stored, epoch } = await this.#mutate('explain', () =>
      this.#withEpoch(namespace, key, (e) => this.#store.explain(namespace, e, key)),
    );
    this.#noteChainEpochs(namespace, stored.chain);
    const pending = this.#outcomes.peek(namespace, key);
    const last = stored.chain.at(-1);
    const generation = last?.generation ?? stored.generation;
    // A bound key's tenant is its chain end's, derived from that key's bucket's epoch.
    const tenantEpoch = last?.epoch ?? epoch;
    const lastSeenMs = Math.max(stored.lastSeenMs ?? 0, pending?.lastSeenMs ?? 0);
    const lastEnvId =
      pending !== undefined && pending.envId !== '' ? pending.envId : stored.lastEnvId;
    return {
      key,
      namespace,
      known: stored.exists,
      tenantId: deriveTenantId(this.#secret, this.#prefix, {
        namespace,
        epoch: tenantEpoch,
        key: last?.key ?? key,
        generation,
      }),
      epoch: tenantEpoch,
      ownEpoch: epoch,
      generation: stored.generation,
      chain: stored.chain,
      stateVersions: mergeVersions(stored.stateVersions, pending?.stateVersions),
      counts: {
        hit: stored.counts.hit + (pending?.hit ?? 0),
        rehydrated: stored.counts.rehydrated + (pending?.rehydrated ?? 0),
        fresh: stored.counts.fresh + (pending?.fresh ?? 0),
        unknown: stored.counts.unknown + (pending?.unknown ?? 0),
      },
      pendingOutcomes:
        pending === undefined
          ? 0
          : pending.hit + pending.rehydrated + pending.fresh + pending.unknown,
      store: this.#store.kind,
      ...(stored.binding === undefined ? {} : { binding: stored.binding }),
      ...(lastEnvId === undefined ? {} : { lastEnvId }),
      ...(stored.createdMs === undefined
        ? {}
        : { createdAt: new Date(stored.createdMs).toISOString() }),
      ...(lastSeenMs > 0 ? { lastSeenAt: new Date(lastSeenMs).toISOString() } : {}),
      ...(stored.expiresInSeconds === undefined
        ? {}
        : { expiresInSeconds: stored.expiresInSeconds }),
    };
  }

  health(): DirectoryHealth {
    this.#refreshDegraded();
    const reason = this.#degradedReason();
    if (reason === undefined) return { status: 'ok', store: this.#store.kind };
    // #refreshDegraded has just set the start of the spell; the clock is only a type-level fallback.
    const since = this.#degradedSinceMs ?? this.#clock();
    return {
      status: 'degraded',
      reason,
      degradedSince: new Date(since).toISOString(),
      store: this.#store.kind,
    };
  }

  counters(): DirectoryCounters {
    this.#refreshDegraded();
    const since = this.#degradedSinceMs;
    const degradedMs =
      this.#degradedTotalMs + (since === undefined ? 0 : Math.max(0, this.#clock() - since));
    return {
      ...this.#counts,
      statsPending: this.#outcomes.size,
      statsDropped: this.#outcomes.dropped,
      degraded: since !== undefined,
      degradedSeconds: degradedMs / 1000,
    };
  }

  onInvalidate(listener: (notice: InvalidationNotice) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async flush(): Promise<void> {
    await this.#flushPass();
  }

  /** One pass at a time: a caller arriving during one waits for that one. */
  #flushPass(): Promise<boolean> {
    this.#flushing ??= this.#flushOnce().finally(() => {
      this.#flushing = undefined;
    });
    return this.#flushing;
  }

  /** Every call returns the first one's promise: a second close() resolves once the store is closed. */
  close(): Promise<void> {
    this.#closing ??= this.#closeOnce();
    return this.#closing;
  }

  async #closeOnce(): Promise<void> {
    this.#closed = true;
    if (this.#flushTimer !== undefined) clearTimeout(this.#flushTimer);
    // A pass already in flight took its batch before the outcomes recorded
    // since; they need another pass, as long as the store keeps taking them.
    let stored = await this.#flushPass();
    while (stored && this.#outcomes.size > 0) stored = await this.#flushPass();
    if (this.#outcomes.size > 0) {
      this.#logger.warn(
        { keys: this.#outcomes.size },
        'directory: closing with outcomes the store could not take; they are lost',
      );
    }
    await this.#store.close();
  }

  // ---- request path -------------------------------------------------------

  #resolution(
    entry: L1Entry,
    source: Resolution['source'],
    mode: RoutingMode,
    namespace: string,
    key: string,
    poolSize: number,
    functionId: string,
  ): Resolution {
    // The entry's versions are those of the affinity state's key (the chain's
    // last key when bound). An entry without this function's version (a stale
    // or derived one while the store is down) still knows what this replica
    // has not flushed yet.
    const stateKey = entry.chain.at(-1)?.key ?? key;
    const stateVersion =
      functionId === ''
        ? 0
        : (entry.stateVersions.get(functionId) ??
          this.#outcomes.pendingVersion(namespace, stateKey, functionId));
    if (mode !== 'affinity') {
      // Pooled and fresh tenants ignore bindings and generations (the slot, or
      // chance, decides the environment); the state stays the key's own, of
      // its own generation.
      const state: StateScope = {
        namespace,
        epoch: entry.ownEpoch,
        generation: entry.generation,
        key,
      };
      // Pooled mode ignores bindings: the version is the key's own.
      const ownVersion =
        functionId === ''
          ? 0
          : (entry.ownStateVersions.get(functionId) ??
            this.#outcomes.pendingVersion(namespace, key, functionId));
      return {
        tenantId:
          mode === 'pooled'
            ? this.#poolTenant(namespace, key, poolSize)
            : randomTenantId(this.#prefix),
        generation: 0,
        stateVersion: mode === 'pooled' ? ownVersion : 0,
        source,
        mode,
        state,
      };
    }
    // The entry's own state object (made with it: same namespace and key).
    const boundTo = entry.boundTo;
    if (boundTo === undefined) {
      return {
        tenantId: entry.tenantId,
        generation: entry.effectiveGeneration,
        stateVersion,
        source,
        mode,
        state: entry.affinityState,
      };
    }
    return {
      tenantId: entry.tenantId,
      generation: entry.effectiveGeneration,
      stateVersion,
      source,
      mode,
      state: entry.affinityState,
      boundTo,
    };
  }

  #poolTenant(namespace: string, key: string, poolSize: number): string {
    const slot = poolSlot(this.#secret, namespace, key, poolSize);
    const cacheId = `${namespace}\u0000${poolSize}\u0000${slot}`;
    let tenantId = this.#poolTenants.get(cacheId);
    if (tenantId === undefined) {
      if (this.#poolTenants.size >= MAX_POOL_TENANT_CACHE) this.#poolTenants.clear();
      tenantId = poolTenantId(this.#secret, this.#prefix, namespace, poolSize, slot);
      this.#poolTenants.set(cacheId, tenantId);
    }
    return tenantId;
  }

  #lookup(namespace: string, key: string, id: string, functionId: string): Promise<L1Entry> {
    // Concurrent misses share a lookup only when they want the same function's version.
    const inflightId = `${id}\u0000${functionId}`;
    const pending = this.#inflight.get(inflightId);
    if (pending !== undefined) return pending;
    const invalidations = this.#invalidations;
    this.#counts.storeLookups += 1;
    const lookup = this.#withEpoch(namespace, key, (epoch) =>
      this.#store.resolve(namespace, epoch, key, functionId),
    )
      .then(({ value: stored, epoch }) => {
        this.#noteStoreSuccess();
        if (stored.created) this.#counts.mappingsCreated += 1;
        const entry = this.#entryFrom(namespace, key, stored, epoch, functionId);
        if (this.#invalidations === invalidations) {
          // No invalidation since the read began, so a live entry of the same
          // epoch describes the same mapping: the versions it knows of other
          // functions stay known (each function costs one store read per TTL).
          const live = this.#l1.get(id);
          if (live !== undefined && live.epoch === entry.epoch && live.ownEpoch === epoch) {
            for (const [otherId, version] of live.stateVersions) {
              if (!entry.stateVersions.has(otherId)) entry.stateVersions.set(otherId, version);
            }
            for (const [otherId, version] of live.ownStateVersions) {
              if (!entry.ownStateVersions.has(otherId))
                entry.ownStateVersions.set(otherId, version);
            }
          }
          this.#l1.set(namespace, key, entry);
        }
        return entry;
      })
      .finally(() => {
        // An invalidation may have replaced this lookup with a newer one; leave that one alone.
        if (this.#inflight.get(inflightId) === lookup) this.#inflight.delete(inflightId);
      });
    this.#inflight.set(inflightId, lookup);
    return lookup;
  }

  // ---- epochs ---------------------------------------------------------------
  // Epochs are per (namespace, bucket) (epoch-bucket.ts; docs/protocol.md,
  // "Directory epochs"): a key's tenant ID and state scope derive from its
  // bucket's epoch, so a Redis Cluster shard that loses its data moves only
  // its own buckets' keys.

  /**
   * Read every bucket's epoch of `namespace` in the background, once (again
   * after EPOCH_PREFETCH_RETRY_MS when some could not be read): after that, an
   * L1 miss costs one store call, and derivation while the store is down
   * knows the epoch of every bucket. Requests never wait for it, only for the
   * one bucket they need (#knownEpoch shares that load).
   */
  #prefetchEpochs(namespace: string): void {
    this.#namespaces.add(namespace);
    if (this.#completeNamespaces.has(namespace) || this.#prefetches.has(namespace)) return;
    if (this.#closed || !this.#store.available()) return;
    if (this.#clock() < (this.#prefetchRetryAtMs.get(namespace) ?? 0)) return;
    const startedMs = this.#clock();
    const prefetch = forEveryBucket((bucket) => this.#knownEpoch(namespace, bucket))
      .then((all) => {
        if (all) {
          this.#completeNamespaces.add(namespace);
          const ms = Math.max(0, this.#clock() - startedMs);
          this.#logger.info(
            { namespace, buckets: EPOCH_BUCKETS, ms },
            `directory: epochs of namespace ${namespace} read (${EPOCH_BUCKETS} buckets) in ${ms} ms`,
          );
        } else this.#prefetchRetryAtMs.set(namespace, this.#clock() + EPOCH_PREFETCH_RETRY_MS);
      })
      .finally(() => {
        this.#prefetches.delete(namespace);
      });
    this.#prefetches.set(namespace, prefetch);
  }

  /**
   * Resolves when the prefetch of `namespace`'s epochs that is running (if
   * any) has ended, read or not (tests and tools: requests never wait for it).
   */
  epochsLoaded(namespace: string = this.#namespace): Promise<void> {
    return this.#prefetches.get(namespace) ?? Promise.resolve();
  }

  /** The bucket's epoch as this replica knows it (read or created in the store on first use). */
  #knownEpoch(namespace: string, bucket: number): Promise<string> {
    const id = epochId(namespace, bucket);
    const known = this.#epochs.get(id);
    if (known !== undefined) return Promise.resolve(known);
    let load = this.#epochLoads.get(id);
    if (load === undefined) {
      load = this.#store
        .epoch(namespace, bucket, newEpoch())
        .then((epoch) => {
          this.#adoptEpoch(namespace, bucket, epoch, 'found');
          return epoch;
        })
        .finally(() => {
          this.#epochLoads.delete(id);
        });
      this.#epochLoads.set(id, load);
    }
    return load;
  }

  /**
   * Run a store call about `key` under the epoch of its bucket. When the
   * store answers that the epoch is missing (its data was lost) or another
   * one, adopt the store's epoch — or create a new one, from a fresh random
   * candidate, never from the one this replica knew — and call again.
   * Returns the epoch the call succeeded under.
   */
  async #withEpoch<T>(
    namespace: string,
    key: string,
    call: (epoch: string) => Promise<T>,
  ): Promise<{ value: T; epoch: string }> {
    this.#prefetchEpochs(namespace);
    const bucket = epochBucket(key);
    let epoch = await this.#knownEpoch(namespace, bucket);
    for (let attempt = 1; ; attempt++) {
      try {
        return { value: await call(epoch), epoch };
      } catch (err) {
        if (!(err instanceof EpochMismatchError)) throw err;
        if (attempt >= EPOCH_ATTEMPTS) {
          throw new WarmrouteError(
            'WR_ERR_STORE_UNAVAILABLE',
            ["the epoch of the key's bucket keeps changing"],
            {
              cause: err,
              retryAfterSeconds: 1,
            },
          );
        }
        epoch =
          err.current !== '' ? err.current : await this.#store.epoch(namespace, bucket, newEpoch());
        this.#adoptEpoch(namespace, bucket, epoch, 'found');
      }
    }
  }

  /**
   * An epoch announced on the channel is a hint, not a fact: anyone who can
   * PUBLISH could send one, and adopting it blindly would clear L1 and make
   * derivation (while the store is down) use the sender's epoch. The bucket's
   * epoch is read from the store and only that is adopted. At most one read
   * per bucket is in flight; announcements arriving meanwhile ask for one
   * more read after it (a real change may have landed after the first read
   * was answered), so a flood of messages costs two reads per bucket per
   * round trip, not one per message. While the store is unavailable nothing
   * is read: the next store call about the bucket finds any real change.
   */
  #confirmEpoch(namespace: string, bucket: number, announced: string): void {
    const id = epochId(namespace, bucket);
    if (this.#epochs.get(id) === announced) return;
    const confirming = this.#epochConfirms.get(id);
    if (confirming !== undefined) {
      confirming.again = announced;
      return;
    }
    if (this.#closed || !this.#store.available()) return;
    const state: { again: string | undefined } = { again: undefined };
    this.#epochConfirms.set(id, state);
    void this.#store
      .epoch(namespace, bucket, newEpoch())
      .then(
        (epoch) => {
          this.#adoptEpoch(namespace, bucket, epoch, 'announced');
        },
        () => undefined,
      )
      .finally(() => {
        this.#epochConfirms.delete(id);
        if (state.again !== undefined) this.#confirmEpoch(namespace, bucket, state.again);
      });
  }

  /**
   * The chain links' epochs are their buckets' current ones (the store read
   * them with the links): adopt any this replica has not seen, so a bound
   * key never keeps a tenant of a lost epoch of its target's bucket.
   */
  #noteChainEpochs(namespace: string, chain: readonly ChainLink[]): void {
    for (const link of chain) {
      const bucket = epochBucket(link.key);
      if (this.#epochs.get(epochId(namespace, bucket)) !== link.epoch)
        this.#adoptEpoch(namespace, bucket, link.epoch, 'found');
    }
  }

  /**
   * One bucket of a namespace moved to another epoch: tenant IDs and state
   * scopes cached for the old one are wrong now (the bucket's keys', and
   * those of keys bound to them), and so are outcome counts gathered under
   * it. L1 is dropped whole, like a resync: simpler than finding every entry
   * that depends on the bucket, and a loss is rare. A change this replica
   * `found` itself (not one another replica `announced`: that replica
   * rechecks) makes it read the namespace's other buckets again.
   */
  #adoptEpoch(
    namespace: string,
    bucket: number,
    epoch: string,
    how: 'found' | 'announced' | 'rechecked',
  ): void {
    const id = epochId(namespace, bucket);
    const previous = this.#epochs.get(id);
    this.#epochs.set(id, epoch);
    if (previous === undefined || previous === epoch) return;
    this.#counts.epochChanges += 1;
    const now = this.#clock();
    if (
      now >=
      (this.#epochWarnedAtMs.get(namespace) ?? Number.NEGATIVE_INFINITY) + EPOCH_WARN_INTERVAL_MS
    ) {
      this.#epochWarnedAtMs.set(namespace, now);
      this.#logger.warn(
        { namespace, bucket, epochChanges: this.#counts.epochChanges },
        'directory: the epoch of a key bucket changed (the store lost its data): its keys move to a new tenant once',
      );
    }
    this.#outcomes.keepOnlyEpoch(namespace, bucket, epoch);
    this.#invalidate('resync', '', '', false);
    if (how === 'found') this.#recheckEpochs(namespace);
  }

  /**
   * One bucket's epoch was found changed: whatever lost it (a cluster shard
   * that lost its data, a FLUSHALL) most likely lost other buckets' too.
   * Read them all again now, in the background, rather than each at its
   * first request: the keys move in one burst (L1 refilled once, not once
   * per bucket, here and, through the announcements, on other replicas),
   * and derivation while the store is down stops naming epochs that are
   * gone. At most once per EPOCH_RECHECK_INTERVAL_MS per namespace.
   */
  #recheckEpochs(namespace: string): void {
    const now = this.#clock();
    const last = this.#recheckedAtMs.get(namespace);
    if (this.#closed || (last !== undefined && now < last + EPOCH_RECHECK_INTERVAL_MS)) return;
    this.#recheckedAtMs.set(namespace, now);
    void forEveryBucket((bucket) =>
      this.#store.epoch(namespace, bucket, newEpoch()).then((epoch) => {
        this.#adoptEpoch(namespace, bucket, epoch, 'rechecked');
      }),
    ).then((all) => {
      // Unread buckets are checked by their next store call; the next change found rechecks at once.
      if (!all) this.#recheckedAtMs.delete(namespace);
    });
  }

  /**
   * The epoch this replica uses for `key` in `namespace` (its bucket's;
   * tests and tools): the process-local one when it has never seen that
   * bucket's.
   */
  epochOf(namespace: string, key: string): string {
    return this.#epochs.get(epochId(namespace, epochBucket(key))) ?? this.#localEpoch;
  }

  #entryFrom(
    namespace: string,
    key: string,
    stored: StoreResolution,
    epoch: string,
    functionId: string,
  ): L1Entry {
    this.#noteChainEpochs(namespace, stored.chain);
    const last = stored.chain.at(-1);
    // A bound key's tenant and state are its chain end's, of that key's bucket's epoch.
    const tenantEpoch = last?.epoch ?? epoch;
    const effectiveGeneration = last?.generation ?? stored.generation;
    // Outcomes not yet flushed may already know a newer version than the
    // store; they are buffered under the key whose state it is (the chain's
    // last key when bound), whose version the store returned.
    const stateVersions = new Map<string, number>();
    // Unbound, the key's own versions are its state's: one map, raised once.
    const ownStateVersions = last === undefined ? stateVersions : new Map<string, number>();
    if (functionId !== '') {
      stateVersions.set(
        functionId,
        Math.max(
          stored.stateVersion,
          this.#outcomes.pendingVersion(namespace, last?.key ?? key, functionId),
        ),
      );
      if (last !== undefined) {
        ownStateVersions.set(
          functionId,
          Math.max(
            stored.ownStateVersion,
            this.#outcomes.pendingVersion(namespace, key, functionId),
          ),
        );
      }
    }
    return {
      generation: stored.generation,
      chain: stored.chain,
      effectiveGeneration,
      epoch: tenantEpoch,
      ownEpoch: epoch,
      tenantId: deriveTenantId(this.#secret, this.#prefix, {
        namespace,
        epoch: tenantEpoch,
        key: last?.key ?? key,
        generation: effectiveGeneration,
      }),
      stateVersions,
      ownStateVersions,
      affinityState: {
        namespace,
        epoch: tenantEpoch,
        generation: effectiveGeneration,
        key: last?.key ?? key,
      },
      boundTo: last?.key,
    };
  }

  #fallback(
    namespace: string,
    key: string,
    id: string,
    mode: RoutingMode,
    poolSize: number,
    functionId: string,
  ): Resolution {
    this.#counts.fallbackResolves += 1;
    const stale = this.#l1.getStale(id);
    if (stale !== undefined)
      return this.#resolution(stale, 'l1', mode, namespace, key, poolSize, functionId);
    // The epoch of the key's bucket last seen in the store (all of a used
    // namespace's are prefetched); never having seen it (started while Redis
    // was down), a process-local one: fresh environments, never old ones.
    const epoch = this.epochOf(namespace, key);
    const stateVersions = new Map<string, number>();
    const derived: L1Entry = {
      generation: 0,
      chain: [],
      effectiveGeneration: 0,
      epoch,
      ownEpoch: epoch,
      tenantId: deriveTenantId(this.#secret, this.#prefix, {
        namespace,
        epoch,
        key,
        generation: 0,
      }),
      // Empty: #resolution falls back to the versions this replica has not flushed.
      stateVersions,
      ownStateVersions: stateVersions,
      affinityState: { namespace, epoch, generation: 0, key },
      boundTo: undefined,
    };
    // Not cached: the store may know an override, and it should be asked again once it is back.
    return this.#resolution(derived, 'derived', mode, namespace, key, poolSize, functionId);
  }

  #storeUsable(): boolean {
    return this.#store.available() && this.#clock() >= this.#retryStoreAtMs;
  }

  // ---- mutations ------------------------------------------------------------

  #mutationTarget(key: string, namespace: string | undefined): string {
    validateKey(key);
    const ns = namespace ?? this.#namespace;
    validateNamespace(ns);
    return ns;
  }

  /** An admin operation (a change, or explain's read): the store's answer or its error, nothing derived. */
  async #mutate<T>(op: MutationOp | 'explain', call: () => Promise<T>): Promise<T> {
    try {
      const result = await call();
      this.#noteStoreSuccess();
      return result;
    } catch (err) {
      // Contention (another replica held the bind lock) is not a store failure.
      if (isStoreFailure(err)) this.#noteStoreFailure(err, op);
      throw err;
    }
  }

  #invalidate(op: MutationOp | 'resync', namespace: string, key: string, remote: boolean): void {
    this.#invalidations += 1;
    // A lookup already in flight may have read the old mapping: later resolves must not join it.
    this.#inflight.clear();
    if (op === 'resync') this.#l1.clear();
    else this.#l1.invalidate(namespace, key);
    const notice: InvalidationNotice = { op, namespace, key, remote };
    for (const listener of this.#listeners) {
      try {
        listener(notice);
      } catch (err) {
        this.#logger.error({ err }, 'directory: invalidation listener threw');
      }
    }
  }

  #onStoreEvent(event: StoreEvent): void {
    switch (event.type) {
      case 'invalidate':
        if (event.remote) this.#counts.pubsubInvalidations += 1;
        this.#invalidate(event.op, event.namespace, event.key, event.remote);
        break;
      case 'state-versions':
        for (const [namespace, key, functionId, stateVersion] of event.updates) {
          this.#l1.raiseStateVersion(namespace, key, functionId, stateVersion);
        }
        break;
      case 'resync':
        this.#invalidate('resync', '', '', true);
        break;
      case 'epoch':
        // Only a namespace this replica uses: others are read when first needed.
        if (
          this.#namespaces.has(event.namespace) &&
          Number.isInteger(event.bucket) &&
          event.bucket >= 0 &&
          event.bucket < EPOCH_BUCKETS
        )
          this.#confirmEpoch(event.namespace, event.bucket, event.epoch);
        break;
      case 'status':
        if (event.commands) this.#noteStoreSuccess();
        this.#refreshDegraded();
        break;
    }
  }

  // ---- write-behind ---------------------------------------------------------

  /** Writes what is buffered; false if the store did not take all of it (the rest is kept). */
  async #flushOnce(): Promise<boolean> {
    const drained = this.#outcomes.drain();
    // Outcomes recorded before this replica knew their key's bucket's epoch
    // take the current one; each such key's bucket is hashed once.
    const unknown = new Map<string, { namespace: string; bucket: number }>();
    const unknownIds = drained.map((d) => {
      if (d.epoch !== '') return undefined;
      const bucket = epochBucket(d.key);
      const id = epochId(d.namespace, bucket);
      unknown.set(id, { namespace: d.namespace, bucket });
      return id;
    });
    await Promise.all(
      [...unknown.values()].map(({ namespace, bucket }) =>
        this.#knownEpoch(namespace, bucket).catch(() => undefined),
      ),
    );
    const batch = drained.map((d, i) => {
      const id = unknownIds[i];
      return id === undefined ? d : { ...d, epoch: this.#epochs.get(id) ?? '' };
    });
    for (let i = 0; i < batch.length; i += FLUSH_CHUNK) {
      const chunk = batch.slice(i, i + FLUSH_CHUNK);
      let failed: readonly (typeof chunk)[number][];
      try {
        failed = await this.#store.recordOutcomes(chunk);
      } catch (err) {
        this.#logger.debug({ err }, 'directory: outcome flush failed');
        failed = chunk;
      }
      if (failed.length > 0) {
        this.#outcomes.restore(failed);
        // The rest would fail the same way; keep it for the next flush.
        this.#outcomes.restore(batch.slice(i + FLUSH_CHUNK));
        return false;
      }
      this.#counts.statsFlushes += 1;
    }
    return true;
  }

  // ---- health ---------------------------------------------------------------

  /**
   * A store call failed: resolves derive tenants for STORE_RETRY_MS, then ask
   * the store again. Logged once until a call succeeds, saying what happened
   * to the call that failed: a resolve was answered by derivation, an admin
   * operation was refused (503), nothing derived for it.
   */
  #noteStoreFailure(err: unknown, during: 'resolve' | MutationOp | 'explain'): void {
    this.#counts.storeErrors += 1;
    const message = err instanceof Error ? err.message : String(err);
    if (this.#failure === undefined) {
      this.#logger.warn(
        { err, op: during },
        during === 'resolve'
          ? 'directory: store call failed during resolve; resolving by derivation'
          : `directory: store call failed during ${during}; ${during} refused (503), resolves derive tenants until a store call succeeds`,
      );
    }
    this.#failure = message;
    this.#retryStoreAtMs = this.#clock() + STORE_RETRY_MS;
    this.#refreshDegraded();
  }

  #noteStoreSuccess(): void {
    if (this.#failure === undefined) return;
    this.#failure = undefined;
    this.#retryStoreAtMs = 0;
    // Only this call is known to have succeeded: on a Redis Cluster it may
    // have gone to a healthy shard while a failed one still fails its keys'
    // calls (each failure is noted again, see #noteStoreFailure).
    this.#logger.info(
      'directory: a store call succeeded again; resolves ask the store again (on a Redis Cluster, a failed shard may still fail its keys)',
    );
    this.#refreshDegraded();
  }

  #degradedReason(): string | undefined {
    if (this.#store.kind === 'memory') return undefined;
    if (!this.#store.available()) {
      // A wrong password (WRONGPASS, NOAUTH) must not read like a Redis that is down.
      const why = this.#failure ?? this.#store.unavailableReason();
      return `Redis unreachable${why === undefined ? '' : ` (${why})`}: resolving by derivation, mutations refused`;
    }
    if (this.#failure !== undefined)
      return `Redis calls failing (${this.#failure}): resolving by derivation`;
    if (!this.#store.pubsubUp()) {
      return `Redis pub/sub down: other replicas' changes reach this one within the L1 TTL (${this.#l1TtlMs} ms)`;
    }
    return undefined;
  }

  #refreshDegraded(): void {
    const degraded = this.#degradedReason() !== undefined;
    const now = this.#clock();
    if (degraded && this.#degradedSinceMs === undefined) {
      this.#degradedSinceMs = now;
    } else if (!degraded && this.#degradedSinceMs !== undefined) {
      this.#degradedTotalMs += Math.max(0, now - this.#degradedSinceMs);
      this.#degradedSinceMs = undefined;
    }
  }
}

/**
 * Whether a store call's error means the store failed (unreachable, timing
 * out): not an error about the data (WR_ERR_INTERNAL, WR_ERR_BINDING_INVALID)
 * and not contention (StoreBusyError), which say nothing about its health.
 */
function isStoreFailure(err: unknown): boolean {
  return (
    isWarmrouteError(err) &&
    err.code === 'WR_ERR_STORE_UNAVAILABLE' &&
    !(err instanceof StoreBusyError)
  );
}

/** Stored versions raised by the ones not flushed yet. */
function mergeVersions(
  stored: Readonly<Record<string, number>>,
  pending: ReadonlyMap<string, number> | undefined,
): Record<string, number> {
  const merged = new Map(Object.entries(stored));
  for (const [functionId, version] of pending ?? []) {
    merged.set(functionId, Math.max(merged.get(functionId) ?? 0, version));
  }
  // fromEntries defines properties, so a function named `__proto__` stays an ordinary key.
  return Object.fromEntries(merged);
}
