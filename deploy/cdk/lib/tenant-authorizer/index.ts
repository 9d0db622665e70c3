import { createRequire } from 'node:module';
import { createTenantAuthorizer } from './authorizer.js';

/**
 * Lambda entry of the tenant API stack's TOKEN authorizer (tenant-api-stack.ts,
 * logic in authorizer.ts). The HMAC secret is fetched from Secrets Manager at
 * run time and cached per execution environment for SECRET_CACHE_TTL_MS; the
 * function's configuration holds only the secret's ARN, and its role may read
 * that one secret. (A value in the configuration would be readable by anyone
 * with lambda:GetFunctionConfiguration, e.g. ReadOnlyAccess, who could then
 * mint tokens for any tenant.)
 */

/** The variable the stack sets: the token secret's ARN (not its value). */
export const TOKEN_SECRET_ENV = 'TOKEN_SECRET_ARN';

const SDK_PACKAGE = '@aws-sdk/client-secrets-manager';

/** The part of the AWS SDK v3 Secrets Manager client this file uses (the SDK's own names). */
interface SecretsManagerSdk {
  readonly SecretsManagerClient: new (config: { readonly maxAttempts: number }) => {
    send(
      command: unknown,
      options: { readonly abortSignal: AbortSignal },
    ): Promise<{ readonly SecretString?: string }>;
  };
  readonly GetSecretValueCommand: new (input: { readonly SecretId: string }) => unknown;
}

/**
 * The SDK the Lambda Node.js runtime ships (found through its NODE_PATH,
 * /var/runtime/node_modules), loaded with a CommonJS require on first use:
 * this repository does not install the SDK, and a specifier esbuild cannot
 * read stays out of the bundle. An ESM import would not search NODE_PATH.
 */
function loadSdk(): SecretsManagerSdk {
  return createRequire(import.meta.url)(SDK_PACKAGE) as SecretsManagerSdk;
}

let client: InstanceType<SecretsManagerSdk['SecretsManagerClient']> | undefined;

/**
 * Attempts per GetSecretValue (the first and one retry). The SDK's default
 * of 3, with its backoff, would not fit in the authorizer's fetch deadline
 * (SECRET_FETCH_TIMEOUT_MS); a request that is still failing then gets its
 * 500 and the next request tries again.
 */
export const SECRETS_MANAGER_MAX_ATTEMPTS = 2;

async function fetchSecret(signal: AbortSignal): Promise<string> {
  const secretId = process.env[TOKEN_SECRET_ENV];
  if (secretId === undefined || secretId === '') throw new Error(`${TOKEN_SECRET_ENV} is not set`);
  const sdk = loadSdk();
  client ??= new sdk.SecretsManagerClient({ maxAttempts: SECRETS_MANAGER_MAX_ATTEMPTS });
  // The authorizer aborts `signal` at its fetch deadline: the SDK then drops
  // the request, retries included. (The HTTP handler's requestTimeout is not
  // used: recent versions of it only log a warning unless
  // throwOnRequestTimeout is also set, which older runtimes' SDKs lack.)
  const { SecretString } = await client.send(
    new sdk.GetSecretValueCommand({ SecretId: secretId }),
    { abortSignal: signal },
  );
  if (typeof SecretString !== 'string') throw new Error('the token secret has no SecretString');
  return SecretString;
}

export const handler = createTenantAuthorizer({ fetchSecret });
