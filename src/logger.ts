import { pino, type Logger } from 'pino';
import type { Config } from './config/schema.js';
import { DEFAULT_KEY_HEADER } from './key-header.js';

/**
 * Paths pino censors in the gateway's logger: the admin bearer token, the
 * raw affinity key (keys may be session ids) in the header the gateway reads
 * it from, the secrets in the config, and the arguments of a failed Redis
 * command an error object carries. One list for `warmroute start`
 * and for an embedded gateway (`createGateway`).
 *
 * @param keyHeader the config's `keyHeader` (`WARMROUTE_KEY_HEADER`): a
 *   custom header must be censored, not the default one nobody sends.
 */
export function gatewayRedactPaths(keyHeader: string = DEFAULT_KEY_HEADER): string[] {
  return [
    'req.headers.authorization',
    // Node lower-cases incoming header names; the schema's pattern allows no quote.
    `req.headers[${JSON.stringify(keyHeader.toLowerCase())}]`,
    'adminToken',
    'secret',
    'redisPassword',
    'config.secret',
    'config.adminToken',
    'config.redisPassword',
    // ioredis errors carry the failed command: on a refused AUTH/HELLO its
    // arguments hold the password (["3","AUTH","default","<password>"]).
    'err.command.args',
    'err.args',
    'error.command.args',
    'error.args',
  ];
}

/**
 * The gateway's default logger: pino at `level`, with the redaction list
 * above for the key header `keyHeader` (pass the config's `keyHeader`).
 */
export function createGatewayLogger(
  level: Config['logLevel'],
  keyHeader: string = DEFAULT_KEY_HEADER,
): Logger {
  return pino({ level, redact: { paths: gatewayRedactPaths(keyHeader), censor: '[redacted]' } });
}
