import { MIN_SECRET_BYTES, verifyToken } from './verify-token.js';

/**
 * How long an execution environment keeps the token secret before it reads
 * Secrets Manager again: a new secret value is in use everywhere at most this
 * long after it was put, with no deploy (CloudFormation would not notice a
 * changed value anyway). Five minutes, as the CDK tenant API's authorizer
 * (deploy/cdk/lib/tenant-authorizer): one GetSecretValue per warm environment
 * per five minutes costs next to nothing.
 */
export const SECRET_CACHE_TTL_MS = 5 * 60 * 1000;

/** API Gateway's event for a TOKEN authorizer (REST API). */
export interface TokenAuthorizerEvent {
  readonly type: 'TOKEN';
  readonly authorizationToken: string;
  /** `arn:aws:execute-api:<region>:<account>:<api id>/<stage>/<verb>/<path>` */
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
  /** Read by the integration as `context.authorizer.tenantId`. */
  readonly context: { readonly tenantId: string };
}

export interface AuthorizerDeps {
  /** The HMAC secret; called again once the cached value is secretTtlMs old. */
  readonly loadSecret: () => Promise<Buffer>;
  /** The clock, in milliseconds (default Date.now): token expiry and the cache's age. */
  readonly nowMs?: () => number;
  /** Default SECRET_CACHE_TTL_MS. */
  readonly secretTtlMs?: number;
}

/**
 * API Gateway turns a thrown `Error('Unauthorized')` into 401; anything
 * else it returns as 500. A bad token is therefore always this error.
 */
const UNAUTHORIZED = 'Unauthorized';

/**
 * The stage-wide resource of `methodArn` (`…:<api id>/<stage>/*`). The
 * template turns result caching off (authorizerResultTtlInSeconds: 0), so a
 * policy serves one request. Should a deployment turn caching on, API Gateway
 * applies the cached policy to every method the token calls, and a policy
 * naming only the first method would deny the others (and a cached answer
 * lets its token in up to the TTL after the token expires: see README).
 */
export function stageResource(methodArn: string): string {
  // `arn:aws:execute-api:<region>:<account>:<api id>` / `<stage>` / `<verb>` / `<path…>`
  const [api, stage] = methodArn.split('/');
  if (api === undefined || stage === undefined || stage === '' || !api.startsWith('arn:')) {
    throw new Error(UNAUTHORIZED);
  }
  return `${api}/${stage}/*`;
}

export function createAuthorizer(
  deps: AuthorizerDeps,
): (event: TokenAuthorizerEvent) => Promise<AuthorizerResult> {
  const now = deps.nowMs ?? Date.now;
  const ttl = deps.secretTtlMs ?? SECRET_CACHE_TTL_MS;
  let cached: { readonly fetchedAt: number; readonly secret: Promise<Buffer> } | undefined;

  /** One load; rejects if it fails or the secret is too short. */
  async function loadChecked(): Promise<Buffer> {
    const value = await deps.loadSecret();
    // Checked here, not only when a token is verified, so a too-short secret
    // (a botched rotation) rejects the load and is never cached: fixing the
    // secret ends the outage on the next request, not a TTL later.
    if (value.length < MIN_SECRET_BYTES)
      throw new Error(`the token secret must be at least ${MIN_SECRET_BYTES} bytes`);
    return value;
  }

  function secret(at: number): Promise<Buffer> {
    if (cached === undefined || at - cached.fetchedAt >= ttl) {
      const entry = { fetchedAt: at, secret: loadChecked() };
      cached = entry;
      // A failed load is not cached: the next invocation tries again.
      entry.secret.catch(() => {
        if (cached === entry) cached = undefined;
      });
    }
    return cached.secret;
  }

  return async (event) => {
    const at = now();
    const verdict = verifyToken(await secret(at), event.authorizationToken, Math.floor(at / 1000));
    if (!verdict.ok) throw new Error(UNAUTHORIZED);
    return {
      principalId: verdict.tenantId,
      policyDocument: {
        Version: '2012-10-17',
        Statement: [
          {
            Action: 'execute-api:Invoke',
            Effect: 'Allow',
            Resource: stageResource(event.methodArn),
          },
        ],
      },
      context: { tenantId: verdict.tenantId },
    };
  };
}
