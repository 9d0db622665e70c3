import { Redis } from 'ioredis';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { FUNCTION_ENVIRONMENT } from '../../lambda/environment.js';
import { RedisSnapshotStore } from '../../lambda/stores/redis-snapshot-store.js';
import { settings } from '../../src/config/schema.js';
import { createCommandClient, redisConnection } from '../../src/redis/client.js';

/**
 * `redisConnection` decides what ioredis is given when a password comes
 * apart from the URL (`WARMROUTE_REDIS_PASSWORD`,
 * `WARMROUTE_SNAPSHOT_REDIS_PASSWORD`). ioredis lets anything the URL says
 * win over the options, so these tests read the options ioredis actually
 * ends up with (a lazy client opens no connection): the separate password
 * must be the one sent, the ACL user name must survive, and nothing else the
 * URL says (TLS, host, IPv6, port, db, query) may be lost.
 */
/** The gateway's Redis URL variable, from the config's own list. */
const GATEWAY_URL_ENV = settings.find((s) => s.field === 'redisUrl')?.env ?? 'missing';
const SNAPSHOT_URL_ENV = FUNCTION_ENVIRONMENT.snapshotRedisUrl.env;

/** What `run` throws, or undefined when it returns. */
function thrownBy(run: () => unknown): unknown {
  try {
    run();
    return undefined;
  } catch (err) {
    return err;
  }
}

function resolvedOptions(url: string, password: string | undefined) {
  const connection = redisConnection(url, password, SNAPSHOT_URL_ENV);
  const client = new Redis(connection.url, { lazyConnect: true, ...connection.auth });
  const { username, password: sent, host, port, db, tls, family } = client.options;
  client.disconnect();
  return {
    url: connection.url,
    username: username ?? undefined,
    password: sent,
    host,
    port,
    db,
    tls: tls !== undefined,
    family,
  };
}

describe('redisConnection: the separate password is the one ioredis sends', () => {
  it.each([
    {
      name: 'a user name without password in the URL (an ACL user)',
      url: 'redis://app@cache.internal:6380',
      expected: { username: 'app', host: 'cache.internal', port: 6380, db: 0, tls: false },
    },
    {
      name: 'a stale user:password in the URL',
      url: 'redis://app:old@cache.internal:6380',
      expected: { username: 'app', host: 'cache.internal', port: 6380, db: 0, tls: false },
    },
    {
      name: 'a stale password without user',
      url: 'redis://:old@cache.internal:6380',
      expected: { username: undefined, host: 'cache.internal', port: 6380, db: 0, tls: false },
    },
    {
      name: 'rediss:// with a user and a db path',
      url: 'rediss://app@cache.internal:6379/3',
      expected: { username: 'app', host: 'cache.internal', port: 6379, db: 3, tls: true },
    },
    {
      name: 'a percent-encoded user name',
      url: 'redis://app%40team:old%3Apw@cache.internal:6379',
      expected: { username: 'app@team', host: 'cache.internal', port: 6379, db: 0, tls: false },
    },
    {
      name: 'an IPv6 host',
      url: 'redis://app@[::1]:6379/2',
      expected: { username: 'app', host: '::1', port: 6379, db: 2, tls: false },
    },
    {
      name: 'a ?password= query (the URL parser copies query items into the options)',
      url: 'redis://cache.internal:6379?password=stale&family=6',
      expected: {
        username: undefined,
        host: 'cache.internal',
        port: 6379,
        db: 0,
        tls: false,
        family: 6,
      },
    },
    {
      name: 'a ?username= query keeps its user',
      url: 'redis://cache.internal:6379/1?username=app&password=stale',
      expected: { username: 'app', host: 'cache.internal', port: 6379, db: 1, tls: false },
    },
  ])('$name', ({ url, expected }) => {
    // Prepare
    const password = 'Current:Pw@1/%';

    // Act
    const resolved = resolvedOptions(url, password);

    // Assess: the separate password, the URL's user and everything else it said.
    expect(resolved).toMatchObject({ ...expected, password });
    expect(resolved.url).not.toContain('old');
    expect(resolved.url).not.toContain('stale');
  });

  it('without a separate password the URL is used as written', () => {
    // Prepare
    const url = 'rediss://app:secret@cache.internal:6379/1';

    // Act
    const connection = redisConnection(url, undefined, SNAPSHOT_URL_ENV);
    const resolved = resolvedOptions(url, undefined);

    // Assess
    expect(connection).toEqual({ url, auth: {} });
    expect(resolved).toMatchObject({ username: 'app', password: 'secret', db: 1, tls: true });
  });

  it('a URL without a redis scheme (a unix socket path) is passed on with the password', () => {
    // Prepare
    const url = '/var/run/redis.sock';

    // Act
    const connection = redisConnection(url, 'pw', SNAPSHOT_URL_ENV);

    // Assess
    expect(connection).toEqual({ url, auth: { password: 'pw' } });
  });

  it("an empty password counts as unset: the URL's credentials are kept, not stripped", () => {
    // Prepare
    const url = 'redis://app:from-url@cache.internal:6379';

    // Act
    const connection = redisConnection(url, '', SNAPSHOT_URL_ENV);
    const resolved = resolvedOptions(url, '');

    // Assess: '' would otherwise strip them and ioredis would send no AUTH (NOAUTH).
    expect(connection).toEqual({ url, auth: {} });
    expect(resolved).toMatchObject({ username: 'app', password: 'from-url' });
  });

  it.each([
    ['a user name', 'redis://a%ZZ@cache.internal:6379'],
    ['a password', 'redis://app:p%ZZ@cache.internal:6379'],
  ])(
    'a malformed percent-escape in %s is a configuration error naming the setting, not a URIError',
    (_, url) => {
      // Act
      const failures = [undefined, 'Current:Pw'].map((password) =>
        thrownBy(() => redisConnection(url, password, SNAPSHOT_URL_ENV)),
      );

      // Assess: with or without a separate password (ioredis alone throws "URI malformed").
      for (const failure of failures) {
        expect(failure).toMatchObject({ name: 'WarmrouteError', code: 'WR_ERR_CONFIG' });
        expect((failure as Error).message).toContain(`${SNAPSHOT_URL_ENV}:`);
        expect((failure as Error).message).toContain('%25');
        expect((failure as Error).message).not.toContain('%ZZ');
      }
    },
  );

  it("the gateway's client names REDIS_URL for a malformed percent-escape", () => {
    // Act / Assess
    expect(() =>
      createCommandClient({
        target: { mode: 'standalone', url: 'redis://app:p%ZZ@cache.internal:6379' },
        password: undefined,
        connectionName: 'test',
        commandTimeoutMs: 100,
        maxReconnectDelayMs: 100,
      }),
    ).toThrow(new RegExp(`^Invalid configuration:\\n${GATEWAY_URL_ENV}: .*percent-encoding`));
  });
});

describe('RedisSnapshotStore refuses a WARMROUTE_SNAPSHOT_REDIS_URL ioredis would misread', () => {
  it.each([
    [
      'no scheme (ioredis reads user:old@ as credentials)',
      'user:old@cache.internal:6379',
      'must start with redis:// or rediss://',
    ],
    [
      'a scheme-relative URL',
      '//user:old@cache.internal:6379',
      'must start with redis:// or rediss://',
    ],
    ['another scheme', 'http://cache.internal:6379', 'must start with redis:// or rediss://'],
    ['a malformed percent-escape', 'redis://app:p%ZZ@cache.internal:6379', 'percent-encoding'],
  ])('%s, given as the url option or in the environment', (_, url, problem) => {
    // Prepare
    vi.stubEnv(SNAPSHOT_URL_ENV, url);
    onTestFinished(() => {
      vi.unstubAllEnvs();
    });

    // Act
    const failures = [
      () => new RedisSnapshotStore({ url, password: 'pw' }),
      () => new RedisSnapshotStore(),
    ].map(thrownBy);

    // Assess: refused when the store is made, naming the setting and never echoing the URL.
    for (const failure of failures) {
      expect(failure).toMatchObject({ name: 'WarmStateError', code: 'WR_ERR_WARM_STATE_OPTIONS' });
      expect((failure as Error).message).toContain(SNAPSHOT_URL_ENV);
      expect((failure as Error).message).toContain(problem);
      expect((failure as Error).message).not.toContain('old');
      expect((failure as Error).message).not.toContain('%ZZ');
    }
  });

  it('accepts redis:// and rediss:// URLs', () => {
    // Act / Assess: made without error (lazy: no connection is opened).
    for (const url of ['redis://cache.internal:6379', 'REDISS://app@cache.internal:6379/1']) {
      expect(() => new RedisSnapshotStore({ url }), url).not.toThrow();
    }
  });
});
