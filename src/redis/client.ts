import { Redis, type RedisOptions } from 'ioredis';
import { WarmrouteError } from '../errors.js';
import { backoffWindowMs } from '../retry/backoff.js';
import './commands.js';
import { directoryScripts } from './script-loader.js';
import { userinfoDecodes } from './url.js';

/**
 * Every option is required: the values come resolved from the config (its
 * schema is the only place that knows a default), so a client never runs on a
 * default of its own that disagrees with the documented one.
 */
export interface RedisClientOptions {
  readonly url: string;
  /**
   * AUTH password (`WARMROUTE_REDIS_PASSWORD`), kept out of the URL so a
   * secret store can supply it; when set it wins over a password in `url`.
   * Undefined: the URL's, if any.
   */
  readonly password: string | undefined;
  /** Shown in CLIENT LIST, to tell warmroute's connections apart. */
  readonly connectionName: string;
  /** Per-command deadline on the request path (ms). Not used by the subscriber. */
  readonly commandTimeoutMs: number;
  /** Upper bound of the reconnect backoff (ms). */
  readonly maxReconnectDelayMs: number;
}

function retryStrategy(maxDelayMs: number): (times: number) => number {
  // Keep retrying forever: the directory must resume by itself when Redis returns.
  // `times` counts from 1: waits of 100 ms, 200 ms, … up to the cap.
  const backoff = { baseDelayMs: 100, maxDelayMs };
  return (times) => backoffWindowMs(backoff, times);
}

/** What to hand ioredis: the URL, and the credentials to pass as options. */
export interface RedisConnection {
  readonly url: string;
  readonly auth: Pick<RedisOptions, 'username' | 'password'>;
}

/** Query parameters ioredis would read as credentials (its URL parser copies every query item into the options). */
const CREDENTIAL_PARAMS = ['username', 'password'] as const;

/** The gateway's setting these clients connect with (src/config/schema.ts `settings`), named in errors. */
const GATEWAY_URL_SETTING = 'REDIS_URL';

/**
 * The URL, parsed, with its user name decoded; refuses a URL that is not a
 * URL or whose userinfo is not valid percent-encoding (ioredis itself would
 * throw a bare "URIError: URI malformed" naming nothing), naming `setting`
 * and never echoing the URL (it may hold a password).
 */
function parseRedisUrl(url: string, setting: string): { parsed: URL; username: string } {
  const refuse = (problem: string): never => {
    throw new WarmrouteError('WR_ERR_CONFIG', [`${setting}: ${problem}`]);
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('must be an absolute redis:// or rediss:// URL');
  }
  if (!userinfoDecodes(parsed)) {
    return refuse(
      'the user name or password in the URL is not valid percent-encoding (write a literal % as %25)',
    );
  }
  return { parsed, username: decodeURIComponent(parsed.username) };
}

/**
 * ioredis fills its options from the URL first and lets the options object
 * only fill what is still unset, so anything the URL says about credentials
 * wins over the options: a stale `:old@` password, `?password=`, and even a
 * bare user name (`redis://app@host` gives password "", which is not
 * undefined, so the option never fills it: AUTH app "" -> WRONGPASS).
 * With an explicit password the whole userinfo and any credential query
 * items leave the URL, and the user name (an ACL user) travels as an option
 * beside the password. Without one (undefined or '', which no Redis AUTH
 * token is) the URL is used as written. `setting` names where the URL came
 * from (REDIS_URL, WARMROUTE_SNAPSHOT_REDIS_URL) in the error a malformed
 * one gives.
 */
export function redisConnection(
  url: string,
  password: string | undefined,
  setting: string,
): RedisConnection {
  const separate = password === '' ? undefined : password;
  // Only a redis:// or rediss:// URL can carry credentials ioredis reads
  // (a unix socket path has none); anything else is passed on untouched.
  if (!/^rediss?:\/\//i.test(url)) {
    return { url, auth: separate === undefined ? {} : { password: separate } };
  }
  const { parsed, username: urlUser } = parseRedisUrl(url, setting);
  if (separate === undefined) return { url, auth: {} };
  const username = urlUser !== '' ? urlUser : (parsed.searchParams.get('username') ?? undefined);
  parsed.username = '';
  parsed.password = '';
  for (const name of CREDENTIAL_PARAMS) parsed.searchParams.delete(name);
  return {
    url: parsed.toString(),
    auth:
      username === undefined || username === ''
        ? { password: separate }
        : { username, password: separate },
  };
}

/**
 * A client for the request path: a dead or slow Redis fails fast
 * (`commandTimeout`, no offline queue, one retry) so callers can fall back to
 * derivation instead of queueing behind a reconnect. The directory's Lua
 * scripts are registered through the `scripts` option.
 */
export function createCommandClient(options: RedisClientOptions): Redis {
  const connection = redisConnection(options.url, options.password, GATEWAY_URL_SETTING);
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    ...connection.auth,
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: retryStrategy(options.maxReconnectDelayMs),
    scripts: directoryScripts(),
    lazyConnect: true,
  };
  return new Redis(connection.url, redisOptions);
}

/**
 * A dedicated subscriber connection (a subscribed connection can run no other
 * commands). It keeps its offline queue so SUBSCRIBE waits for a connection,
 * and ioredis re-subscribes after every reconnect.
 */
export function createSubscriberClient(
  options: Omit<RedisClientOptions, 'commandTimeoutMs'>,
): Redis {
  const connection = redisConnection(options.url, options.password, GATEWAY_URL_SETTING);
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    ...connection.auth,
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    autoResubscribe: true,
    retryStrategy: retryStrategy(options.maxReconnectDelayMs),
    lazyConnect: true,
  };
  return new Redis(connection.url, redisOptions);
}
