export {
  startLocalHost,
  checkExposure,
  isLoopbackHost,
  MIN_CONTROL_TOKEN_LENGTH,
  type LocalHost,
  type LocalHostOptions,
  type FunctionOutputSource,
} from './local-host.js';
export {
  loadFunctionsFile,
  validateFunctions,
  FunctionsFileSchema,
  type FunctionDeclaration,
  type FunctionDefinition,
  type Tenancy,
  type HostEnv,
} from './function-registry.js';
export type { EnvironmentInfo } from './control-api.js';
export type { EvictFilter } from './pool.js';
export type { FunctionStats, HostStatsSnapshot } from './stats.js';
