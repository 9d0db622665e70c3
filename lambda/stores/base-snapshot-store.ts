import { WarmStateError, isWarmStateError } from '../errors.js';
import {
  decodeSnapshot,
  encodeSnapshot,
  encodedSnapshotBytes,
  type Snapshot,
} from '../snapshot-format.js';
import { scopeProblem, snapshotId, type SnapshotScope } from '../snapshot-scope.js';

/** Outcome of a compare-and-set write. */
export type WriteResult =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly currentVersion: number };

/**
 * What the rest of the library needs from a snapshot store. Every call names
 * a whole {@link SnapshotScope} (function, namespace, epoch, generation, key),
 * never a bare key: two scopes that differ in any field never share a
 * snapshot.
 */
export interface SnapshotStore {
  /** Largest encoded snapshot (state + directory archive + framing) a write accepts. */
  readonly maxSnapshotBytes: number;
  /** The latest snapshot of `scope`, or undefined when none exists. */
  read(scope: SnapshotScope): Promise<Snapshot | undefined>;
  /** The latest version of `scope` (0 = no snapshot), without fetching the payload. */
  readVersion(scope: SnapshotScope): Promise<number>;
  /**
   * Write version `expectedVersion + 1` if and only if the stored version is
   * still `expectedVersion` (0 = no snapshot yet). A write that lost the race
   * changes nothing and returns the version that won.
   */
  write(
    scope: SnapshotScope,
    expectedVersion: number,
    content: { state: Buffer; dir: Buffer },
  ): Promise<WriteResult>;
  delete(scope: SnapshotScope): Promise<void>;
  close(): Promise<void>;
}

export interface BaseSnapshotStoreOptions {
  /** Default 32 MiB. */
  readonly maxSnapshotBytes?: number;
}

export const DEFAULT_MAX_SNAPSHOT_BYTES = 32 * 1024 * 1024;
/** The frame stores lengths as uint32. */
const FORMAT_MAX_BYTES = 0xffff_ffff;

/**
 * The rules every store obeys (the Powertools pattern): versions start at 1
 * and grow by exactly one per write, every write is a compare-and-set on the
 * version, the size limit is checked before any I/O, and the framing is done
 * here. A backend implements four storage primitives and nothing else; it
 * never interprets the bytes beyond the version it is handed. Backends see
 * only the scope's {@link snapshotId} (64 hex characters), never the key:
 * whatever a key contains, it cannot reach a file name or a Redis key.
 */
export abstract class BaseSnapshotStore implements SnapshotStore {
  readonly maxSnapshotBytes: number;

  protected constructor(options: BaseSnapshotStoreOptions = {}) {
    const max = options.maxSnapshotBytes ?? DEFAULT_MAX_SNAPSHOT_BYTES;
    if (!Number.isSafeInteger(max) || max <= 0 || max > FORMAT_MAX_BYTES) {
      throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [
        `maxSnapshotBytes must be an integer in 1..${FORMAT_MAX_BYTES}, got ${String(max)}`,
      ]);
    }
    this.maxSnapshotBytes = max;
  }

  /** The encoded snapshot bytes of snapshot `id`, or undefined when there is none. */
  protected abstract readRaw(id: string): Promise<Buffer | undefined>;
  /** The stored version, 0 when there is none. */
  protected abstract readVersionRaw(id: string): Promise<number>;
  /**
   * Atomically: if the stored version equals `expectedVersion` (0 = absent),
   * store `bytes` as `newVersion` and report `swapped: true`; otherwise change
   * nothing and report the stored version.
   */
  protected abstract compareAndSwapRaw(
    id: string,
    expectedVersion: number,
    newVersion: number,
    bytes: Buffer,
  ): Promise<{ swapped: boolean; currentVersion: number }>;
  protected abstract deleteRaw(id: string): Promise<void>;
  abstract close(): Promise<void>;

  async read(scope: SnapshotScope): Promise<Snapshot | undefined> {
    const { id, key } = this.idOf(scope);
    const bytes = await this.guard(key, () => this.readRaw(id));
    return bytes === undefined ? undefined : decodeSnapshot(key, bytes);
  }

  async readVersion(scope: SnapshotScope): Promise<number> {
    const { id, key } = this.idOf(scope);
    return this.guard(key, () => this.readVersionRaw(id));
  }

  async write(
    scope: SnapshotScope,
    expectedVersion: number,
    content: { state: Buffer; dir: Buffer },
  ): Promise<WriteResult> {
    const { id, key } = this.idOf(scope);
    if (!Number.isSafeInteger(expectedVersion) || expectedVersion < 0) {
      throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [
        `expectedVersion ${String(expectedVersion)}`,
      ]);
    }
    const size = encodedSnapshotBytes(content.state.length, content.dir.length);
    if (size > this.maxSnapshotBytes) {
      throw new WarmStateError('WR_ERR_SNAPSHOT_TOO_LARGE', [key, size, this.maxSnapshotBytes]);
    }
    const newVersion = expectedVersion + 1;
    const bytes = encodeSnapshot({ version: newVersion, state: content.state, dir: content.dir });
    const result = await this.guard(key, () =>
      this.compareAndSwapRaw(id, expectedVersion, newVersion, bytes),
    );
    return result.swapped
      ? { ok: true, version: newVersion }
      : { ok: false, currentVersion: result.currentVersion };
  }

  async delete(scope: SnapshotScope): Promise<void> {
    const { id, key } = this.idOf(scope);
    await this.guard(key, () => this.deleteRaw(id));
  }

  /** The scope's storage id; a malformed scope (JavaScript callers) is refused before any I/O. */
  protected idOf(scope: SnapshotScope): { id: string; key: string } {
    const problem = scopeProblem(scope);
    if (problem !== undefined) throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [problem]);
    return { id: snapshotId(scope), key: scope.key };
  }

  /** Backend failures surface as one typed error; our own typed errors pass through. */
  private async guard<R>(key: string, op: () => Promise<R>): Promise<R> {
    try {
      return await op();
    } catch (err) {
      if (isWarmStateError(err)) throw err;
      throw new WarmStateError(
        'WR_ERR_SNAPSHOT_STORE',
        [key, err instanceof Error ? err.message : String(err)],
        {
          cause: err,
        },
      );
    }
  }
}
