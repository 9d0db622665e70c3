import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAuthorizer } from './handler.js';

/**
 * The Lambda entry point of the example authorizer (deploy/sam/template.yaml,
 * TenantAuthorizerFunction). The HMAC secret is read from Secrets Manager at
 * run time (TOKEN_SECRET_ARN) and cached for SECRET_CACHE_TTL_MS (handler.ts), never put in the function's environment; the
 * role may read exactly that secret. The SDK comes with the Lambda Node.js
 * runtime and is left out of the bundle (BuildProperties External).
 */
const client = new SecretsManagerClient({});

async function loadSecret(): Promise<Buffer> {
  const secretId = process.env['TOKEN_SECRET_ARN'];
  if (secretId === undefined || secretId === '') throw new Error('TOKEN_SECRET_ARN is not set');
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  // Fail closed: createAuthorizer refuses a short or empty secret (every request a 500, none let
  // through) and does not cache it.
  return Buffer.from(SecretString ?? '', 'utf8');
}

export const handler = createAuthorizer({ loadSecret });
