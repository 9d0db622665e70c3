import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { defaults, settings, type Config } from '../../src/config/schema.js';
import { createGateway } from '../../src/create-gateway.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import { packageRoot } from '../../src/paths.js';
import { DIRECTORY_KEY_PREFIX } from '../../src/redis/keys.js';
import { freePort } from '../helpers/ports.js';
import { deleteByPrefix, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';

/**
 * The second half of test/unit/config-single-source.test.ts (issue 12: "a
 * test fails if any default is defined outside the config schema"). Built
 * from an empty config, a component that keeps its own copy of a default
 * equal to the schema's is invisible. Here the whole gateway is built by
 * `createGateway` from a config in which every setting differs from its
 * default, and each component's effective value is read back: a component
 * that used its own literal instead of the config's value fails.
 *
 * Needs `npm run build` (the local host's environments run dist/) and the
 * shared Redis (unique namespace, its keys deleted after).
 */

const functionsFile = join(
  packageRoot,
  'test',
  'helpers',
  'single-source-functions',
  'functions.json',
);

/** Every config field this test sets, with a valid value other than its default. */
async function nonDefaultEnv(namespace: string): Promise<Record<string, string>> {
  return {
    WARMROUTE_ENV: 'production',
    HOST: '127.0.0.2',
    PORT: '3999',
    WARMROUTE_ADMIN_HOST: '127.0.0.3',
    WARMROUTE_ADMIN_PORT: '3998',
    WARMROUTE_HEADERS_TIMEOUT_MS: '11000',
    WARMROUTE_BODY_TIMEOUT_MS: '61000',
    WARMROUTE_KEEP_ALIVE_TIMEOUT_MS: '73000',
    WARMROUTE_MAX_CONNECTIONS: '10001',
    REDIS_URL: SHARED_REDIS_URL,
    WARMROUTE_SECRET: 'single-source-secret-0123456789abcdef',
    WARMROUTE_ADMIN_TOKEN: 'single-source-admin-token',
    WARMROUTE_LAMBDA_PIPELINE: 'sdk',
    AWS_REGION: 'eu-west-3',
    WARMROUTE_LOCAL_HOST: '127.0.0.2',
    WARMROUTE_LOCAL_PORT: String(await freePort()),
    WARMROUTE_LOCAL_CONTROL_TOKEN: 'single-source-control',
    WARMROUTE_FUNCTIONS_FILE: functionsFile,
    WARMROUTE_KEY_HEADER: 'x-single-source-key',
    WARMROUTE_NAMESPACE: namespace,
    WARMROUTE_TENANT_PREFIX: 'ss-',
    WARMROUTE_L1_MAX: '1234',
    WARMROUTE_L1_TTL_MS: '4321',
    WARMROUTE_KEY_IDLE_TTL_SECONDS: '3600',
    WARMROUTE_REDIS_COMMAND_TIMEOUT_MS: '201',
    WARMROUTE_REDIS_CONNECT_TIMEOUT_MS: '2001',
    WARMROUTE_REDIS_MAX_RECONNECT_DELAY_MS: '1001',
    WARMROUTE_STATS_FLUSH_INTERVAL_MS: '1001',
    WARMROUTE_REQUEST_TIMEOUT_MS: '30001',
    WARMROUTE_SERIALIZE_PER_KEY: 'false',
    WARMROUTE_MAX_QUEUE_PER_KEY: '33',
    WARMROUTE_MAX_QUEUE_WAIT_MS: '10001',
    WARMROUTE_TENANT_CONCURRENCY: '5',
    WARMROUTE_GLOBAL_CONCURRENCY: '257',
    WARMROUTE_MAX_GLOBAL_QUEUE: '10001',
    WARMROUTE_QUEUE_RETRY_AFTER_SECONDS: '3',
    WARMROUTE_MAX_PAYLOAD_BYTES: '1000001',
    WARMROUTE_COLD_START_PRICE_PER_GB: '0.5',
    WARMROUTE_LOG_TAIL: 'true',
    WARMROUTE_LOG_LEVEL: 'warn',
    WARMROUTE_STAGE: 'single-source',
    WARMROUTE_SHUTDOWN_GRACE_MS: '1234',
    WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/event', function: 'event', mode: 'affinity' }]),
  };
}

/**
 * Fields this test leaves at their default, each for a reason; every other
 * field with a default must differ from it in the config under test.
 */
const LEFT_AT_DEFAULT: Partial<Record<keyof Config, string>> = {
  backend: 'local: the embedded local host is part of what is checked (the endpoint backend below)',
  lambdaEndpoint: 'unset with the local backend (its URL is the endpoint); the second test sets it',
  functions: 'the settings of the functions file fill it (createGateway merges them in)',
};

describe('every component runs with the config it was given, not a default of its own', () => {
  it('createGateway from a config where every setting differs from its default', async () => {
    // Prepare
    const namespace = uniquePrefix('single-source').replace(/[^A-Za-z0-9._-]/g, '-');
    onTestFinished(() =>
      deleteByPrefix(SHARED_REDIS_URL, `${DIRECTORY_KEY_PREFIX}{ns:${namespace}}`),
    );
    const config = loadConfig(await nonDefaultEnv(namespace));
    // The premise: no setting is at its default (so a copied default cannot pass).
    for (const [field, value] of Object.entries(defaults)) {
      if (field in LEFT_AT_DEFAULT) continue;
      expect(config[field as keyof Config], `${field} differs from its default`).not.toEqual(value);
    }
    for (const setting of settings) {
      if (setting.field === null || setting.field in LEFT_AT_DEFAULT) continue;
      expect(config[setting.field], `${setting.env} is set`).toBeDefined();
    }

    // Act: the whole gateway, with the logger createGateway makes from the config.
    const gateway = await createGateway(config, { defaultMetrics: false });
    onTestFinished(() => gateway.close());

    // Assess: the Fastify instances and their Node servers (public and admin).
    const { app, admin, dependencies: deps, localHost } = gateway;
    expect(admin).toBeDefined();
    for (const instance of [app, admin]) {
      expect(instance?.initialConfig.bodyLimit).toBe(config.maxPayloadBytes);
      expect(instance?.initialConfig.keepAliveTimeout).toBe(config.keepAliveTimeoutMs);
      expect(instance?.server.headersTimeout).toBe(config.headersTimeoutMs);
      expect(instance?.server.requestTimeout).toBe(config.bodyTimeoutMs);
      expect(instance?.server.keepAliveTimeout).toBe(config.keepAliveTimeoutMs);
      expect(instance?.server.maxConnections).toBe(config.maxConnections);
      expect(instance?.log.level).toBe(config.logLevel);
    }
    // The embedded local host.
    expect(localHost?.settings).toMatchObject({
      host: config.localHost,
      port: config.localPort,
      region: config.region,
      controlTokenRequired: true,
    });
    // The Lambda backend.
    expect(deps.backend.settings).toEqual({
      endpoint: localHost?.url,
      region: config.region,
      pipeline: config.lambdaPipeline,
      connections: config.globalConcurrency,
    });
    // The directory and its Redis store.
    expect(deps.directory.settings).toEqual({
      tenantPrefix: config.tenantPrefix,
      namespace: config.namespace,
      l1: { max: config.l1Max, ttlMs: config.l1TtlMs },
      statsFlushIntervalMs: config.statsFlushIntervalMs,
    });
    // The directory's own Redis store (the Directory interface does not expose its store;
    // the KeyDirectory createDependencies builds does).
    if (!(deps.directory instanceof KeyDirectory)) throw new Error('expected a KeyDirectory');
    const store = deps.directory.store;
    if (!(store instanceof RedisDirectoryStore)) throw new Error('expected the Redis store');
    expect(store.settings).toMatchObject({
      url: config.redisUrl,
      keyPrefix: DIRECTORY_KEY_PREFIX,
      commandTimeoutMs: config.redisCommandTimeoutMs,
      connectTimeoutMs: config.redisConnectTimeoutMs,
      maxReconnectDelayMs: config.redisMaxReconnectDelayMs,
      idleTtlSeconds: config.keyIdleTtlSeconds,
    });
    expect(store.client.options.commandTimeout).toBe(config.redisCommandTimeoutMs);
    expect(store.client.options.retryStrategy?.(1_000)).toBe(config.redisMaxReconnectDelayMs);
    // The scheduler.
    expect(deps.scheduler.settings).toEqual({
      serializePerKey: config.serializePerKey,
      maxQueuePerKey: config.maxQueuePerKey,
      maxQueueWaitMs: config.maxQueueWaitMs,
      perTenantConcurrency: config.perTenantConcurrency,
      globalConcurrency: config.globalConcurrency,
      maxGlobalQueue: config.maxGlobalQueue,
      retryAfterSeconds: config.queueRetryAfterSeconds,
    });

    // Act: one call on the proxy route, keyed by the configured header.
    const res = await app.inject({
      method: 'GET',
      url: '/event/x',
      headers: { 'x-single-source-key': 'blue' },
    });
    const unkeyed = await app.inject({
      method: 'GET',
      url: '/event/x',
      headers: { 'x-affinity-key': 'blue' },
    });

    // Assess: the key header, the stage in the event, the key's idle expiry in the store.
    expect(res.statusCode, res.body).toBe(200);
    expect(unkeyed.statusCode).toBe(400);
    expect(res.json<{ requestContext: { stage: string } }>().requestContext.stage).toBe(
      config.stage,
    );
    const explained = await deps.directory.explain('blue');
    expect(explained.store).toBe('redis');
    expect(explained.expiresInSeconds).toBeLessThanOrEqual(config.keyIdleTtlSeconds);
    expect(explained.expiresInSeconds).toBeGreaterThan(config.keyIdleTtlSeconds - 60);
    // The invoker read the log tail (logTail): the cold start was seen, and priced at the
    // configured price (event: 384 MB).
    expect(res.headers['x-affinity-state']).toBe('fresh');
    const metrics = await deps.metrics.registry.getSingleMetricAsString(
      'warmroute_cold_start_cost_usd_total',
    );
    expect(metrics).toContain(
      `warmroute_cold_start_cost_usd_total{function="event"} ${String((384 / 1024) * config.coldStartPricePerGb)}`,
    );
    // The shutdown refusal's Retry-After (WARMROUTE_QUEUE_RETRY_AFTER_SECONDS) needs an app
    // that has not served yet (Fastify's inject() refuses a started instance once closing):
    // test/integration/config-wiring.test.ts checks it with a non-default value.
  });

  it('the endpoint backend: the configured endpoint, region, pipeline and pool size', async () => {
    // Prepare
    const config = loadConfig({
      AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
      AWS_REGION: 'ap-south-2',
      WARMROUTE_LAMBDA_PIPELINE: 'sdk',
      WARMROUTE_GLOBAL_CONCURRENCY: '7',
      WARMROUTE_LOG_LEVEL: 'silent',
    });

    // Act
    const gateway = await createGateway(config, { defaultMetrics: false });
    onTestFinished(() => gateway.close());

    // Assess
    expect(gateway.localHost).toBeUndefined();
    expect(gateway.dependencies.backend.settings).toEqual({
      endpoint: 'http://127.0.0.1:9',
      region: 'ap-south-2',
      pipeline: 'sdk',
      connections: 7,
    });
  });
});
