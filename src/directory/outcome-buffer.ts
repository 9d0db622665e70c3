import type { InvocationState } from '../../lambda/protocol.js';
import { epochBucket } from './epoch-bucket.js';
import type { OutcomeDelta } from './store.js';
import { l1Id } from './l1-cache.js';

/** A count per warm-state outcome, plus what identifies the key and its latest sighting. */
interface MutableDelta extends Record<InvocationState, number> {
  namespace: string;
  epoch: string;
  key: string;
  /** The key's epoch bucket (epoch-bucket.ts), kept so an epoch change finds its deltas without hashing every key. */
  readonly bucket: number;
  envId: string;
  /** Function (state-function.ts) → highest version seen. */
  stateVersions: Map<string, number>;
  lastSeenMs: number;
}

/**
 * Outcomes waiting to be written behind, merged per key so a flush writes one
 * update per key however many requests it saw. Bounded: while the store is
 * down, new keys beyond the limit are dropped (and counted), never the heap.
 * Each delta carries the epoch of its key's bucket it was observed under
 * ('' = not known yet); deltas of an epoch the bucket has left are dropped.
 */
export class OutcomeBuffer {
  #pending = new Map<string, MutableDelta>();
  readonly #maxKeys: number;
  dropped = 0;

  constructor(maxKeys: number) {
    this.#maxKeys = maxKeys;
  }

  get size(): number {
    return this.#pending.size;
  }

  add(
    namespace: string,
    epoch: string,
    key: string,
    state: InvocationState,
    envId: string,
    /** '' = no version to record. */
    functionId: string,
    stateVersion: number,
    nowMs: number,
  ): void {
    const delta = this.#entry(namespace, epoch, key, nowMs);
    if (delta === undefined) return;
    delta[state] += 1;
    if (envId !== '') delta.envId = envId;
    if (functionId !== '' && stateVersion > 0) raise(delta.stateVersions, functionId, stateVersion);
    delta.lastSeenMs = Math.max(delta.lastSeenMs, nowMs);
  }

  /** Pending state version of one key's function (0 = none). */
  pendingVersion(namespace: string, key: string, functionId: string): number {
    return this.#pending.get(l1Id(namespace, key))?.stateVersions.get(functionId) ?? 0;
  }

  /** Pending delta of one key (explain adds it to the stored counts). */
  peek(namespace: string, key: string): OutcomeDelta | undefined {
    return this.#pending.get(l1Id(namespace, key));
  }

  /** Take everything pending. */
  drain(): OutcomeDelta[] {
    const batch = [...this.#pending.values()].map(({ bucket: _bucket, ...delta }) => delta);
    this.#pending = new Map();
    return batch;
  }

  /**
   * Forget every delta of keys in `bucket` of `namespace` not observed under
   * `epoch` (the bucket moved to it). Other buckets' deltas have epochs of
   * their own and stay.
   */
  keepOnlyEpoch(namespace: string, bucket: number, epoch: string): void {
    for (const [id, delta] of this.#pending) {
      if (
        delta.bucket === bucket &&
        delta.namespace === namespace &&
        delta.epoch !== epoch &&
        delta.epoch !== ''
      )
        this.#pending.delete(id);
    }
  }

  /** Put back deltas a flush could not write, merged with what arrived meanwhile. */
  restore(deltas: readonly OutcomeDelta[]): void {
    for (const old of deltas) {
      const pending = this.#pending.get(l1Id(old.namespace, old.key));
      // What arrived meanwhile under a newer epoch wins; the old delta is stale.
      if (pending !== undefined && pending.epoch !== old.epoch) continue;
      const delta = this.#entry(old.namespace, old.epoch, old.key, old.lastSeenMs);
      if (delta === undefined) continue;
      delta.hit += old.hit;
      delta.rehydrated += old.rehydrated;
      delta.fresh += old.fresh;
      delta.unknown += old.unknown;
      // The newer environment id wins; it was set after the restored one.
      if (delta.envId === '') delta.envId = old.envId;
      for (const [functionId, version] of old.stateVersions)
        raise(delta.stateVersions, functionId, version);
      delta.lastSeenMs = Math.max(delta.lastSeenMs, old.lastSeenMs);
    }
  }

  #entry(namespace: string, epoch: string, key: string, nowMs: number): MutableDelta | undefined {
    const id = l1Id(namespace, key);
    let delta = this.#pending.get(id);
    if (delta !== undefined && delta.epoch !== epoch) {
      // Observed under another epoch: those counts belong to data the store no longer has.
      this.#pending.delete(id);
      delta = undefined;
    }
    if (delta === undefined) {
      if (this.#pending.size >= this.#maxKeys) {
        this.dropped += 1;
        return undefined;
      }
      delta = {
        namespace,
        epoch,
        key,
        bucket: epochBucket(key),
        hit: 0,
        rehydrated: 0,
        fresh: 0,
        unknown: 0,
        envId: '',
        stateVersions: new Map(),
        lastSeenMs: nowMs,
      };
      this.#pending.set(id, delta);
    }
    return delta;
  }
}

function raise(versions: Map<string, number>, functionId: string, version: number): void {
  if (version > (versions.get(functionId) ?? 0)) versions.set(functionId, version);
}
