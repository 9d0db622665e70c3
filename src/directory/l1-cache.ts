import { LRUCache } from 'lru-cache';
import type { ChainLink } from './store.js';
import type { StateScope } from './types.js';

export interface L1Entry {
  /** The key's own generation. */
  readonly generation: number;
  readonly chain: readonly ChainLink[];
  /** Tenant ID in affinity mode (derived once, when the entry is made). */
  readonly tenantId: string;
  /** Generation the tenant ID was derived from (own, or the chain end's). */
  readonly effectiveGeneration: number;
  /**
   * Epoch the tenant ID and the affinity state scope were derived from: that
   * of the bucket (epoch-bucket.ts) of the chain's last key when bound, of
   * the key's own bucket otherwise.
   */
  readonly epoch: string;
  /**
   * Epoch of the key's own bucket: the state scope of pooled and fresh mode
   * (which ignore bindings). The same as `epoch` when the key is unbound.
   */
  readonly ownEpoch: string;
  /**
   * Latest state version per function (state-function.ts) of the key whose
   * state this entry's key uses in affinity mode: the chain's last key when
   * bound (outcomes are recorded there), the key itself otherwise. Read
   * from the store with this entry or since. A function missing here is not known:
   * its first resolve reads the store (the entry holds no version of it to
   * serve). Mutable: recordOutcome and other replicas' flushes raise versions
   * without another store read.
   */
  readonly stateVersions: Map<string, number>;
  /**
   * The key's own versions, for pooled mode (which ignores bindings): the
   * same map as `stateVersions` when the key is unbound.
   */
  readonly ownStateVersions: Map<string, number>;
  /**
   * The affinity-mode state scope (namespace, `epoch`, `effectiveGeneration`,
   * the chain's last key or the key itself), made with the entry: every
   * affinity resolve from it hands out this one object instead of a new one.
   */
  readonly affinityState: StateScope;
  /** The chain's last key when bound (Resolution.boundTo), else undefined. */
  readonly boundTo: string | undefined;
}

export interface L1Options {
  /** 0 disables the cache. */
  readonly max: number;
  readonly ttlMs: number;
  readonly clock: () => number;
}

/** Cache id of a key: keys and namespaces contain no control characters, so NUL cannot be ambiguous. */
export function l1Id(namespace: string, key: string): string {
  return `${namespace}\u0000${key}`;
}

/**
 * The in-process cache in front of the store. Entries past their TTL are not
 * served normally but are kept until evicted, because when the store is down
 * an expired entry still knows better than derivation (a rotated generation,
 * a binding). A reverse index finds the entries whose binding chain passes
 * through a key, so rotating a workspace also drops its bound sessions.
 */
export class L1Cache {
  readonly #cache: LRUCache<string, L1Entry> | undefined;
  readonly #dependents = new Map<string, Set<string>>();

  constructor(options: L1Options) {
    if (options.max <= 0) return;
    this.#cache = new LRUCache<string, L1Entry>({
      max: options.max,
      ttl: options.ttlMs,
      perf: { now: options.clock },
      // Read the (injectable) clock on every check instead of lru-cache's 1 ms cached "now".
      ttlResolution: 0,
      allowStale: false,
      noDeleteOnStaleGet: true,
      updateAgeOnGet: false,
      dispose: (entry, id) => {
        this.#unindex(id, entry, namespaceOf(id));
      },
    });
  }

  get enabled(): boolean {
    return this.#cache !== undefined;
  }

  get size(): number {
    return this.#cache?.size ?? 0;
  }

  /**
   * The bounds the lru-cache instance enforces, read from that instance (not
   * from the options): test/integration/config-single-source.test.ts checks
   * them against the config. Both 0 when the cache is disabled.
   */
  get limits(): { readonly max: number; readonly ttlMs: number } {
    if (this.#cache === undefined) return { max: 0, ttlMs: 0 };
    return { max: this.#cache.max, ttlMs: this.#cache.ttl };
  }

  /** A live entry. */
  get(id: string): L1Entry | undefined {
    return this.#cache?.get(id);
  }

  /** An entry even past its TTL (fallback while the store is down). */
  getStale(id: string): L1Entry | undefined {
    return this.#cache?.get(id, { allowStale: true });
  }

  set(namespace: string, key: string, entry: L1Entry): void {
    if (this.#cache === undefined) return;
    const id = l1Id(namespace, key);
    this.#cache.set(id, entry);
    for (const link of entry.chain) {
      const dep = l1Id(namespace, link.key);
      let ids = this.#dependents.get(dep);
      if (ids === undefined) {
        ids = new Set();
        this.#dependents.set(dep, ids);
      }
      ids.add(id);
    }
  }

  /** Drop the key's entry and every entry bound through it; returns how many were dropped. */
  invalidate(namespace: string, key: string): number {
    if (this.#cache === undefined) return 0;
    const id = l1Id(namespace, key);
    let dropped = this.#cache.delete(id) ? 1 : 0;
    const dependents = this.#dependents.get(id);
    if (dependents !== undefined) {
      for (const dependent of [...dependents]) {
        if (this.#cache.delete(dependent)) dropped += 1;
      }
      this.#dependents.delete(id);
    }
    return dropped;
  }

  /**
   * Raise a function's cached state version of `key`'s state (never lowers
   * it): `key`'s own versions, and the state versions of the entries of keys
   * bound to it (whose chain ends at `key`), which share its state and so
   * must not lag behind it. A function an entry does not know stays unknown: the
   * store may hold a higher version of it (from another replica) than this
   * one report.
   */
  raiseStateVersion(
    namespace: string,
    key: string,
    functionId: string,
    stateVersion: number,
  ): void {
    if (this.#cache === undefined) return;
    const id = l1Id(namespace, key);
    const own = this.#cache.get(id, { allowStale: true });
    // Unbound, the two maps are one; bound, only pooled mode records under the key itself.
    if (own !== undefined) raise(own.ownStateVersions, functionId, stateVersion);
    for (const dependent of this.#dependents.get(id) ?? []) {
      const entry = this.#cache.get(dependent, { allowStale: true });
      if (entry?.chain.at(-1)?.key === key) raise(entry.stateVersions, functionId, stateVersion);
    }
  }

  clear(): void {
    this.#cache?.clear();
    this.#dependents.clear();
  }

  #unindex(id: string, entry: L1Entry, namespace: string): void {
    for (const link of entry.chain) {
      const dep = l1Id(namespace, link.key);
      const ids = this.#dependents.get(dep);
      if (ids === undefined) continue;
      ids.delete(id);
      if (ids.size === 0) this.#dependents.delete(dep);
    }
  }
}

function raise(versions: Map<string, number>, functionId: string, stateVersion: number): void {
  const known = versions.get(functionId);
  if (known !== undefined && stateVersion > known) versions.set(functionId, stateVersion);
}

function namespaceOf(id: string): string {
  return id.slice(0, id.indexOf('\u0000'));
}
