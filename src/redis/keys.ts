/**
 * Every Redis key and channel name warmroute uses (the directory's records,
 * epochs and channel, and the function library's snapshots), built in one
 * place. All records of a namespace share one hash tag with the namespace's
 * epoch, so the Lua scripts that follow a binding chain and check the epoch
 * touch a single Redis Cluster slot.
 */

/** Prefix of the directory's Redis keys (records, epochs, channel); the factory passes it to the store. */
export const DIRECTORY_KEY_PREFIX = 'wr:';

export interface DirectoryKeys {
  /** Prefix every record of `namespace` starts with; a record is this + the raw key. */
  recordPrefix(namespace: string): string;
  /** The hash holding one key's record. */
  record(namespace: string, key: string): string;
  /**
   * The string holding the namespace's epoch: a random id created (SET NX)
   * by whoever finds it missing, and part of every tenant ID and snapshot
   * scope of the namespace, so that losing Redis data can never send a
   * rotated key back to a tenant it had before. Same hash tag as the
   * namespace's records.
   */
  epoch(namespace: string): string;
  /** Pub/sub channel for cross-replica L1 invalidation. */
  readonly channel: string;
  /** SCAN pattern matching every record of `namespace` (tests, tooling). */
  recordPattern(namespace: string): string;
}

/**
 * Namespaces are encoded so that `{`, `}` and `:` inside one cannot break the
 * hash tag or make two namespaces' prefixes overlap. Keys need no encoding:
 * they are the last component of the name, after a fixed separator.
 */
function encodeNamespace(namespace: string): string {
  return encodeURIComponent(namespace).replace(
    /[*?[\]]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

export function directoryKeys(keyPrefix: string): DirectoryKeys {
  if (/[{}]/.test(keyPrefix)) {
    // A brace in the prefix would become the hash tag and put every namespace in one slot, or none.
    throw new Error(`Redis key prefix must not contain '{' or '}': ${keyPrefix}`);
  }
  const recordPrefix = (namespace: string): string =>
    `${keyPrefix}{ns:${encodeNamespace(namespace)}}:k:`;
  return {
    recordPrefix,
    record: (namespace, key) => recordPrefix(namespace) + key,
    epoch: (namespace) => `${keyPrefix}{ns:${encodeNamespace(namespace)}}:epoch`,
    channel: `${keyPrefix}{wr}:invalidate`,
    recordPattern: (namespace) =>
      `${recordPrefix(namespace).replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`,
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
