import type { Logger } from 'pino';
import { createLambdaBackend } from './backend/lambda-backend.js';
import type { Config } from './config/schema.js';
import { createDirectory, resolveSecret } from './directory/index.js';
import { createMetrics } from './metrics.js';
import { createScheduler } from './scheduler/index.js';

/**
 * Builds the gateway's collaborators from the config: the key directory
 * (Redis when `REDIS_URL` is set, memory otherwise), the scheduler, the
 * Lambda backend and the metrics. Shared by `warmroute start`, the tests, the
 * benchmarks and the SDK's embedded transport, so they all run the same code.
 */
export async function createDependencies(
  config: Config,
  options: { logger: Logger; endpoint?: string | undefined; defaultMetrics?: boolean },
) {
  const { logger } = options;
  const secret = resolveSecret({ secret: config.secret, production: config.production, logger });
  const directory = await createDirectory({
    secret,
    tenantPrefix: config.tenantPrefix,
    namespace: config.namespace,
    ...(config.redisUrl === undefined
      ? {}
      : { redis: { url: config.redisUrl, commandTimeoutMs: config.redisCommandTimeoutMs } }),
    l1: { max: config.l1Max, ttlMs: config.l1TtlMs },
    idleTtlSeconds: config.keyIdleTtlSeconds,
    logger: logger.child({ component: 'directory' }),
  });
  const scheduler = createScheduler({
    serializePerKey: config.serializePerKey,
    maxQueuePerKey: config.maxQueuePerKey,
    maxQueueWaitMs: config.maxQueueWaitMs,
    perTenantConcurrency: config.perTenantConcurrency,
    globalConcurrency: config.globalConcurrency,
  });
  const functionTimeouts = Object.fromEntries(
    Object.entries(config.functions).map(([name, f]) => [name, f.timeoutSeconds * 1000]),
  );
  const backend = createLambdaBackend({
    ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
    region: config.region,
    functionTimeoutMs: (name: string) => functionTimeouts[name],
    logger: logger.child({ component: 'backend' }),
  });
  const metrics = createMetrics({
    coldStartPricePerGb: config.coldStartPricePerGb,
    defaultMetrics: options.defaultMetrics ?? true,
  });

  return {
    directory,
    scheduler,
    backend,
    metrics,
    async close(): Promise<void> {
      await backend.close();
      await directory.close();
    },
  };
}
