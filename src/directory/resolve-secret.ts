import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { WarmrouteError } from '../errors.js';

export const MIN_SECRET_LENGTH = 16;

export interface ResolveSecretOptions {
  /** WARMROUTE_SECRET as read by the config loader. */
  readonly secret?: string | undefined;
  readonly production: boolean;
  readonly logger?: Pick<Logger, 'warn'> | undefined;
}

/**
 * The HMAC secret behind every tenant ID. Production refuses to start without
 * one (tenant IDs would change on every restart and could be guessed);
 * development generates one and says that affinity will not survive a restart.
 */
export function resolveSecret(options: ResolveSecretOptions): string {
  const secret = options.secret;
  if (secret === undefined || secret === '') {
    if (options.production) {
      throw new WarmrouteError('WR_ERR_CONFIG', [
        'WARMROUTE_SECRET: required in production (tenant IDs are derived from it; use at least 32 random characters)',
      ]);
    }
    options.logger?.warn(
      'WARMROUTE_SECRET is not set: using a random secret for this process; tenant IDs will change on restart',
    );
    return randomBytes(32).toString('base64url');
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    if (options.production) {
      throw new WarmrouteError('WR_ERR_CONFIG', [
        `WARMROUTE_SECRET: must be at least ${MIN_SECRET_LENGTH} characters (got ${secret.length})`,
      ]);
    }
    options.logger?.warn(
      `WARMROUTE_SECRET is shorter than ${MIN_SECRET_LENGTH} characters; fine for development only`,
    );
  }
  return secret;
}
