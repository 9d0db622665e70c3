import { verifyTenantToken } from './tenant-token.js';

/**
 * API Gateway TOKEN authorizer of the tenant API stack (tenant-api-stack.ts):
 * verifies the `Authorization: Bearer <token>` (tenant-token.ts) and puts the
 * tenant it grants in the authorizer context as `tenantId`, which the stack
 * maps into `X-Amz-Tenant-Id` on the Lambda invoke. Any refusal is the
 * `Unauthorized` error, which API Gateway answers with 401.
 */

/** The variable the stack sets (a Secrets Manager dynamic reference). */
export const TOKEN_SECRET_ENV = 'WARMROUTE_TENANT_TOKEN_SECRET';
/** The authorizer context field the stack maps into X-Amz-Tenant-Id. */
export const TENANT_CONTEXT_FIELD = 'tenantId';

export interface TokenAuthorizerEvent {
  readonly type: 'TOKEN';
  readonly authorizationToken?: string;
  readonly methodArn: string;
}

export interface AuthorizerResult {
  readonly principalId: string;
  readonly policyDocument: {
    readonly Version: '2012-10-17';
    readonly Statement: readonly [
      {
        readonly Action: 'execute-api:Invoke';
        readonly Effect: 'Allow';
        readonly Resource: string;
      },
    ];
  };
  readonly context: { readonly [TENANT_CONTEXT_FIELD]: string };
}

const BEARER = /^Bearer ([A-Za-z0-9._~-]+)$/;

export const handler = (event: TokenAuthorizerEvent): Promise<AuthorizerResult> => {
  const secret = process.env[TOKEN_SECRET_ENV] ?? '';
  const token = BEARER.exec(event.authorizationToken ?? '')?.[1];
  const verdict =
    token === undefined
      ? { refused: 'malformed' as const }
      : verifyTenantToken(secret, token, Math.floor(Date.now() / 1000));
  if (!('tenantId' in verdict)) {
    // The reason goes to the authorizer's log only; the client learns nothing from a 401.
    console.warn(JSON.stringify({ refused: verdict.refused }));
    return Promise.reject(new Error('Unauthorized'));
  }
  return Promise.resolve({
    principalId: `tenant:${verdict.tenantId}`,
    policyDocument: {
      Version: '2012-10-17',
      // Exactly this method: the stack turns result caching off, so a policy
      // is never reused for another method it does not name.
      Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
    },
    context: { [TENANT_CONTEXT_FIELD]: verdict.tenantId },
  });
};
