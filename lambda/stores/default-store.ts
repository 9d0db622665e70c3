import { FUNCTION_ENVIRONMENT, functionEnv } from '../environment.js';
import type { SnapshotStore } from './base-snapshot-store.js';
import { FileSnapshotStore } from './file-snapshot-store.js';
import { RedisSnapshotStore } from './redis-snapshot-store.js';

let shared: SnapshotStore | undefined;

/**
 * The store used when `withWarmState` is given none: created once per
 * module (one client per environment), Redis when
 * `WARMROUTE_SNAPSHOT_REDIS_URL` or `WARMROUTE_SNAPSHOT_REDIS_CLUSTER_NODES`
 * is set (the store reads them, `WARMROUTE_SNAPSHOT_REDIS_PASSWORD` and
 * `WARMROUTE_SNAPSHOT_REDIS_COMMAND_TIMEOUT_MS` itself, refusing both
 * addresses together or a bad timeout), else the file store.
 */
export function defaultSnapshotStore(): SnapshotStore {
  const redis =
    functionEnv(FUNCTION_ENVIRONMENT.snapshotRedisUrl) !== undefined ||
    functionEnv(FUNCTION_ENVIRONMENT.snapshotRedisClusterNodes) !== undefined;
  shared ??= redis ? new RedisSnapshotStore() : new FileSnapshotStore();
  return shared;
}
