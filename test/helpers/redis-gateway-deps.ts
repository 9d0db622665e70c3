import { Writable } from 'node:stream';
import { pino } from 'pino';
import { onTestFinished } from 'vitest';
import { loadConfig } from '../../src/config/load-config.js';
import { createDependencies } from '../../src/create-dependencies.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import { gatewayRedactPaths } from '../../src/logger.js';

/** Log lines written by a pino logger with the gateway's redaction list. */
export function capturedLogger(): { logger: pino.Logger; text: () => string } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino(
    { level: 'trace', redact: { paths: gatewayRedactPaths(), censor: '[redacted]' } },
    sink,
  );
  return { logger, text: () => chunks.join('') };
}

/**
 * The gateway's dependencies (the real createDependencies) for a config of
 * `env` naming a Redis directory, closed when the test ends, with what they
 * log captured. No Lambda is reached (the endpoint is a closed port); the
 * connect timeout is 1 s unless `env` sets it.
 */
export async function redisGatewayDeps(env: Record<string, string>) {
  const log = capturedLogger();
  const config = loadConfig({
    AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
    WARMROUTE_REDIS_CONNECT_TIMEOUT_MS: '1000',
    ...env,
  });
  const deps = await createDependencies(config, {
    logger: log.logger,
    endpoint: config.lambdaEndpoint,
    defaultMetrics: false,
  });
  onTestFinished(() => deps.close());
  const directory = deps.directory;
  if (!(directory instanceof KeyDirectory)) throw new Error('expected a KeyDirectory');
  const store = directory.store;
  if (!(store instanceof RedisDirectoryStore)) throw new Error('expected the Redis store');
  return { config, deps, store, log };
}
