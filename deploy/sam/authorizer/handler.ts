import { verifyToken } from './verify-token.js';

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
  /** The HMAC secret; called once per execution environment and cached. */
  readonly loadSecret: () => Promise<Buffer>;
  readonly nowSeconds?: () => number;
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
  let secret: Promise<Buffer> | undefined;
  const now = deps.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  return async (event) => {
    // A failed load is not cached: the next invocation tries again.
    secret ??= deps.loadSecret().catch((err: unknown) => {
      secret = undefined;
      throw err;
    });
    const verdict = verifyToken(await secret, event.authorizationToken, now());
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
