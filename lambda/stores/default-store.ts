import type { SnapshotStore } from './base-snapshot-store.js';
import { FileSnapshotStore } from './file-snapshot-store.js';
import { RedisSnapshotStore } from './redis-snapshot-store.js';

let shared: SnapshotStore | undefined;

/**
 * The store used when `withWarmState` is given none: created once per
 * module (one client per environment), Redis when
 * `WARMROUTE_SNAPSHOT_REDIS_URL` is set, else the file store.
 */
export function defaultSnapshotStore(): SnapshotStore {
  const url = process.env['WARMROUTE_SNAPSHOT_REDIS_URL'];
  shared ??=
    url !== undefined && url !== '' ? new RedisSnapshotStore({ url }) : new FileSnapshotStore();
  return shared;
}
