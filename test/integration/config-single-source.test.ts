import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { defaults, settings, type Config } from '../../src/config/schema.js';
import { createGateway } from '../../src/create-gateway.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import { packageRoot } from '../../src/paths.js';
import { DIRECTORY_KEY_PREFIX } from '../../src/redis/keys.js';
import { startInvokeServer } from '../helpers/backend-invoke-server.js';
import { freePort } from '../helpers/ports.js';
import { passwordRedis, type PasswordRedis } from '../helpers/password-redis.js';
import { uniquePrefix } from '../helpers/redis.js';

/**
 * The second half of test/unit/config-single-source.test.ts (issue 12: "a
 * test fails if any default is defined outside the config schema"). Built
 * from an empty config, a component that keeps its own copy of a default
 * equal to the schema's is invisible; and a `.settings` snapshot only repeats
 * what a constructor was given, not what the component then uses. So the
 * gateway is built by `createGateway` from configs whose settings differ from
 * their defaults, and each setting is checked by what the gateway does with
 * it or by the live object that applies it.
 *
 * What each test proves:
 * - "every setting differs": by behaviour, the key header, `stage` (in the
 *   event the function receives), the tenant prefix (the tenant the call ran
 *   in), the namespace (where the key is stored), the Redis key's idle TTL, the cold-start
 *   price and the log tail (the metric), `maxPayloadBytes` on both routes
 *   (Fastify's body limit: `max` → 200, `max + 1` → 413; the proxy route's own
 *   event limit: a body of `max` makes a larger event → 413), `l1Max` (of
 *   `l1Max + 1` new keys the first is evicted, the last is served from L1) and
 *   `serializePerKey: false` (two jobs on one key run at once). From the live
 *   objects: the lru-cache's own `max`/`ttl`, Node's `headersTimeout`,
 *   `requestTimeout`, `keepAliveTimeout`, `maxConnections` on both servers,
 *   the loggers' level, the ioredis client's `commandTimeout` and reconnect
 *   backoff, and the local host's host/port/region.
 * - "limits of the request path": through a held Lambda endpoint, the
 *   deadline (`requestTimeoutMs`, both routes: 504 no earlier), the per-key
 *   queue (`maxQueuePerKey`: one more is refused at once with the
 *   `queueRetryAfterSeconds` Retry-After) and its wait (`maxQueueWaitMs`: the
 *   queued calls get 429 no earlier, while the held ones still run); in the
 *   gateway's own scheduler, `perTenantConcurrency`, `globalConcurrency` and
 *   `maxGlobalQueue` (one more is refused at once); the L1 TTL (an entry is
 *   gone after `l1TtlMs`); `shutdownGraceMs` (a job that never ends is cut
 *   with WR_ERR_SHUTTING_DOWN no earlier, and well before the default).
 * - "the Redis store gives up connecting": against a server that never
 *   answers, startup waits `redisConnectTimeoutMs`, not the default.
 *
 * What they cannot prove:
 * - A value close to the config's. Time limits are bounded below by the
 *   config's value (a timer never fires early) and above only coarsely, so a
 *   slow machine cannot fail the test: the deadline within 2 × its value, the
 *   queue wait before the held calls' deadline, the connect timeout under the
 *   default, the shutdown within half the default. A limit a little longer
 *   than configured passes.
 * - Behaviour of Node's header, body and keep-alive timeouts and
 *   `maxConnections`, of the Redis command timeout and reconnect cap: their
 *   live objects are read (the properties Node and ioredis use), nothing is
 *   waited out (seconds each, or a Redis that stalls).
 * - The stats flush interval, the backend's pool size and the local host's
 *   settings are compared as `.settings` snapshots only (the pool size is
 *   proven in test/integration/config-wiring.test.ts); the bind hosts and
 *   ports are not used here at all (createGateway never listens; main does).
 * WARMROUTE_QUEUE_RETRY_AFTER_SECONDS on shutdown refusals is in
 * test/integration/config-wiring.test.ts.
 *
 * Needs `npm run build` (the local host's environments run dist/) and
 * `redis-server` (the first test starts its own, with `--requirepass`, to
 * prove WARMROUTE_REDIS_PASSWORD reaches both of the store's connections).
 */

const functionsFile = join(
  packageRoot,
  'test',
  'helpers',
  'single-source-functions',
  'functions.json',
);

/** Every config field this test sets, with a valid value other than its default. */
async function nonDefaultEnv(
  namespace: string,
  redis: PasswordRedis,
): Promise<Record<string, string>> {
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
    // A server that demands AUTH, its password given apart from the URL.
    REDIS_URL: redis.url,
    WARMROUTE_REDIS_PASSWORD: redis.password,
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
    // Small, so that evicting past it stays cheap to observe; a TTL no resolve below outlives
    // (the TTL is observed in the second test).
    WARMROUTE_L1_MAX: '40',
    WARMROUTE_L1_TTL_MS: '60000',
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
  redisClusterNodes:
    'refused together with REDIS_URL, which this test sets; test/integration/config-redis-cluster.test.ts builds the gateway on a cluster',
};

describe('every component runs with the config it was given, not a default of its own', () => {
  it('createGateway from a config where every setting differs from its default', async () => {
    // Prepare
    const namespace = uniquePrefix('single-source').replace(/[^A-Za-z0-9._-]/g, '-');
    // Private (stopped by its PID when the test ends), so nothing to delete after.
    const redis = await passwordRedis();
    const config = loadConfig(await nonDefaultEnv(namespace, redis));
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
    // The directory's own Redis store and L1 cache (the Directory interface exposes neither;
    // the KeyDirectory createDependencies builds does).
    const directory = deps.directory;
    if (!(directory instanceof KeyDirectory)) throw new Error('expected a KeyDirectory');
    // Read from the lru-cache instance itself, not from the options it was built with.
    expect(directory.l1Limits).toEqual({ max: config.l1Max, ttlMs: config.l1TtlMs });
    const store = directory.store;
    if (!(store instanceof RedisDirectoryStore)) throw new Error('expected the Redis store');
    expect(store.settings).toMatchObject({
      target: { mode: 'standalone', url: config.redisUrl },
      keyPrefix: DIRECTORY_KEY_PREFIX,
      commandTimeoutMs: config.redisCommandTimeoutMs,
      connectTimeoutMs: config.redisConnectTimeoutMs,
      maxReconnectDelayMs: config.redisMaxReconnectDelayMs,
      idleTtlSeconds: config.keyIdleTtlSeconds,
    });
    // Both connections authenticated with WARMROUTE_REDIS_PASSWORD (the server demands it): the
    // command client serves the key below, and the subscriber is subscribed.
    const client = store.client;
    if (!(client instanceof Redis)) throw new Error('expected a standalone client');
    expect(client.options.password).toBe(config.redisPassword);
    expect(store.pubsubUp()).toBe(true);
    expect(client.options.commandTimeout).toBe(config.redisCommandTimeoutMs);
    expect(client.options.retryStrategy?.(1_000)).toBe(config.redisMaxReconnectDelayMs);
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
    // The tenant the call ran in carries the prefix, and the key is stored in the namespace.
    expect(explained.tenantId.startsWith(config.tenantPrefix)).toBe(true);
    expect(res.headers['x-affinity-tenant']).toBe(explained.tenantId);
    expect(await store.client.exists(store.keys.record(config.namespace, 'blue'))).toBe(1);
    // The invoker read the log tail (logTail): the cold start was seen, and priced at the
    // configured price (event: 384 MB).
    expect(res.headers['x-affinity-state']).toBe('fresh');
    const metrics = await deps.metrics.registry.getSingleMetricAsString(
      'warmroute_cold_start_cost_usd_total',
    );
    expect(metrics).toContain(
      `warmroute_cold_start_cost_usd_total{function="event"} ${String((384 / 1024) * config.coldStartPricePerGb)}`,
    );

    // Act: a body of exactly maxPayloadBytes and one byte more on the RPC route (the body is the
    // payload), and a body of maxPayloadBytes on the proxy route (whose event wraps the body, so
    // it is larger than the body).
    const rpcCall = (bytes: number) =>
      app.inject({
        method: 'POST',
        url: '/v1/functions/event/invoke',
        headers: { 'x-single-source-key': 'payload', 'content-type': 'application/json' },
        payload: `"${'a'.repeat(bytes - 2)}"`,
      });
    const atLimit = await rpcCall(config.maxPayloadBytes);
    const overLimit = await rpcCall(config.maxPayloadBytes + 1);
    const proxied = await app.inject({
      method: 'POST',
      url: '/event/x',
      headers: { 'x-single-source-key': 'payload', 'content-type': 'text/plain' },
      payload: 'a'.repeat(config.maxPayloadBytes),
    });

    // Assess: the body limit (Fastify's) and the proxy route's own event limit are the config's.
    expect(atLimit.statusCode, atLimit.body.slice(0, 200)).toBe(200);
    expect(overLimit.statusCode).toBe(413);
    expect(overLimit.json<{ error: { code: string } }>().error.code).toBe(
      'WR_ERR_PAYLOAD_TOO_LARGE',
    );
    expect(proxied.statusCode).toBe(413);
    expect(proxied.json<{ error: { code: string } }>().error.code).toBe('WR_ERR_PAYLOAD_TOO_LARGE');

    // Act: l1Max + 1 keys never seen, resolved in order, then the first and the last again.
    for (let i = 0; i <= config.l1Max; i++) await directory.resolve(`evict-${String(i)}`);
    const beforeLast = directory.counters();
    await directory.resolve(`evict-${String(config.l1Max)}`);
    const beforeFirst = directory.counters();
    await directory.resolve('evict-0');
    const afterFirst = directory.counters();

    // Assess: the L1 cache holds l1Max entries: the last key is served from it, the first was
    // evicted (the TTL, a minute, has not run out: the last key is still there).
    expect(beforeFirst.l1Hits).toBe(beforeLast.l1Hits + 1);
    expect(afterFirst.l1Misses).toBe(beforeFirst.l1Misses + 1);

    // Act: two jobs on one key in the gateway's own scheduler, both held.
    const scheduler = deps.scheduler;
    const holds: (() => void)[] = [];
    const hold = () =>
      new Promise<void>((resolve) => {
        holds.push(resolve);
      });
    const sameKey = [1, 2].map(() =>
      scheduler.run({ key: 'one-key', tenantId: 't', deadline: Date.now() + 10_000 }, hold),
    );
    await vi.waitFor(() => {
      expect(holds).toHaveLength(2);
    });

    // Assess: serializePerKey false: both run at once (true would queue the second).
    expect(scheduler.stats()).toMatchObject({ running: 2, queued: 0 });
    for (const release of holds) release();
    await Promise.all(sameKey);

    // The shutdown refusal's Retry-After (WARMROUTE_QUEUE_RETRY_AFTER_SECONDS) needs an app
    // that has not served yet (Fastify's inject() refuses a started instance once closing):
    // test/integration/config-wiring.test.ts checks it with a non-default value.
  });

  it('limits of the request path, by behaviour: deadline, queues, concurrency, L1 TTL', async () => {
    // Prepare: a Lambda endpoint that holds every Invoke (it never answers before the test ends),
    // and a gateway in front of it whose limits all differ from their defaults.
    const lambda = await startInvokeServer(() => ({ status: 200, delayMs: 60_000 }));
    onTestFinished(() => lambda.close());
    const config = loadConfig({
      AWS_ENDPOINT_URL_LAMBDA: lambda.url,
      WARMROUTE_LOG_LEVEL: 'silent',
      WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/held', function: 'f', mode: 'affinity' }]),
      // The queue wait ends before the deadline, so the two are told apart by their codes.
      WARMROUTE_REQUEST_TIMEOUT_MS: '2500',
      WARMROUTE_MAX_QUEUE_WAIT_MS: '1200',
      WARMROUTE_MAX_QUEUE_PER_KEY: '3',
      WARMROUTE_TENANT_CONCURRENCY: '2',
      WARMROUTE_GLOBAL_CONCURRENCY: '6',
      // Above maxQueuePerKey + 1, so a per-key queue that is too long is not cut by this one.
      WARMROUTE_MAX_GLOBAL_QUEUE: '5',
      WARMROUTE_QUEUE_RETRY_AFTER_SECONDS: '4',
      WARMROUTE_L1_TTL_MS: '200',
      WARMROUTE_SHUTDOWN_GRACE_MS: '300',
    });
    for (const field of [
      'requestTimeoutMs',
      'maxQueueWaitMs',
      'maxQueuePerKey',
      'perTenantConcurrency',
      'globalConcurrency',
      'maxGlobalQueue',
      'queueRetryAfterSeconds',
      'l1TtlMs',
      'shutdownGraceMs',
    ] as const) {
      expect(config[field], `${field} differs from its default`).not.toBe(defaults[field]);
    }
    expect(config.serializePerKey).toBe(true);
    const gateway = await createGateway(config, { defaultMetrics: false });
    onTestFinished(() => gateway.close());
    const { app, dependencies: deps } = gateway;
    const scheduler = deps.scheduler;
    const rpc = (key: string) =>
      app.inject({
        method: 'POST',
        url: '/v1/functions/f/invoke',
        headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
        payload: '{}',
      });
    const answered = new Set<string>();
    const track = <T>(name: string, promise: Promise<T>): Promise<T> =>
      promise.finally(() => answered.add(name));
    // A limit that did not apply would leave a call waiting for a default (10 s or 30 s): fail
    // soon instead, with what was waited for.
    const within = <T>(what: string, promise: Promise<T>, ms: number): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          reject(new Error(`${what}: no answer within ${String(ms)} ms`));
        }, ms);
        promise.then(resolve, reject).finally(() => {
          clearTimeout(timer);
        });
      });

    // Act: one call on the RPC route and one on the proxy route reach the endpoint (held).
    // A while later (so the queued calls' deadline is clearly after theirs), maxQueuePerKey
    // more calls for the RPC call's key queue behind it, and then one more.
    const heldAt = performance.now();
    const held = track('held', rpc('q'));
    const heldProxy = track(
      'held-proxy',
      app.inject({ method: 'GET', url: '/held/x', headers: { 'x-affinity-key': 'p' } }),
    );
    await vi.waitFor(() => {
      expect(lambda.requests).toHaveLength(2);
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    const queuedAt = performance.now();
    const queued = Array.from({ length: config.maxQueuePerKey }, () => rpc('q'));
    await vi.waitFor(() => {
      expect(scheduler.stats().queued).toBe(config.maxQueuePerKey);
    });
    const extra = await rpc('q');
    const queuedWhenRefused = scheduler.stats().queued;

    // Assess: the extra call is refused at once (the others still wait), with the Retry-After.
    expect(extra.statusCode).toBe(429);
    expect(extra.json<{ error: { code: string } }>().error.code).toBe('WR_ERR_KEY_BUSY');
    expect(extra.headers['retry-after']).toBe(String(config.queueRetryAfterSeconds));
    expect(queuedWhenRefused).toBe(config.maxQueuePerKey);

    // Assess: the queued calls give up after maxQueueWaitMs (429 WR_ERR_KEY_BUSY), before the
    // held calls reach their deadline (had the queued calls waited until their own deadline,
    // 500 ms after the held calls', they would be answered after them); the held calls end at
    // requestTimeoutMs (504 WR_ERR_DEADLINE) on both routes. Elapsed times are lower bounds
    // only: a timer never fires early, and a late one must not fail the test.
    const waited = await within('queued calls', Promise.all(queued), config.requestTimeoutMs * 2);
    const waitedMs = performance.now() - queuedAt;
    expect(answered.size).toBe(0);
    for (const res of waited) {
      expect(res.statusCode).toBe(429);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('WR_ERR_KEY_BUSY');
    }
    expect(waitedMs).toBeGreaterThanOrEqual(config.maxQueueWaitMs);
    const timedOut = await within(
      'held calls',
      Promise.all([held, heldProxy]),
      config.requestTimeoutMs * 2,
    );
    for (const res of timedOut) {
      expect(res.statusCode).toBe(504);
      expect(res.json<{ error: { code: string } }>().error.code).toBe('WR_ERR_DEADLINE');
    }
    expect(performance.now() - heldAt).toBeGreaterThanOrEqual(config.requestTimeoutMs);

    // Act: in the gateway's own scheduler, held jobs: one tenant past its cap, then other
    // tenants past the global cap and past the global queue.
    const holds: (() => void)[] = [];
    const hold = () =>
      new Promise<void>((resolve) => {
        holds.push(resolve);
      });
    // Settled at once with its error, if any: a refusal is an outcome here, not a failure.
    const job = (key: string, tenantId: string) =>
      scheduler.run({ key, tenantId, deadline: Date.now() + 10_000 }, hold).then(
        () => undefined,
        (err: unknown) => err,
      );
    const jobs = Array.from({ length: config.perTenantConcurrency + 1 }, (_, i) =>
      job(`tenant-${String(i)}`, 'one-tenant'),
    );
    await vi.waitFor(() => {
      expect(holds).toHaveLength(config.perTenantConcurrency);
    });
    const perTenant = scheduler.stats();
    // The tenant's waiting job holds no global slot but counts against the global queue.
    const fill = config.globalConcurrency + config.maxGlobalQueue - perTenant.queued;
    for (let i = perTenant.running; i < fill; i++) {
      jobs.push(job(`global-${String(i)}`, `tenant-${String(i)}`));
    }
    await vi.waitFor(() => {
      expect(holds).toHaveLength(config.globalConcurrency);
    });
    const global = scheduler.stats();
    const overQueue = await job('over', 'tenant-over');
    const queuedWhenOver = scheduler.stats().queued;
    for (const release of holds) release();
    await vi.waitFor(() => {
      for (const release of holds) release();
      expect(scheduler.stats()).toMatchObject({ running: 0, queued: 0 });
    });
    await Promise.all(jobs);

    // Assess
    expect(perTenant).toMatchObject({ running: config.perTenantConcurrency, queued: 1 });
    expect(global).toMatchObject({
      running: config.globalConcurrency,
      queued: config.maxGlobalQueue,
    });
    // Refused at once (the queued jobs still wait): waiting out maxQueueWaitMs gives this code too.
    expect(overQueue).toMatchObject({ code: 'WR_ERR_CONCURRENCY_LIMIT' });
    expect(queuedWhenOver).toBe(config.maxGlobalQueue);

    // Act: a key resolved, then again after the L1 TTL.
    if (!(deps.directory instanceof KeyDirectory)) throw new Error('expected a KeyDirectory');
    const directory = deps.directory;
    expect(directory.l1Limits.ttlMs).toBe(config.l1TtlMs);
    await directory.resolve('ttl');
    await new Promise((resolve) => setTimeout(resolve, config.l1TtlMs + 20));
    const before = directory.counters();
    await directory.resolve('ttl');
    const after = directory.counters();

    // Assess: the entry is gone from L1 after l1TtlMs (the default, 5 s, would still serve it).
    expect(after.l1Misses).toBe(before.l1Misses + 1);

    // Act: a job that never ends, then shutdown.
    const endless = scheduler
      .run(
        { key: 'endless', tenantId: 'endless', deadline: Date.now() + 60_000 },
        () => new Promise<void>(() => undefined),
      )
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    await vi.waitFor(() => {
      expect(scheduler.stats().running).toBe(1);
    });
    const closingAt = performance.now();
    await within('shutdown', gateway.close(), defaults.shutdownGraceMs / 2);
    const closedMs = performance.now() - closingAt;

    // Assess: the drain gave the job shutdownGraceMs, then cut it (the default grace is 10 s).
    expect(await endless).toMatchObject({ code: 'WR_ERR_SHUTTING_DOWN' });
    expect(closedMs).toBeGreaterThanOrEqual(config.shutdownGraceMs);
  });

  it('the Redis store gives up connecting after WARMROUTE_REDIS_CONNECT_TIMEOUT_MS', async () => {
    // Prepare: a "Redis" that accepts connections and never answers (ioredis stays short of
    // ready), on loopback.
    const sockets = new Set<Socket>();
    const blackhole = createNetServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    onTestFinished(
      () =>
        new Promise<void>((resolve) => {
          for (const socket of sockets) socket.destroy();
          blackhole.close(() => {
            resolve();
          });
        }),
    );
    const config = loadConfig({
      AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
      REDIS_URL: `redis://127.0.0.1:${String((blackhole.address() as AddressInfo).port)}`,
      WARMROUTE_REDIS_CONNECT_TIMEOUT_MS: '300',
      WARMROUTE_LOG_LEVEL: 'silent',
    });
    expect(config.redisConnectTimeoutMs).toBeLessThan(defaults.redisConnectTimeoutMs);

    // Act: createGateway starts the directory, whose store waits for its first connection.
    const startedAt = performance.now();
    const gateway = await createGateway(config, { defaultMetrics: false });
    const elapsedMs = performance.now() - startedAt;
    onTestFinished(() => gateway.close());

    // Assess: it waited the configured time (a timer never fires early), went on degraded, and
    // did not wait the default (2 s: ample margin for a slow machine above 300 ms).
    expect(sockets.size).toBeGreaterThan(0);
    expect(elapsedMs).toBeGreaterThanOrEqual(config.redisConnectTimeoutMs);
    expect(elapsedMs).toBeLessThan(defaults.redisConnectTimeoutMs);
    expect(gateway.dependencies.directory.health().status).toBe('degraded');
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
