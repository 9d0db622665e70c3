import { EPOCH_BUCKETS, epochBucket } from '../directory/epoch-bucket.js';

/**
 * Every Redis key and channel name warmroute uses (the directory's records,
 * epochs and channels, and the function library's snapshots), built in one
 * place.
 *
 * Directory layout (v3, docs/scaling.md "Key layout"): a key belongs to one
 * of EPOCH_BUCKETS buckets (epochBucket(key)); its record, its bucket's
 * epoch in the namespace and the bucket's invalidation channel share the
 * hash tag `{b<bucket, 3 hex digits>}`, so every key script touches one
 * Redis Cluster slot and publishes (SPUBLISH) on a shard channel of that
 * slot, while a namespace's keys spread over every bucket, hence every
 * shard. The tag holds no namespace: the channels are shared by all
 * namespaces (a message names its namespace).
 *
 *   <prefix>{b<bbb>}:n:<namespace>:k:<key>   record (hash)
 *   <prefix>{b<bbb>}:n:<namespace>:epoch     the bucket's epoch in the namespace
 *   <prefix>{b<bbb>}:inv                     the bucket's invalidation channel
 *   <prefix>{n:<namespace>}:bind-lock        serializes binds of a namespace
 */

/** Prefix of the directory's Redis keys (records, epochs, channels); the factory passes it to the store. */
export const DIRECTORY_KEY_PREFIX = 'wr:';

/** The Redis names of one key of a namespace (DirectoryKeys.keyNames). */
export interface KeyNames {
  readonly bucket: number;
  readonly record: string;
  readonly epoch: string;
  readonly channel: string;
}

export interface DirectoryKeys {
  /** The hash tag (with braces) of a bucket. */
  tag(bucket: number): string;
  /** The hash holding one key's record (in the key's bucket). */
  record(namespace: string, key: string): string;
  /**
   * Everything one key's script names (its bucket, record, the bucket's
   * epoch and channel), the bucket hashed once: a store call uses all three.
   */
  keyNames(namespace: string, key: string): KeyNames;
  /**
   * The string holding the epoch of one bucket of a namespace: a random id
   * created (SET NX) by whoever finds it missing, and part of the tenant ID
   * and snapshot scope of every key of the bucket, so that losing Redis data
   * can never send a rotated key back to a tenant it had before. Same hash
   * tag as the bucket's records.
   */
  epoch(namespace: string, bucket: number): string;
  /** Invalidation channel of a bucket (a shard channel on a cluster). */
  channel(bucket: number): string;
  /** Every bucket's channel, in bucket order (what a subscriber listens to). */
  readonly channels: readonly string[];
  /** The lock key that serializes binds in a namespace (cycle checks span buckets). */
  bindLock(namespace: string): string;
  /**
   * SCAN pattern matching every record of `namespace` in every bucket (tests,
   * tooling; on a cluster, scan each master: src/redis/scan.ts).
   */
  recordPattern(namespace: string): string;
}

/**
 * Namespaces are encoded so that `{`, `}` and `:` inside one cannot make a
 * hash tag or make two namespaces' names overlap. Keys need no encoding:
 * they are the last component of the name, after a fixed separator.
 */
function encodeNamespace(namespace: string): string {
  return encodeURIComponent(namespace).replace(
    /[*?[\]]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export function directoryKeys(keyPrefix: string): DirectoryKeys {
  if (/[{}]/.test(keyPrefix)) {
    // A brace in the prefix would become the hash tag and put every key in one slot, or none.
    throw new Error(`Redis key prefix must not contain '{' or '}': ${keyPrefix}`);
  }
  const tag = (bucket: number): string => {
    if (!Number.isInteger(bucket) || bucket < 0 || bucket >= EPOCH_BUCKETS) {
      throw new RangeError(`bucket must be an integer from 0 to ${EPOCH_BUCKETS - 1}`);
    }
    return `{b${bucket.toString(16).padStart(3, '0')}}`;
  };
  const inNamespace = (namespace: string, bucket: number): string =>
    `${keyPrefix}${tag(bucket)}:n:${encodeNamespace(namespace)}`;
  const channel = (bucket: number): string => `${keyPrefix}${tag(bucket)}:inv`;
  const keyNames = (namespace: string, key: string): KeyNames => {
    const bucket = epochBucket(key);
    const names = inNamespace(namespace, bucket);
    return {
      bucket,
      record: `${names}:k:${key}`,
      epoch: `${names}:epoch`,
      channel: channel(bucket),
    };
  };
  return {
    tag,
    record: (namespace, key) => keyNames(namespace, key).record,
    keyNames,
    epoch: (namespace, bucket) => `${inNamespace(namespace, bucket)}:epoch`,
    channel,
    channels: Array.from({ length: EPOCH_BUCKETS }, (_, bucket) => channel(bucket)),
    bindLock: (namespace) => `${keyPrefix}{n:${encodeNamespace(namespace)}}:bind-lock`,
    recordPattern: (namespace) =>
      `${globEscape(keyPrefix)}\\{b???\\}:n:${globEscape(encodeNamespace(namespace))}:k:*`,
  };
}

/** Default prefix of the function library's snapshot keys. */
export const DEFAULT_SNAPSHOT_KEY_PREFIX = 'warmroute:';
const SNAPSHOT_ID = /^[0-9a-f]{64}$/;

/**
 * The Redis key of one snapshot: prefix + `snap2:` + the snapshot id (sha256
 * hex of the whole scope, lambda/snapshot-scope.ts). Anything else is
 * refused, so no key text, glob character or separator ever reaches the name.
 * `snap2:` (not the `snap:<raw key>` of the unscoped format) keeps the two
 * formats apart; see docs/protocol.md on migration.
 */
export function snapshotKey(keyPrefix: string, snapshotId: string): string {
  if (!SNAPSHOT_ID.test(snapshotId))
    throw new Error('snapshot id must be 64 lower-case hex digits');
  return `${keyPrefix}snap2:${snapshotId}`;
}
