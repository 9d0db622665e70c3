import { verifyTenantToken } from './tenant-token.js';

/**
 * The logic of the tenant API stack's TOKEN authorizer (tenant-api-stack.ts),
 * apart from where its secret comes from (index.ts fetches it from Secrets
 * Manager), so it can be run with an injected fetcher.
 */

/** The authorizer context field the stack maps into X-Amz-Tenant-Id. */
export const TENANT_CONTEXT_FIELD = 'tenantId';

/**
 * How long an execution environment keeps the fetched token secret: a
 * rotated secret is in use everywhere at most this long after it was put in
 * Secrets Manager, with no redeploy. Five minutes, like the default of AWS's
 * Parameters and Secrets Lambda extension: one GetSecretValue per warm
 * environment per five minutes costs next to nothing, and a shorter wait
 * after a rotation is not worth a Secrets Manager call per request.
 */
export const SECRET_CACHE_TTL_MS = 5 * 60 * 1000;

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

export interface TenantAuthorizerDeps {
  /** The token secret (a SecretString); called again once the cached value is secretTtlMs old. */
  readonly fetchSecret: () => Promise<string>;
  /** The clock, in milliseconds (default Date.now). */
  readonly nowMs?: () => number;
  /** Default SECRET_CACHE_TTL_MS. */
  readonly secretTtlMs?: number;
}

/** The shape of a token (tenant-token.ts); anything else is refused without fetching the secret. */
export const BEARER_PATTERN = '^Bearer v1\\.[A-Za-z0-9_-]+\\.[0-9]+\\.[A-Za-z0-9_-]+$';
const BEARER = new RegExp(BEARER_PATTERN);

/**
 * API Gateway answers 401 to exactly this error; any other rejection is a
 * 500 (the request is refused either way).
 */
const UNAUTHORIZED = 'Unauthorized';

/**
 * The authorizer: verifies `Authorization: Bearer <token>` (tenant-token.ts)
 * and puts the tenant it grants in the context as `tenantId`. A bad token is
 * `Unauthorized` (401). It fails closed: without a secret (fetch failed, or
 * too short) the request is refused with a 500, never let through, and the
 * failed fetch is not cached, so the next request tries again.
 */
export function createTenantAuthorizer(
  deps: TenantAuthorizerDeps,
): (event: TokenAuthorizerEvent) => Promise<AuthorizerResult> {
  const now = deps.nowMs ?? Date.now;
  const ttl = deps.secretTtlMs ?? SECRET_CACHE_TTL_MS;
  let cached: { readonly fetchedAt: number; readonly secret: Promise<string> } | undefined;

  function secret(at: number): Promise<string> {
    if (cached === undefined || at - cached.fetchedAt >= ttl) {
      const entry = { fetchedAt: at, secret: deps.fetchSecret() };
      cached = entry;
      entry.secret.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.secret;
  }

  return async (event) => {
    const at = now();
    const header = event.authorizationToken ?? '';
    const token = BEARER.test(header) ? header.slice('Bearer '.length) : undefined;
    // Malformed: refused before any Secrets Manager call, so junk costs no API call.
    const verdict =
      token === undefined
        ? { refused: 'malformed' as const }
        : verifyTenantToken(await secret(at), token, Math.floor(at / 1000));
    if (!('tenantId' in verdict)) {
      // The reason goes to the authorizer's log only; the client learns nothing from a 401.
      console.warn(JSON.stringify({ refused: verdict.refused }));
      throw new Error(UNAUTHORIZED);
    }
    return {
      principalId: `tenant:${verdict.tenantId}`,
      policyDocument: {
        Version: '2012-10-17',
        // Exactly this method: the stack turns result caching off, so a policy
        // is never reused for another method it does not name.
        Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }],
      },
      context: { [TENANT_CONTEXT_FIELD]: verdict.tenantId },
    };
  };
}
