import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { createAuthorizer } from './handler.js';
import { MIN_SECRET_BYTES } from './verify-token.js';

/**
 * The Lambda entry point of the example authorizer (deploy/sam/template.yaml,
 * TenantAuthorizerFunction). The HMAC secret is read from Secrets Manager at
 * run time (TOKEN_SECRET_ARN), never put in the function's environment; the
 * role may read exactly that secret. The SDK comes with the Lambda Node.js
 * runtime and is left out of the bundle (BuildProperties External).
 */
const client = new SecretsManagerClient({});

async function loadSecret(): Promise<Buffer> {
  const secretId = process.env['TOKEN_SECRET_ARN'];
  if (secretId === undefined || secretId === '') throw new Error('TOKEN_SECRET_ARN is not set');
  const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  const secret = Buffer.from(SecretString ?? '', 'utf8');
  // Fail closed: with a short or empty secret every request is refused (500), none let through.
  if (secret.length < MIN_SECRET_BYTES)
    throw new Error(`the token secret must be at least ${MIN_SECRET_BYTES} bytes`);
  return secret;
}

export const handler = createAuthorizer({ loadSecret });
