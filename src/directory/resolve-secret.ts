import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { WarmrouteError } from '../errors.js';

/** The config schema's bound for `WARMROUTE_SECRET` (src/config/schema.ts uses it). */
export const MIN_SECRET_LENGTH = 16;

export interface ResolveSecretOptions {
  /** WARMROUTE_SECRET as validated by the config loader (at least MIN_SECRET_LENGTH characters). */
  readonly secret: string | undefined;
  readonly production: boolean;
  readonly logger: Pick<Logger, 'warn'>;
}

/**
 * The HMAC secret behind every tenant ID. Production refuses to start without
 * one (tenant IDs would change on every restart and could be guessed; the
 * config loader already refuses that, this guards a config built by hand);
 * development generates one and says that affinity will not survive a
 * restart. Length is the schema's to check: a short secret never gets here.
 */
export function resolveSecret(options: ResolveSecretOptions): string {
  const secret = options.secret;
  if (secret !== undefined && secret !== '') return secret;
  if (options.production) {
    throw new WarmrouteError('WR_ERR_CONFIG', [
      'WARMROUTE_SECRET: required in production (tenant IDs are derived from it; use at least 32 random characters)',
    ]);
  }
  options.logger.warn(
    'WARMROUTE_SECRET is not set: using a random secret for this process; tenant IDs will change on restart',
  );
  return randomBytes(32).toString('base64url');
}
