/**
 * `warmroute`: the gateway as a library, for embedding it in another Fastify
 * or Node program (see README, "Embedding the gateway", and docs/embedding.md).
 *
 * ```ts
 * import { createGateway } from 'warmroute';
 * const gateway = await createGateway(process.env);
 * await gateway.app.listen({ port: 3000 });
 * // … later
 * await gateway.close();
 * ```
 *
 * The parts `createGateway` wires, for programs that wire them differently:
 * `loadConfig` → `createDependencies` → `buildApp`, and `startLocalHost` (the
 * local Lambda host). The function-side library is `warmroute/lambda`; the
 * client SDK is `warmroute/sdk`.
 */
export { createGateway, type CreateGatewayOptions, type Gateway } from './create-gateway.js';
export { createGatewayLogger, gatewayRedactPaths } from './logger.js';
export { loadConfig, type Env, type LoadConfigOptions } from './config/load-config.js';
export type { Config, FunctionSettings, RouteConfig } from './config/schema.js';
export { functionSettingsOf } from './config/function-settings.js';
export {
  createDependencies,
  type CreateDependenciesOptions,
  type GatewayDependencies,
} from './create-dependencies.js';
export { buildApp, type AppDeps, type WarmrouteApp } from './app.js';
export type { AffinityInvoker } from './invoker/affinity-invoker.js';
export type { Metrics } from './metrics.js';
export {
  startLocalHost,
  loadFunctionsFile,
  type FunctionDefinition,
  type LocalHost,
  type LocalHostOptions,
} from './localhost/index.js';
export { examplesDir } from './paths.js';
export { WarmrouteError, errorCatalogue, isWarmrouteError, type ErrorCode } from './errors.js';
