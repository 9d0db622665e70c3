/**
 * Every Redis key and channel name warmroute's directory uses, built in one
 * place. All records of a namespace share one hash tag, so the Lua scripts
 * that follow a binding chain touch a single Redis Cluster slot.
 */

const DEFAULT_KEY_PREFIX = 'wr:';

export interface DirectoryKeys {
  /** Prefix every record of `namespace` starts with; a record is this + the raw key. */
  recordPrefix(namespace: string): string;
  /** The hash holding one key's record. */
  record(namespace: string, key: string): string;
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

export function directoryKeys(keyPrefix: string = DEFAULT_KEY_PREFIX): DirectoryKeys {
  if (/[{}]/.test(keyPrefix)) {
    // A brace in the prefix would become the hash tag and put every namespace in one slot, or none.
    throw new Error(`Redis key prefix must not contain '{' or '}': ${keyPrefix}`);
  }
  const recordPrefix = (namespace: string): string =>
    `${keyPrefix}{ns:${encodeNamespace(namespace)}}:k:`;
  return {
    recordPrefix,
    record: (namespace, key) => recordPrefix(namespace) + key,
    channel: `${keyPrefix}{wr}:invalidate`,
    recordPattern: (namespace) =>
      `${recordPrefix(namespace).replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`,
  };
}
