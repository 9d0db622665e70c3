import { Redis, type RedisOptions } from 'ioredis';
import { backoffWindowMs } from '../retry/backoff.js';
import './commands.js';
import { directoryScripts } from './script-loader.js';

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

/**
 * ioredis fills its options from the URL first and lets the options object
 * only fill what is still unset, so a password in the URL would win over
 * the option. With an explicit password the URL's is removed (the user name,
 * if any, stays: ACL users AUTH with both).
 */
export function connectionUrl(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  const parsed = new URL(url);
  parsed.password = '';
  return parsed.toString();
}

function passwordOption(password: string | undefined): Pick<RedisOptions, 'password'> {
  return password === undefined ? {} : { password };
}

/**
 * A client for the request path: a dead or slow Redis fails fast
 * (`commandTimeout`, no offline queue, one retry) so callers can fall back to
 * derivation instead of queueing behind a reconnect. The directory's Lua
 * scripts are registered through the `scripts` option.
 */
export function createCommandClient(options: RedisClientOptions): Redis {
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    ...passwordOption(options.password),
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: retryStrategy(options.maxReconnectDelayMs),
    scripts: directoryScripts(),
    lazyConnect: true,
  };
  return new Redis(connectionUrl(options.url, options.password), redisOptions);
}

/**
 * A dedicated subscriber connection (a subscribed connection can run no other
 * commands). It keeps its offline queue so SUBSCRIBE waits for a connection,
 * and ioredis re-subscribes after every reconnect.
 */
export function createSubscriberClient(
  options: Omit<RedisClientOptions, 'commandTimeoutMs'>,
): Redis {
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    ...passwordOption(options.password),
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    autoResubscribe: true,
    retryStrategy: retryStrategy(options.maxReconnectDelayMs),
    lazyConnect: true,
  };
  return new Redis(connectionUrl(options.url, options.password), redisOptions);
}
