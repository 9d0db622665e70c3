import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import type { SnapshotScope } from '../../lambda/snapshot-scope.js';
import type { SnapshotStore } from '../../lambda/stores/base-snapshot-store.js';
import { RedisSnapshotStore } from '../../lambda/stores/redis-snapshot-store.js';
import { passwordRedis, type PasswordRedis } from '../helpers/password-redis.js';
import { redisGatewayDeps } from '../helpers/redis-gateway-deps.js';

/**
 * Redis AUTH kept out of the URL (issue 14: a deployment's secret store
 * supplies it): `WARMROUTE_REDIS_PASSWORD` for the gateway's directory,
 * `WARMROUTE_SNAPSHOT_REDIS_PASSWORD` for the function library's snapshot
 * store. Each runs against a private `redis-server --requirepass` (the shared
 * server has no password): with the right password it works, with a wrong
 * one it degrades as documented (the directory resolves by derivation; the
 * snapshot store fails with WR_ERR_SNAPSHOT_STORE), and the password never
 * appears in what the gateway logs.
 */

/** An ACL user `app` with `password` on `redis` (set up with the server's own requirepass). */
async function aclUser(redis: PasswordRedis, password: string): Promise<string> {
  const admin = new Redis(redis.url, { password: redis.password, lazyConnect: true });
  onTestFinished(() => {
    admin.disconnect();
  });
  await admin.connect();
  await admin.call('ACL', 'SETUSER', 'app', 'on', `>${password}`, '~*', '&*', '+@all');
  return redis.url.replace('redis://', 'redis://app@');
}

describe('WARMROUTE_REDIS_PASSWORD: the directory authenticates apart from REDIS_URL', () => {
  it('works with a URL without password and the password in the setting', async () => {
    // Prepare
    const redis = await passwordRedis();

    // Act
    const { config, deps, store, log } = await redisGatewayDeps({
      REDIS_URL: redis.url,
      WARMROUTE_REDIS_PASSWORD: redis.password,
    });
    const tenant = await deps.directory.rotate('auth-key');
    const explained = await deps.directory.explain('auth-key');
    log.logger.info({ config }, 'config at start');

    // Assess: both connections are up (commands and pub/sub), the key is stored in Redis.
    expect(deps.directory.health()).toEqual({ status: 'ok', store: 'redis' });
    expect(store.pubsubUp()).toBe(true);
    expect(explained.store).toBe('redis');
    expect(explained.tenantId).toBe(tenant.tenantId);
    expect(await store.client.exists(store.keys.record(config.namespace, 'auth-key'))).toBe(1);
    // The config, logged whole, shows the field censored, never the password.
    expect(log.text()).toContain('"redisPassword":"[redacted]"');
    expect(log.text()).not.toContain(redis.password);
  });

  it('the setting is used instead of a password written in the URL', async () => {
    // Prepare: the URL carries a stale password, the setting the current one.
    const redis = await passwordRedis();
    const stale = redis.url.replace('redis://', 'redis://:stale-password@');

    // Act
    const { deps, store } = await redisGatewayDeps({
      REDIS_URL: stale,
      WARMROUTE_REDIS_PASSWORD: redis.password,
    });
    await deps.directory.rotate('rotated-password');

    // Assess
    expect(deps.directory.health().status).toBe('ok');
    expect(store.pubsubUp()).toBe(true);
    expect((await deps.directory.explain('rotated-password')).store).toBe('redis');
  });

  it('an ACL user named in the URL authenticates with the setting as its password', async () => {
    // Prepare: the URL names the user only (redis://app@host), the secret store supplies its password.
    const redis = await passwordRedis();
    const appPassword = 'App:Pw@1/%';
    const url = await aclUser(redis, appPassword);

    // Act
    const { deps, store } = await redisGatewayDeps({
      REDIS_URL: url,
      WARMROUTE_REDIS_PASSWORD: appPassword,
    });
    await deps.directory.rotate('acl-user');

    // Assess: both connections authenticated as app (not "app" with an empty password).
    expect(deps.directory.health()).toEqual({ status: 'ok', store: 'redis' });
    expect(store.pubsubUp()).toBe(true);
    expect((await deps.directory.explain('acl-user')).store).toBe('redis');
    expect(await store.client.call('ACL', 'WHOAMI')).toBe('app');
  });

  it('with a wrong password: degraded, resolving by derivation, and the password is not logged', async () => {
    // Prepare
    const redis = await passwordRedis();
    const wrong = `wrong-${redis.password}`;

    // Act
    const { deps, log } = await redisGatewayDeps({
      REDIS_URL: redis.url,
      WARMROUTE_REDIS_PASSWORD: wrong,
    });
    const resolved = await deps.directory.resolve('derived-key');

    // Assess: start-up went on without Redis (README: "before going on degraded, resolving by
    // derivation"); the key still gets a tenant; the logs say why, without the password.
    expect(deps.directory.health().status).toBe('degraded');
    expect(resolved.tenantId.length).toBeGreaterThan(0);
    expect(log.text()).toContain('not reachable');
    // Why: Redis's own answer to the AUTH, not just "unreachable".
    expect(log.text()).toMatch(/Redis is not reachable at start \((WRONGPASS|NOAUTH)[^)]*\)/);
    // /readyz's detail says it too (health() is what /readyz serves), without the password.
    const health = deps.directory.health();
    expect(health.status === 'degraded' ? health.reason : '').toMatch(
      /^Redis unreachable \((WRONGPASS|NOAUTH)[^)]*\)/,
    );
    expect(JSON.stringify(health)).not.toContain(wrong);
    expect(log.text()).not.toContain(wrong);
    expect(log.text()).not.toContain(redis.password);
  });
});

const scope = (key: string): SnapshotScope => ({
  functionName: 'password-fn',
  namespace: 'ns',
  epoch: 'e',
  generation: 0,
  key,
});

async function roundTrip(store: SnapshotStore, key: string): Promise<string | undefined> {
  const written = await store.write(scope(key), 0, {
    state: Buffer.from(`{"key":"${key}"}`),
    dir: Buffer.alloc(0),
  });
  expect(written).toEqual({ ok: true, version: 1 });
  return (await store.read(scope(key)))?.state.toString();
}

describe('WARMROUTE_SNAPSHOT_REDIS_PASSWORD: the function library authenticates apart from the URL', () => {
  /** defaultSnapshotStore() from a fresh module (it keeps one store per module) under `env`. */
  async function defaultStoreUnder(redis: PasswordRedis, password: string): Promise<SnapshotStore> {
    vi.stubEnv(FUNCTION_ENVIRONMENT.snapshotRedisUrl.env, redis.url);
    vi.stubEnv(FUNCTION_ENVIRONMENT.snapshotRedisPassword.env, password);
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });
    vi.resetModules();
    const { defaultSnapshotStore } = await import('../../lambda/stores/default-store.js');
    const store = defaultSnapshotStore();
    onTestFinished(() => store.close());
    return store;
  }

  it('defaultSnapshotStore() reads both variables and round-trips a snapshot', async () => {
    // Prepare
    const redis = await passwordRedis();
    const store = await defaultStoreUnder(redis, redis.password);

    // Act
    const state = await roundTrip(store, 'default-store');

    // Assess
    expect(store.constructor.name).toBe('RedisSnapshotStore');
    expect(state).toBe('{"key":"default-store"}');
  });

  it('with a wrong password the store fails with WR_ERR_SNAPSHOT_STORE, not a hang', async () => {
    // Prepare
    const redis = await passwordRedis();
    const store = await defaultStoreUnder(redis, `wrong-${redis.password}`);

    // Act
    const failure = await store.readVersion(scope('wrong')).then(
      () => undefined,
      (err: unknown) => err,
    );

    // Assess: (the module was loaded afresh, so its error class is not this file's: compare the
    // name and code.)
    expect(failure).toMatchObject({ name: 'WarmStateError', code: 'WR_ERR_SNAPSHOT_STORE' });
  });

  /** A RedisSnapshotStore on `url` with the `password` option: what a round trip under `key` reads back. */
  async function roundTripWith(url: string, password: string, key: string) {
    const store = new RedisSnapshotStore({ url, password, keyPrefix: 'password-test:' });
    onTestFinished(() => store.close());
    return roundTrip(store, key);
  }

  it('the password option is used instead of one in the URL', async () => {
    // Prepare
    const redis = await passwordRedis();
    const url = redis.url.replace('redis://', 'redis://:stale-password@');

    // Act
    const state = await roundTripWith(url, redis.password, 'explicit');

    // Assess
    expect(state).toBe('{"key":"explicit"}');
  });

  it('an ACL user named in the URL, with a stale ?password= query, uses the password option', async () => {
    // Prepare
    const redis = await passwordRedis();
    const appPassword = 'App:Pw@1/%';
    const url = `${await aclUser(redis, appPassword)}?password=stale-password`;

    // Act
    const state = await roundTripWith(url, appPassword, 'acl-user');

    // Assess
    expect(state).toBe('{"key":"acl-user"}');
  });

  it("an empty password option keeps the URL's credentials (AUTH is still sent, no NOAUTH)", async () => {
    // Prepare: an unset variable handed on as '' must not strip the URL's password.
    const redis = await passwordRedis();
    const url = redis.url.replace('redis://', `redis://:${encodeURIComponent(redis.password)}@`);

    // Act
    const state = await roundTripWith(url, '', 'empty-password');

    // Assess
    expect(state).toBe('{"key":"empty-password"}');
  });
});
