import { Redis, type RedisOptions } from 'ioredis';
import './commands.js';
import { directoryScripts } from './script-loader.js';

export interface RedisClientOptions {
  readonly url: string;
  /** Shown in CLIENT LIST, to tell warmroute's connections apart. */
  readonly connectionName?: string;
  /** Per-command deadline on the request path (ms). */
  readonly commandTimeoutMs?: number;
  /** Upper bound of the reconnect backoff (ms). */
  readonly maxReconnectDelayMs?: number;
}

const DEFAULT_COMMAND_TIMEOUT_MS = 250;
const DEFAULT_MAX_RECONNECT_DELAY_MS = 1_000;

function retryStrategy(maxDelayMs: number): (times: number) => number {
  // Keep retrying forever: the directory must resume by itself when Redis returns.
  return (times) => Math.min(50 * 2 ** Math.min(times, 10), maxDelayMs);
}

/**
 * A client for the request path: a dead or slow Redis fails fast
 * (`commandTimeout`, no offline queue, one retry) so callers can fall back to
 * derivation instead of queueing behind a reconnect. The directory's Lua
 * scripts are registered through the `scripts` option.
 */
export function createCommandClient(options: RedisClientOptions): Redis {
  const redisOptions: RedisOptions = {
    commandTimeout: options.commandTimeoutMs ?? DEFAULT_COMMAND_TIMEOUT_MS,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    retryStrategy: retryStrategy(options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS),
    scripts: directoryScripts(),
    lazyConnect: true,
  };
  if (options.connectionName !== undefined) redisOptions.connectionName = options.connectionName;
  return new Redis(options.url, redisOptions);
}

/**
 * A dedicated subscriber connection (a subscribed connection can run no other
 * commands). It keeps its offline queue so SUBSCRIBE waits for a connection,
 * and ioredis re-subscribes after every reconnect.
 */
export function createSubscriberClient(options: RedisClientOptions): Redis {
  const redisOptions: RedisOptions = {
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    autoResubscribe: true,
    retryStrategy: retryStrategy(options.maxReconnectDelayMs ?? DEFAULT_MAX_RECONNECT_DELAY_MS),
    lazyConnect: true,
  };
  if (options.connectionName !== undefined) redisOptions.connectionName = options.connectionName;
  return new Redis(options.url, redisOptions);
}
