import { FUNCTION_ENVIRONMENT, functionEnv } from '../environment.js';
import type { SnapshotStore } from './base-snapshot-store.js';
import { FileSnapshotStore } from './file-snapshot-store.js';
import { RedisSnapshotStore } from './redis-snapshot-store.js';

let shared: SnapshotStore | undefined;

/**
 * The store used when `withWarmState` is given none: created once per
 * module (one client per environment), Redis when
 * `WARMROUTE_SNAPSHOT_REDIS_URL` is set (with
 * `WARMROUTE_SNAPSHOT_REDIS_PASSWORD`, if set, as its password), else the
 * file store.
 */
export function defaultSnapshotStore(): SnapshotStore {
  const url = functionEnv(FUNCTION_ENVIRONMENT.snapshotRedisUrl);
  const password = functionEnv(FUNCTION_ENVIRONMENT.snapshotRedisPassword);
  shared ??=
    url === undefined ? new FileSnapshotStore() : new RedisSnapshotStore({ url, password });
  return shared;
}
