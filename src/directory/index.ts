/**
 * The key directory: key → stable tenant ID (see ../../shared design, "Directory").
 * Everything the gateway, SDK and metrics module use is exported here.
 */
import { KeyDirectory } from './directory.js';
import type { Directory, DirectoryOptions } from './types.js';

export type {
  Directory,
  DirectoryCounters,
  DirectoryHealth,
  DirectoryOptions,
  InvalidationNotice,
  KeyExplanation,
  OutcomeReport,
  OutcomeState,
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

/** Build and start a directory (Redis store when `options.redis` is set, memory store otherwise). */
export async function createDirectory(options: DirectoryOptions): Promise<Directory> {
  const directory = new KeyDirectory(options);
  await directory.start();
  return directory;
}
