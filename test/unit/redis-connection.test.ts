import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { redisConnection } from '../../src/redis/client.js';

/**
 * `redisConnection` decides what ioredis is given when a password comes
 * apart from the URL (`WARMROUTE_REDIS_PASSWORD`,
 * `WARMROUTE_SNAPSHOT_REDIS_PASSWORD`). ioredis lets anything the URL says
 * win over the options, so these tests read the options ioredis actually
 * ends up with (a lazy client opens no connection): the separate password
 * must be the one sent, the ACL user name must survive, and nothing else the
 * URL says (TLS, host, IPv6, port, db, query) may be lost.
 */
function resolvedOptions(url: string, password: string | undefined) {
  const connection = redisConnection(url, password);
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
    const connection = redisConnection(url, undefined);
    const resolved = resolvedOptions(url, undefined);

    // Assess
    expect(connection).toEqual({ url, auth: {} });
    expect(resolved).toMatchObject({ username: 'app', password: 'secret', db: 1, tls: true });
  });

  it('a URL without a redis scheme (a unix socket path) is passed on with the password', () => {
    // Prepare
    const url = '/var/run/redis.sock';

    // Act
    const connection = redisConnection(url, 'pw');

    // Assess
    expect(connection).toEqual({ url, auth: { password: 'pw' } });
  });
});
