/**
 * The directory's storage contract. Two implementations (memory-store.ts,
 * redis-store.ts) pass one contract suite (test/contract/directory-store.test.ts);
 * the directory service holds the policy (L1, fallback, write-behind).
 */

import type { InvocationState } from '../../lambda/protocol.js';
import { WarmrouteError } from '../errors.js';

export interface ChainLink {
  readonly key: string;
  readonly generation: number;
  /**
   * The epoch of the link's own bucket (epoch-bucket.ts): each key's epoch
   * is its bucket's, so a bound key's tenant ID and state scope derive from
   * the chain's last link: its key, generation and this epoch. A store that
   * finds the link's bucket without an epoch creates one (a fresh random id,
   * as `epoch()` does) and reports it.
   */
  readonly epoch: string;
}

export interface StoreResolution {
  /** This call created the key's record (exactly one concurrent first resolve does). */
  readonly created: boolean;
  /** The key's own generation. */
  readonly generation: number;
  /**
   * Latest state version recorded for the function named in the call (0 =
   * none, or none named), of the key whose state this key uses in affinity
   * mode: the chain's last key when bound (it shares that key's state, and
   * outcomes are recorded under it), the key itself otherwise.
   */
  readonly stateVersion: number;
  /** The key's own version of that function, bound or not (pooled mode ignores bindings). */
  readonly ownStateVersion: number;
  /** Keys followed through bindings, in order (empty when unbound). */
  readonly chain: readonly ChainLink[];
}

/**
 * A store call named an epoch that is not the current one of the key's
 * bucket in the namespace (it changed, or Redis lost it). Nothing was read
 * or written. The directory adopts `current` (or, when '' — missing —
 * creates a new epoch), drops what it cached for the old one, and retries.
 * Never leaves the directory.
 */
export class EpochMismatchError extends Error {
  constructor(readonly current: string) {
    super(
      current === ''
        ? 'the namespace has no epoch'
        : 'the namespace epoch differs from the caller’s',
    );
    this.name = 'EpochMismatchError';
  }
}

/**
 * A store call refused because of contention, not because the store failed:
 * another replica held a lock (the namespace bind lock) longer than the
 * caller may wait. Still WR_ERR_STORE_UNAVAILABLE to the client (503 with
 * Retry-After: trying again soon succeeds), but the directory does not count
 * it as a store failure: the store is up, so it is no reason to resolve by
 * derivation or to report the directory degraded.
 */
export class StoreBusyError extends WarmrouteError {
  constructor(reason: string) {
    super('WR_ERR_STORE_UNAVAILABLE', [reason], { retryAfterSeconds: 1 });
    this.name = 'StoreBusyError';
  }
}

export interface OutcomeDelta {
  readonly namespace: string;
  /** Epoch (of `key`'s bucket) the outcome was observed under; a delta of another epoch is dropped by the store. */
  readonly epoch: string;
  readonly key: string;
  readonly hit: number;
  readonly rehydrated: number;
  readonly fresh: number;
  readonly unknown: number;
  /** Last environment id seen ('' = none). */
  readonly envId: string;
  /**
   * Highest state version seen per function (see state-function.ts; absent =
   * none). Per function because snapshots are: one function's versions say
   * nothing about another's state, and a function that lies about its
   * version must not make other functions' warm state look stale.
   */
  readonly stateVersions: ReadonlyMap<string, number>;
  readonly lastSeenMs: number;
}

export interface StoredKey {
  readonly exists: boolean;
  readonly generation: number;
  readonly binding?: string;
  readonly chain: readonly ChainLink[];
  /** Latest state version per function (only functions with one). */
  readonly stateVersions: Readonly<Record<string, number>>;
  readonly lastEnvId?: string;
  /** Invocations recorded per warm state (lambda/protocol.ts `INVOCATION_STATES`). */
  readonly counts: Readonly<Record<InvocationState, number>>;
  readonly createdMs?: number;
  readonly lastSeenMs?: number;
  readonly expiresInSeconds?: number;
}

/** [namespace, key, function (state-function.ts), version]. */
export type StateVersionUpdate = readonly [string, string, string, number];

export type MutationOp = 'rotate' | 'bind' | 'unbind' | 'forget';

export type StoreEvent =
  /** A key's mapping changed (on this replica or, with `remote`, another). */
  | {
      readonly type: 'invalidate';
      readonly op: MutationOp;
      readonly namespace: string;
      readonly key: string;
      readonly remote: boolean;
    }
  /** Another replica flushed newer state versions: [namespace, key, function, version]. */
  | {
      readonly type: 'state-versions';
      readonly updates: readonly StateVersionUpdate[];
    }
  /** Invalidations may have been missed (subscriber reconnected): drop every cached entry. */
  | { readonly type: 'resync' }
  /** Another replica created a new epoch for one bucket of a namespace (the store had lost it). */
  | {
      readonly type: 'epoch';
      readonly namespace: string;
      readonly bucket: number;
      readonly epoch: string;
    }
  /** Connection state changed. */
  | {
      readonly type: 'status';
      readonly commands: boolean;
      readonly pubsub: boolean;
      readonly reason?: string;
    };

export const MAX_CHAIN_DEPTH = 8;

export interface DirectoryStore {
  readonly kind: 'memory' | 'redis';
  /** Connect; resolves even when the store is unreachable (the directory then starts degraded). */
  start(): Promise<void>;
  /** Whether commands can be sent right now (no waiting on a dead connection). */
  available(): boolean;
  /** Whether cross-replica invalidation is working (always true for a single-process store). */
  pubsubUp(): boolean;
  /**
   * Why the store is unavailable, as the server or the socket said it (e.g.
   * `WRONGPASS …`, `connect ECONNREFUSED …`): the message only, never an
   * error object (ioredis errors carry the AUTH arguments). Undefined when
   * available or not known.
   */
  unavailableReason(): string | undefined;
  /**
   * The epoch of one bucket (epoch-bucket.ts) of the namespace, storing
   * `candidate` (a fresh random id, never one seen before) when it has none:
   * at first use and after a loss of data. Epochs are per bucket so that a
   * Redis Cluster shard that loses its data moves only its own buckets' keys
   * (docs/scaling.md, "Key layout").
   */
  epoch(namespace: string, bucket: number, candidate: string): Promise<string>;
  // Every call below names the caller's epoch of the key's bucket
  // (epochBucket(key)) in the namespace and throws EpochMismatchError, doing
  // nothing, when it is not the current one. Chain links carry their own
  // buckets' epochs (ChainLink.epoch).
  /**
   * `functionId` (state-function.ts; '' = none) names whose state version
   * comes back: versions are kept per function.
   */
  resolve(
    namespace: string,
    epoch: string,
    key: string,
    functionId: string,
  ): Promise<StoreResolution>;
  rotate(namespace: string, epoch: string, key: string): Promise<number>;
  /** Throws WR_ERR_BINDING_INVALID for self-binding, cycles and chains deeper than MAX_CHAIN_DEPTH. */
  bind(namespace: string, epoch: string, key: string, target: string): Promise<void>;
  unbind(namespace: string, epoch: string, key: string): Promise<boolean>;
  /** Forgets all but the generation (a rotated key never returns to an earlier tenant). */
  forget(namespace: string, epoch: string, key: string): Promise<boolean>;
  /**
   * Apply outcome deltas; returns the ones that could not be written (to
   * retry). Deltas of another epoch than the namespace's are dropped.
   */
  recordOutcomes(batch: readonly OutcomeDelta[]): Promise<readonly OutcomeDelta[]>;
  explain(namespace: string, epoch: string, key: string): Promise<StoredKey>;
  onEvent(listener: (event: StoreEvent) => void): void;
  close(): Promise<void>;
}
