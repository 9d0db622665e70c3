import { ReplyCode } from '../redis/reply-codes.js';
import { storeError } from '../redis/reply-errors.js';
import {
  MAX_CHAIN_DEPTH,
  type ChainLink,
  type DirectoryStore,
  type OutcomeDelta,
  type StoreEvent,
  type StoreResolution,
  type StoredKey,
} from './store.js';
import { EPOCH_BUCKETS, epochBucket, newEpoch } from './epoch-bucket.js';
import { isStateFunctionId } from './state-function.js';

/** One link of a binding chain, as the Redis store's follow-link script returns it. */
interface ChainStep {
  readonly key: string;
  /** Undefined when absent (never stored, expired or forgotten). */
  readonly record: MemoryRecord | undefined;
  /** The epoch of the link's bucket (created when missing, as follow-link does). */
  readonly epoch: string;
}

interface MemoryRecord {
  createdMs: number;
  generation: number;
  binding: string | undefined;
  /** Function → latest state version (versions are per function, like snapshots). */
  stateVersions: Map<string, number>;
  envId: string | undefined;
  hit: number;
  rehydrated: number;
  fresh: number;
  unknown: number;
  lastSeenMs: number | undefined;
  expiresAtMs: number;
}

/** Every option is required: the config schema is the only place that knows a default. */
export interface MemoryStoreOptions {
  /** 0 = never expire. */
  readonly idleTtlSeconds: number;
  readonly clock: () => number;
}

const SWEEP_INTERVAL_MS = 60_000;

/**
 * The embedded store (no REDIS_URL): one process, so no pub/sub. Same
 * contract as the Redis store, including idle expiry, evaluated lazily on
 * access and by a periodic sweep so forgotten keys do not pile up. Its
 * epochs (one per namespace and bucket, epoch-bucket.ts) live and die with
 * the instance: a new process (whose records are gone) gets new ones, so no
 * key is derived into an earlier tenant. Nothing ever loses one epoch alone,
 * so records need no epoch stamp (the Redis store's `ep` field).
 */
export class MemoryDirectoryStore implements DirectoryStore {
  readonly kind = 'memory';
  readonly #records = new Map<string, MemoryRecord>();
  /** Epoch per (namespace, bucket), keyed by epochId. */
  readonly #epochs = new Map<string, string>();
  readonly #ttlMs: number;
  readonly #clock: () => number;
  #sweeper: NodeJS.Timeout | undefined;

  constructor(options: MemoryStoreOptions) {
    this.#ttlMs = options.idleTtlSeconds * 1000;
    this.#clock = options.clock;
  }

  start(): Promise<void> {
    if (this.#ttlMs > 0) {
      this.#sweeper = setInterval(() => {
        this.sweep();
      }, SWEEP_INTERVAL_MS);
      this.#sweeper.unref();
    }
    return Promise.resolve();
  }

  available(): boolean {
    return true;
  }

  unavailableReason(): string | undefined {
    return undefined;
  }

  pubsubUp(): boolean {
    return true;
  }

  /** Drop expired records (also runs periodically). */
  sweep(): void {
    const now = this.#clock();
    for (const [id, record] of this.#records) {
      if (this.#expired(record, now)) this.#records.delete(id);
    }
  }

  epoch(namespace: string, bucket: number, candidate: string): Promise<string> {
    if (!Number.isInteger(bucket) || bucket < 0 || bucket >= EPOCH_BUCKETS) {
      return Promise.reject(
        new RangeError(`epoch bucket must be an integer from 0 to ${EPOCH_BUCKETS - 1}`),
      );
    }
    return Promise.resolve(this.#ensureEpoch(namespace, bucket, candidate));
  }

  /** The bucket's epoch, set to `candidate` when it has none (ensure-epoch-1.lua). */
  #ensureEpoch(namespace: string, bucket: number, candidate: string): string {
    const id = epochId(namespace, bucket);
    let epoch = this.#epochs.get(id);
    if (epoch === undefined) {
      epoch = candidate;
      this.#epochs.set(id, epoch);
    }
    return epoch;
  }

  /**
   * The error to answer with (before anything is touched) unless `epoch` is
   * that of `key`'s bucket in the namespace: EPOCH_MISMATCH, as epochMismatch
   * in src/redis/lua/includes/epoch-check.lua.
   */
  #mismatch(namespace: string, key: string, epoch: string): Error | undefined {
    const current = this.#epochs.get(epochId(namespace, epochBucket(key))) ?? '';
    return current !== epoch || current === ''
      ? storeError(ReplyCode.EPOCH_MISMATCH, current)
      : undefined;
  }

  resolve(
    namespace: string,
    epoch: string,
    key: string,
    functionId: string,
  ): Promise<StoreResolution> {
    const mismatch = this.#mismatch(namespace, key, epoch);
    if (mismatch !== undefined) return Promise.reject(mismatch);
    const now = this.#clock();
    let record = this.#get(namespace, key, now);
    let created = false;
    if (record === undefined) {
      record = this.#create(namespace, key, now);
      created = true;
    } else if (Number.isNaN(record.createdMs)) {
      // Like HSETNX on `created` in resolve-key-2.lua: a record made by outcomes or kept by forget.
      record.createdMs = now;
      created = true;
    }
    this.#touch(record, now);
    const chain = this.#chain(namespace, record.binding, now, true);
    // Like resolve-key-2.lua: a bound key uses its chain end's state, and
    // outcomes are recorded there, so that key's version is the one to serve.
    const last = chain.at(-1);
    const stateRecord = last === undefined ? record : this.#get(namespace, last.key, now);
    return Promise.resolve({
      created,
      generation: record.generation,
      stateVersion: functionId === '' ? 0 : (stateRecord?.stateVersions.get(functionId) ?? 0),
      chain,
      ownStateVersion: functionId === '' ? 0 : (record.stateVersions.get(functionId) ?? 0),
    });
  }

  rotate(namespace: string, epoch: string, key: string): Promise<number> {
    const mismatch = this.#mismatch(namespace, key, epoch);
    if (mismatch !== undefined) return Promise.reject(mismatch);
    const now = this.#clock();
    const record = this.#get(namespace, key, now) ?? this.#create(namespace, key, now);
    record.generation += 1;
    // A new generation has state of its own: every function's version starts again.
    record.stateVersions.clear();
    this.#touch(record, now);
    return Promise.resolve(record.generation);
  }

  bind(namespace: string, epoch: string, key: string, target: string): Promise<void> {
    const mismatch = this.#mismatch(namespace, key, epoch);
    if (mismatch !== undefined) return Promise.reject(mismatch);
    const now = this.#clock();
    if (target === key) return Promise.reject(storeError(ReplyCode.SELF_BINDING));
    // The Redis store's checks on the same walk, so both stores reject exactly the same bindings.
    const { links, rest } = this.#follow(namespace, target, now);
    if (links.some((link) => link.record?.binding === key)) {
      return Promise.reject(storeError(ReplyCode.CYCLE));
    }
    if (rest !== undefined) return Promise.reject(storeError(ReplyCode.TOO_DEEP));
    const record = this.#get(namespace, key, now) ?? this.#create(namespace, key, now);
    record.binding = target;
    this.#touch(record, now);
    return Promise.resolve();
  }

  unbind(namespace: string, epoch: string, key: string): Promise<boolean> {
    const mismatch = this.#mismatch(namespace, key, epoch);
    if (mismatch !== undefined) return Promise.reject(mismatch);
    const record = this.#get(namespace, key, this.#clock());
    const had = record?.binding !== undefined;
    if (record !== undefined) record.binding = undefined;
    return Promise.resolve(had);
  }

  forget(namespace: string, epoch: string, key: string): Promise<boolean> {
    const mismatch = this.#mismatch(namespace, key, epoch);
    if (mismatch !== undefined) return Promise.reject(mismatch);
    const now = this.#clock();
    const record = this.#get(namespace, key, now);
    this.#records.delete(recordId(namespace, key));
    if (record === undefined) return Promise.resolve(false);
    const tombstoneOnly = isGenerationOnly(record);
    if (record.generation > 0) {
      // Like forget-key-2.lua: the generation stays, so a rotated key never returns to an earlier tenant.
      const kept = this.#create(namespace, key, now);
      kept.createdMs = Number.NaN;
      kept.generation = record.generation;
    }
    return Promise.resolve(!tombstoneOnly);
  }

  recordOutcomes(batch: readonly OutcomeDelta[]): Promise<readonly OutcomeDelta[]> {
    const now = this.#clock();
    for (const delta of batch) {
      // Like record-outcome-2.lua: outcomes of another epoch are dropped.
      if (this.#epochs.get(epochId(delta.namespace, epochBucket(delta.key))) !== delta.epoch)
        continue;
      let record = this.#get(delta.namespace, delta.key, now);
      if (record === undefined) {
        // Like HINCRBY on a missing hash: outcomes of a forgotten key recreate a record without `created`.
        record = this.#create(delta.namespace, delta.key, now);
        record.createdMs = Number.NaN;
      }
      record.hit += delta.hit;
      record.rehydrated += delta.rehydrated;
      record.fresh += delta.fresh;
      record.unknown += delta.unknown;
      record.lastSeenMs = delta.lastSeenMs;
      if (delta.envId !== '') record.envId = delta.envId;
      for (const [functionId, version] of delta.stateVersions) {
        // Like record-outcome-2.lua: a name that cannot be a function's is not stored.
        if (!isStateFunctionId(functionId)) continue;
        if (version > (record.stateVersions.get(functionId) ?? 0))
          record.stateVersions.set(functionId, version);
      }
      this.#touch(record, now);
    }
    return Promise.resolve([]);
  }

  explain(namespace: string, epoch: string, key: string): Promise<StoredKey> {
    const mismatch = this.#mismatch(namespace, key, epoch);
    if (mismatch !== undefined) return Promise.reject(mismatch);
    const now = this.#clock();
    const record = this.#get(namespace, key, now);
    if (record === undefined) {
      return Promise.resolve({
        exists: false,
        generation: 0,
        chain: [],
        stateVersions: {},
        counts: { hit: 0, rehydrated: 0, fresh: 0, unknown: 0 },
      });
    }
    const explained: StoredKey = {
      exists: true,
      generation: record.generation,
      chain: this.#chain(namespace, record.binding, now, false),
      stateVersions: Object.fromEntries(record.stateVersions),
      counts: {
        hit: record.hit,
        rehydrated: record.rehydrated,
        fresh: record.fresh,
        unknown: record.unknown,
      },
      ...(record.binding === undefined ? {} : { binding: record.binding }),
      ...(record.envId === undefined ? {} : { lastEnvId: record.envId }),
      ...(Number.isNaN(record.createdMs) ? {} : { createdMs: record.createdMs }),
      ...(record.lastSeenMs === undefined ? {} : { lastSeenMs: record.lastSeenMs }),
      ...(this.#ttlMs > 0
        ? { expiresInSeconds: Math.ceil((record.expiresAtMs - now) / 1000) }
        : {}),
    };
    return Promise.resolve(explained);
  }

  onEvent(_listener: (event: StoreEvent) => void): void {
    // One process: the directory already invalidates its own L1 on every mutation.
  }

  close(): Promise<void> {
    if (this.#sweeper !== undefined) clearInterval(this.#sweeper);
    return Promise.resolve();
  }

  /**
   * The Redis store's chain walk (one follow-link call per link): up to
   * MAX_CHAIN_DEPTH links from `first`, and the key the chain goes on to
   * after them (undefined when it ends within them). Like follow-link, every
   * link visited gets an epoch for its bucket when it has none (a fresh
   * random one, never one seen before), whether the walk is a resolve's, an
   * explain's or a bind's check.
   */
  #follow(
    namespace: string,
    first: string | undefined,
    now: number,
  ): { links: ChainStep[]; rest: string | undefined } {
    const links: ChainStep[] = [];
    let cur = first;
    while (cur !== undefined && links.length < MAX_CHAIN_DEPTH) {
      const record = this.#get(namespace, cur, now);
      const epoch = this.#ensureEpoch(namespace, epochBucket(cur), newEpoch());
      links.push({ key: cur, record, epoch });
      cur = record?.binding;
    }
    return { links, rest: cur };
  }

  #chain(namespace: string, binding: string | undefined, now: number, touch: boolean): ChainLink[] {
    return this.#follow(namespace, binding, now).links.map(({ key, record, epoch }) => {
      // Like resolve: a workspace reached only through bound sessions must not expire.
      if (touch && record !== undefined) this.#touch(record, now);
      return { key, generation: record?.generation ?? 0, epoch };
    });
  }

  #expired(record: MemoryRecord, now: number): boolean {
    return this.#ttlMs > 0 && record.expiresAtMs <= now;
  }

  #get(namespace: string, key: string, now: number): MemoryRecord | undefined {
    const id = recordId(namespace, key);
    const record = this.#records.get(id);
    if (record === undefined) return undefined;
    if (this.#expired(record, now)) {
      this.#records.delete(id);
      return undefined;
    }
    return record;
  }

  #create(namespace: string, key: string, now: number): MemoryRecord {
    const record: MemoryRecord = {
      createdMs: now,
      generation: 0,
      binding: undefined,
      stateVersions: new Map(),
      envId: undefined,
      hit: 0,
      rehydrated: 0,
      fresh: 0,
      unknown: 0,
      lastSeenMs: undefined,
      expiresAtMs: now + this.#ttlMs,
    };
    this.#records.set(recordId(namespace, key), record);
    return record;
  }

  #touch(record: MemoryRecord, now: number): void {
    record.expiresAtMs = now + this.#ttlMs;
  }
}

/** Id of one bucket's epoch in a namespace (namespaces contain no control characters). */
function epochId(namespace: string, bucket: number): string {
  return `${namespace}\u0000${bucket}`;
}

/** Keys contain no control characters, so NUL separates namespace and key unambiguously. */
function recordId(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`;
}

/** A record forget() left behind: nothing but a generation (what forget-key-2.lua keeps). */
function isGenerationOnly(record: MemoryRecord): boolean {
  return (
    Number.isNaN(record.createdMs) &&
    record.binding === undefined &&
    record.stateVersions.size === 0 &&
    record.envId === undefined &&
    record.hit + record.rehydrated + record.fresh + record.unknown === 0 &&
    record.lastSeenMs === undefined
  );
}
