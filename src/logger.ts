import { pino, type Logger } from 'pino';
import type { Config } from './config/schema.js';

/**
 * Paths pino censors in the gateway's logger: the admin bearer token, the
 * raw affinity key header and the secrets in the config. One list for
 * `warmroute start` and for an embedded gateway (`createGateway`).
 */
export const gatewayRedactPaths: readonly string[] = [
  'req.headers.authorization',
  'req.headers["x-affinity-key"]',
  'adminToken',
  'secret',
  'config.secret',
  'config.adminToken',
];

/** The gateway's default logger: pino at `level`, with the redaction list above. */
export function createGatewayLogger(level: Config['logLevel']): Logger {
  return pino({ level, redact: { paths: [...gatewayRedactPaths], censor: '[redacted]' } });
}
