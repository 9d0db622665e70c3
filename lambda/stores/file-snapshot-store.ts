import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { FUNCTION_ENVIRONMENT, functionEnv } from '../environment.js';
import { WarmStateError } from '../errors.js';
import { decodeSnapshotVersion, SNAPSHOT_HEADER_BYTES } from '../snapshot-format.js';
import { isSnapshotId } from '../snapshot-scope.js';
import { BaseSnapshotStore, type BaseSnapshotStoreOptions } from './base-snapshot-store.js';
import { withFileLock } from './file-lock.js';

export interface FileSnapshotStoreOptions extends BaseSnapshotStoreOptions {
  /** Directory shared by every environment. Default: `WARMROUTE_SNAPSHOT_DIR`, else {@link defaultSnapshotDir}. */
  readonly directory?: string;
  /** A lock older than this is broken even if its owner seems alive. Default 10 s. */
  readonly lockStaleMs?: number;
  /** Give up waiting for the lock after this long. Default 10 s. */
  readonly lockTimeoutMs?: number;
}

/**
 * The default directory: `/tmp/warmroute-snapshots-<uid>`. Deliberately not
 * `os.tmpdir()`: the local host gives every environment its own TMPDIR, and
 * snapshots must outlive and be shared between environments.
 */
export function defaultSnapshotDir(): string {
  const root = process.platform === 'win32' ? (process.env['TEMP'] ?? 'C:\\Windows\\Temp') : '/tmp';
  const uid = typeof process.getuid === 'function' ? String(process.getuid()) : 'user';
  return join(root, `warmroute-snapshots-${uid}`);
}

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String(err.code) : undefined;
}

/**
 * Snapshots as files on one machine: the local default, shared by the local
 * host's environments (child processes). One file per snapshot scope,
 * `s2-<snapshotId>.snap`: 64 hex characters of a hash of the scope, so no
 * key can steer the name (no separators, no `..`, fixed length). Readers take no lock: a new version appears by atomic rename
 * of a fully written, fsynced temp file. Writers serialise on a per-key lock
 * file (O_EXCL), inside which the version compare and the rename happen.
 * Not for a network filesystem (the stale-lock rule relies on local pids).
 */
export class FileSnapshotStore extends BaseSnapshotStore {
  readonly directory: string;
  private readonly lockOptions: { staleMs: number; timeoutMs: number };
  private ready: Promise<void> | undefined;

  constructor(options: FileSnapshotStoreOptions = {}) {
    super(options);
    // An empty variable (a functions file's unset `${WARMROUTE_SNAPSHOT_DIR}`) counts as unset.
    this.directory =
      options.directory ?? functionEnv(FUNCTION_ENVIRONMENT.snapshotDir) ?? defaultSnapshotDir();
    this.lockOptions = {
      staleMs: options.lockStaleMs ?? 10_000,
      timeoutMs: options.lockTimeoutMs ?? 10_000,
    };
  }

  /** The file of snapshot `id`. Only ids shaped by snapshotId() are accepted (defence in depth). */
  pathOf(id: string): string {
    if (!isSnapshotId(id))
      throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', ['bad snapshot id']);
    return join(this.directory, `s2-${id}.snap`);
  }

  private async ensureDir(): Promise<void> {
    this.ready ??= mkdir(this.directory, { recursive: true }).then(() => undefined);
    try {
      await this.ready;
    } catch (err) {
      this.ready = undefined;
      throw err;
    }
  }

  protected async readRaw(id: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.pathOf(id));
    } catch (err) {
      if (errno(err) === 'ENOENT') return undefined;
      throw err;
    }
  }

  protected async readVersionRaw(id: string): Promise<number> {
    let fh;
    try {
      fh = await open(this.pathOf(id), 'r');
    } catch (err) {
      if (errno(err) === 'ENOENT') return 0;
      throw err;
    }
    try {
      const header = Buffer.alloc(SNAPSHOT_HEADER_BYTES);
      const { bytesRead } = await fh.read(header, 0, SNAPSHOT_HEADER_BYTES, 0);
      return decodeSnapshotVersion(id, header.subarray(0, bytesRead));
    } finally {
      await fh.close();
    }
  }

  protected async compareAndSwapRaw(
    id: string,
    expectedVersion: number,
    newVersion: number,
    bytes: Buffer,
  ): Promise<{ swapped: boolean; currentVersion: number }> {
    await this.ensureDir();
    const path = this.pathOf(id);
    return withFileLock(`${path}.lock`, this.lockOptions, async () => {
      const currentVersion = await this.readVersionRaw(id);
      if (currentVersion !== expectedVersion) return { swapped: false, currentVersion };
      const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        const fh = await open(tmp, 'wx');
        try {
          await fh.writeFile(bytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
        await rename(tmp, path);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
      await this.syncDir();
      return { swapped: true, currentVersion: newVersion };
    });
  }

  /** Make the rename itself durable (POSIX needs an fsync of the directory). */
  private async syncDir(): Promise<void> {
    if (process.platform === 'win32') return;
    const dh = await open(this.directory, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  protected async deleteRaw(id: string): Promise<void> {
    await this.ensureDir();
    const path = this.pathOf(id);
    await withFileLock(`${path}.lock`, this.lockOptions, async () => {
      try {
        await unlink(path);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
      }
    });
  }

  async close(): Promise<void> {
    // Nothing held open between calls.
  }
}
