/** warmroute/lambda — the function-side library. */
export { withWarmState, environment } from './with-warm-state.js';
export { createWarmEnvironment } from './warm-environment.js';
export type {
  WarmEnvironment,
  WarmEnvironmentOptions,
  WrappedHandler,
} from './warm-environment.js';
export type { WarmContext, WarmHandler, WarmStateApi, WarmStateOptions } from './types.js';
export type { CheckpointPolicy } from './checkpoint-policy.js';
export { jsonSerializer, type Serializer } from './serializer.js';
export {
  WarmStateError,
  isWarmStateError,
  warmStateErrorCodes,
  type WarmStateErrorCode,
} from './errors.js';
export { decodeSnapshot, encodeSnapshot, type Snapshot } from './snapshot-format.js';
export {
  DIRECT_NAMESPACE,
  LEGACY_NAMESPACE,
  isSnapshotId,
  snapshotId,
  type SnapshotScope,
} from './snapshot-scope.js';
export {
  BaseSnapshotStore,
  DEFAULT_MAX_SNAPSHOT_BYTES,
  type BaseSnapshotStoreOptions,
  type SnapshotStore,
  type WriteResult,
} from './stores/base-snapshot-store.js';
export {
  FileSnapshotStore,
  defaultSnapshotDir,
  type FileSnapshotStoreOptions,
} from './stores/file-snapshot-store.js';
export {
  RedisSnapshotStore,
  type RedisSnapshotStoreOptions,
} from './stores/redis-snapshot-store.js';
export { MemorySnapshotStore } from './stores/memory-snapshot-store.js';
export { defaultSnapshotStore } from './stores/default-store.js';
export * from './protocol.js';
