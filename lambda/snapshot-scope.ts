import { createHash } from 'node:crypto';

/**
 * What a snapshot belongs to. Two snapshots share storage only when every
 * field is equal, so two functions, two namespaces, two directory epochs or
 * two generations of one key never read or overwrite each other's state.
 *
 * `functionName` is always the function's own (the library fills it from
 * `AWS_LAMBDA_FUNCTION_NAME` / `context.functionName`, never from the
 * request), so no key a client chooses can reach another function's state.
 */
export interface SnapshotScope {
  /** The function the state belongs to. */
  readonly functionName: string;
  /**
   * The directory namespace the gateway resolved the key in. Scopes the
   * gateway never sends use names a namespace cannot have (control
   * characters): {@link DIRECT_NAMESPACE}, {@link LEGACY_NAMESPACE}.
   */
  readonly namespace: string;
  /** The directory's epoch for the namespace ('' outside the gateway). */
  readonly epoch: string;
  /** The key's generation (bumped by a rotation). */
  readonly generation: number;
  /** The affinity key. */
  readonly key: string;
}

/** Namespace of keys taken without a gateway request (a direct Invoke: `keyFromEvent`, `tenant:<id>`, `default`). */
export const DIRECT_NAMESPACE = '\u0000direct';
/** Namespace of keys sent by a gateway speaking request version 1 (before scopes existed). */
export const LEGACY_NAMESPACE = '\u0000request-v1';

/** Length of a snapshot id: sha256 as lower-case hex. */
export const SNAPSHOT_ID_LENGTH = 64;
const SNAPSHOT_ID_PATTERN = /^[0-9a-f]{64}$/;

/**
 * The storage name of a scope: sha256 over a purpose tag and every field
 * length-prefixed. Fields are hashed as UTF-16 code units rather than UTF-8
 * so that even strings UTF-8 cannot represent (lone surrogates) stay
 * distinct. The result is 64 characters of `[0-9a-f]`, whatever the key
 * holds (any Unicode, `/`, `..`, NUL, glob characters, 1 MB of text): safe as
 * a file name and inside a Redis key, and of fixed length.
 */
export function snapshotId(scope: SnapshotScope): string {
  const hash = createHash('sha256').update('warmroute/snapshot-scope/v1\n');
  for (const field of [
    scope.functionName,
    scope.namespace,
    scope.epoch,
    String(scope.generation),
    scope.key,
  ]) {
    const bytes = Buffer.from(field, 'utf16le');
    const length = Buffer.alloc(4);
    length.writeUInt32BE(bytes.length);
    hash.update(length).update(bytes);
  }
  return hash.digest('hex');
}

/** Whether `id` has the shape {@link snapshotId} produces (stores check before building a name from it). */
export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID_PATTERN.test(id);
}

/** Throws unless `scope` is well formed (checked by every store before any I/O). */
export function scopeProblem(scope: unknown): string | undefined {
  if (typeof scope !== 'object' || scope === null) return 'the snapshot scope must be an object';
  const s = scope as Partial<Record<keyof SnapshotScope, unknown>>;
  if (typeof s.functionName !== 'string') return 'scope.functionName must be a string';
  if (typeof s.namespace !== 'string') return 'scope.namespace must be a string';
  if (typeof s.epoch !== 'string') return 'scope.epoch must be a string';
  if (typeof s.generation !== 'number' || !Number.isSafeInteger(s.generation) || s.generation < 0)
    return 'scope.generation must be a non-negative integer';
  if (typeof s.key !== 'string' || s.key.length === 0)
    return 'scope.key must be a non-empty string';
  return undefined;
}
