import { decodeSnapshotVersion } from '../snapshot-format.js';
import { BaseSnapshotStore, type BaseSnapshotStoreOptions } from './base-snapshot-store.js';

/**
 * Snapshots in this process's memory: for tests of handlers and for several
 * simulated environments in one process. Held by snapshot id, like every
 * store. Not durable and not shared between
 * processes, so never a default. Each primitive runs without an `await`
 * between its read and its write, which makes the compare-and-set atomic.
 */
export class MemorySnapshotStore extends BaseSnapshotStore {
  private readonly snapshots = new Map<string, Buffer>();

  constructor(options: BaseSnapshotStoreOptions = {}) {
    super(options);
  }

  protected readRaw(id: string): Promise<Buffer | undefined> {
    const bytes = this.snapshots.get(id);
    return Promise.resolve(bytes === undefined ? undefined : Buffer.from(bytes));
  }

  protected readVersionRaw(id: string): Promise<number> {
    return Promise.resolve(this.versionOf(id));
  }

  private versionOf(id: string): number {
    const bytes = this.snapshots.get(id);
    return bytes === undefined ? 0 : decodeSnapshotVersion(id, bytes);
  }

  protected compareAndSwapRaw(
    id: string,
    expectedVersion: number,
    newVersion: number,
    bytes: Buffer,
  ): Promise<{ swapped: boolean; currentVersion: number }> {
    // Synchronous from the check to the set: nothing can interleave.
    const currentVersion = this.versionOf(id);
    if (currentVersion !== expectedVersion)
      return Promise.resolve({ swapped: false, currentVersion });
    this.snapshots.set(id, Buffer.from(bytes));
    return Promise.resolve({ swapped: true, currentVersion: newVersion });
  }

  protected deleteRaw(id: string): Promise<void> {
    this.snapshots.delete(id);
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
