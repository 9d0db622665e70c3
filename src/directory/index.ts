/**
 * The key directory: key → stable tenant ID (docs/protocol.md describes the
 * Redis layout and epochs). Everything the gateway, SDK and metrics module
 * use is exported here.
 */
import { KeyDirectory } from './directory.js';
import type { Directory, DirectoryOptions } from './types.js';

export type {
  Directory,
  DirectoryCounters,
  DirectoryHealth,
  DirectoryOptions,
  DirectorySettings,
  InvalidationNotice,
  KeyExplanation,
  OutcomeReport,
  Resolution,
  ResolveOptions,
  RoutingMode,
} from './types.js';
export { KeyDirectory } from './directory.js';
export {
  validateKey,
  keyProblem,
  normalizeKey,
  readKey,
  isValidEnvId,
  MAX_KEY_BYTES,
} from './validate-key.js';
export { resolveSecret, type ResolveSecretOptions } from './resolve-secret.js';
export { deriveTenantId, TENANT_ID_PATTERN, TENANT_HASH_CHARS } from './tenant-id.js';

export { MemoryDirectoryStore, type MemoryStoreOptions } from './memory-store.js';
export { RedisDirectoryStore, type RedisStoreOptions } from './redis-store.js';
export type { DirectoryStore } from './store.js';

/**
 * Build and start a directory over the store it is given (the store pattern
 * of @fastify/rate-limit: the caller picks memory or Redis, see
 * src/create-dependencies.ts). `start()` starts the store too.
 */
export async function createDirectory(options: DirectoryOptions): Promise<Directory> {
  const directory = new KeyDirectory(options);
  await directory.start();
  return directory;
}
