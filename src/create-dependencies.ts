import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { createLambdaBackend, type LambdaBackend } from './backend/lambda-backend.js';
import { KeepWarmPlanners } from './budget/keep-warm-routes.js';
import { PoolTenants } from './budget/pool-tenant.js';
import { RouteBudgets } from './budget/route-budget.js';
import { redisTargetOf } from './config/redis-target.js';
import type { Config } from './config/schema.js';
import {
  createDirectory,
  MemoryDirectoryStore,
  RedisDirectoryStore,
  resolveSecret,
  type Directory,
  type DirectorySettings,
  type DirectoryStore,
} from './directory/index.js';
import { createAffinityInvoker, type AffinityInvoker } from './invoker/affinity-invoker.js';
import { createMetrics, type Metrics } from './metrics.js';
import { DIRECTORY_KEY_PREFIX } from './redis/keys.js';
import { createScheduler, type Scheduler, type SchedulerSettings } from './scheduler/index.js';

/**
 * The gateway's request path and everything behind it, built once from the
 * config: what `buildApp`, `createGateway` (so `warmroute start`) and the
 * SDK's embedded transport all run.
 */
export interface GatewayDependencies {
  readonly directory: Directory;
  readonly scheduler: Scheduler;
  /** The Lambda backend (its `settings`: endpoint, region, pipeline, connection pool size). */
  readonly backend: LambdaBackend;
  readonly metrics: Metrics;
  /** key → tenant → turn → Invoke: the one invoker every route and the SDK call. */
  readonly invoker: AffinityInvoker;
  readonly logger: Logger;
  /** Stops keep-warm, closes the Lambda client, then the directory (pending outcomes are flushed, Redis closed). */
  close(): Promise<void>;
}

/**
 * How the embedding program runs the request path (not settings: those all
 * come from the config). Both optional because docs/embedding.md shows
 * `createDependencies(config, { logger, endpoint })` as the public API.
 */
export interface CreateDependenciesOptions {
  readonly logger: Logger;
  /** Invoke API endpoint (the local host's URL, `AWS_ENDPOINT_URL_LAMBDA`); undefined: AWS. */
  readonly endpoint?: string | undefined;
  /**
   * `endpoint` is the local host this program started itself (`createGateway`
   * without `AWS_ENDPOINT_URL_LAMBDA`): it checks no signature, so Invokes go
   * unsigned and without the headers only AWS reads (the backend's
   * `signing: 'none'`). Unset or false: signed, whatever the endpoint.
   */
  readonly endpointIsEmbeddedLocalHost?: boolean | undefined;
  /**
   * Register Node's default process metrics in the gateway's registry: true
   * (unset) for a gateway process, false inside a host program that exports
   * its own (the SDK's embedded transport, tests).
   */
  readonly defaultMetrics?: boolean | undefined;
}

/** The directory's settings as the config states them (the schema holds every default). */
export function directorySettingsOf(config: Config): DirectorySettings {
  return {
    tenantPrefix: config.tenantPrefix,
    namespace: config.namespace,
    l1: { max: config.l1Max, ttlMs: config.l1TtlMs },
    statsFlushIntervalMs: config.statsFlushIntervalMs,
  };
}

/** The scheduler's settings as the config states them (the schema holds every default). */
export function schedulerSettingsOf(config: Config): SchedulerSettings {
  return {
    serializePerKey: config.serializePerKey,
    maxQueuePerKey: config.maxQueuePerKey,
    maxQueueWaitMs: config.maxQueueWaitMs,
    perTenantConcurrency: config.perTenantConcurrency,
    globalConcurrency: config.globalConcurrency,
    maxGlobalQueue: config.maxGlobalQueue,
    retryAfterSeconds: config.queueRetryAfterSeconds,
  };
}

/**
 * The directory's store, not started: Redis when `REDIS_URL` or
 * `WARMROUTE_REDIS_CLUSTER_NODES` is set (shared by every replica), memory
 * otherwise (one process). Every option is passed: the stores know no
 * defaults of their own.
 */
export function createDirectoryStore(
  config: Config,
  options: { readonly logger: Logger; readonly clock: () => number },
): DirectoryStore {
  const target = redisTargetOf(config);
  if (target === undefined) {
    return new MemoryDirectoryStore({
      idleTtlSeconds: config.keyIdleTtlSeconds,
      clock: options.clock,
    });
  }
  return new RedisDirectoryStore({
    target,
    password: config.redisPassword,
    // A key-layout constant, not a setting: every replica and tool must agree on it.
    keyPrefix: DIRECTORY_KEY_PREFIX,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    connectTimeoutMs: config.redisConnectTimeoutMs,
    maxReconnectDelayMs: config.redisMaxReconnectDelayMs,
    idleTtlSeconds: config.keyIdleTtlSeconds,
    clock: options.clock,
    logger: options.logger,
    instanceId: randomBytes(8).toString('hex'),
  });
}

/**
 * Builds the gateway's collaborators from the config, each with every option
 * taken from it: the key directory over its store, the scheduler, the Lambda
 * backend, the metrics and the invoker that ties them together. Shared by
 * `createGateway` (so `warmroute start`), the tests, the benchmarks and the
 * SDK's embedded transport, so they all run the same code.
 */
export async function createDependencies(
  config: Config,
  options: CreateDependenciesOptions,
): Promise<GatewayDependencies> {
  const { logger } = options;
  const directoryLogger = logger.child({ component: 'directory' });
  const secret = resolveSecret({ secret: config.secret, production: config.production, logger });
  // One clock for the directory and its store (expiry and L1 ages must agree).
  const clock = Date.now;
  const directory = await createDirectory({
    ...directorySettingsOf(config),
    secret,
    store: createDirectoryStore(config, { logger: directoryLogger, clock }),
    logger: directoryLogger,
    clock,
  });
  const scheduler = createScheduler(schedulerSettingsOf(config));
  // A Map: a function name from the request path (`constructor`, `toString`)
  // must not find an inherited property when the allow-list is empty.
  const functionTimeouts = new Map(
    Object.entries(config.functions).map(([name, f]) => [name, f.timeoutSeconds * 1000]),
  );
  const backend = createLambdaBackend({
    endpoint: options.endpoint,
    region: config.region,
    pipeline: config.lambdaPipeline,
    signing: options.endpointIsEmbeddedLocalHost === true ? 'none' : 'sigv4',
    // Every Invoke runs inside a scheduler slot (the invoker calls the backend
    // from scheduler.run; a retry reuses its slot; a client that leaves frees
    // its key, not its global slot, until the call ends), and the backend only
    // makes RequestResponse calls (no Event invocations outside the cap), so
    // at most `globalConcurrency` Invokes are on the wire: one connection
    // each, no headroom needed. Fewer would queue admitted calls a second
    // time, inside undici, where no deadline or metric sees them.
    connections: config.globalConcurrency,
    functionTimeoutMs: (name: string) => functionTimeouts.get(name),
    logger: logger.child({ component: 'backend' }),
  });
  const metrics = createMetrics({
    coldStartPricePerGb: config.coldStartPricePerGb,
    defaultMetrics: options.defaultMetrics ?? true,
  });
  metrics.watchDirectory(directory);
  metrics.watchScheduler(scheduler);
  const keepWarm = new KeepWarmPlanners(config, backend, scheduler);
  const invoker = createAffinityInvoker({
    directory,
    scheduler,
    backend,
    metrics,
    functions: config.functions,
    logTail: config.logTail,
    budget: {
      routes: new RouteBudgets(config),
      pool: new PoolTenants(secret, config.tenantPrefix, config.namespace),
      retryAfterSeconds: config.queueRetryAfterSeconds,
      keepWarm,
    },
  });

  return {
    directory,
    scheduler,
    backend,
    metrics,
    invoker,
    logger,
    async close(): Promise<void> {
      // First: a ping timer firing during shutdown would call a closed backend.
      keepWarm.close();
      await backend.close();
      await directory.close();
    },
  };
}
