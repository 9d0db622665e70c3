import { checkSecret, verifyTenantToken } from './tenant-token.js';

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

/**
 * How long one fetch of the secret may take before the request is refused
 * (a 500) and the fetch is dropped from the cache, so the next request tries
 * again. Without it a hung GetSecretValue would stay cached as a pending
 * promise and every request of the environment would wait on it until the
 * function's 3 s timeout. Two seconds leave the function time to answer.
 */
export const SECRET_FETCH_TIMEOUT_MS = 2_000;

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
  /**
   * The token secret (a SecretString); called again once the cached value
   * is secretTtlMs old. `signal` aborts when the fetch took longer than
   * fetchTimeoutMs (hand it to the SDK so the request is abandoned too).
   */
  readonly fetchSecret: (signal: AbortSignal) => Promise<string>;
  /** The clock, in milliseconds (default Date.now). */
  readonly nowMs?: () => number;
  /** Default SECRET_CACHE_TTL_MS. */
  readonly secretTtlMs?: number;
  /** Default SECRET_FETCH_TIMEOUT_MS. */
  readonly fetchTimeoutMs?: number;
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
 * `Unauthorized` (401). It fails closed: without a secret (fetch failed,
 * timed out, or the secret is too short) the request is refused with a 500,
 * never let through, and the failed fetch is not cached, so the next request
 * tries again (a botched rotation is over as soon as the secret is fixed,
 * not a cache TTL later).
 */
export function createTenantAuthorizer(
  deps: TenantAuthorizerDeps,
): (event: TokenAuthorizerEvent) => Promise<AuthorizerResult> {
  const now = deps.nowMs ?? Date.now;
  const ttl = deps.secretTtlMs ?? SECRET_CACHE_TTL_MS;
  const timeoutMs = deps.fetchTimeoutMs ?? SECRET_FETCH_TIMEOUT_MS;
  let cached: { readonly fetchedAt: number; readonly secret: Promise<string> } | undefined;

  /** One fetch: rejects if it fails, outlasts timeoutMs, or the secret is too short. */
  function fetchChecked(): Promise<string> {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`fetching the token secret took over ${String(timeoutMs)} ms`);
        abort.abort(error);
        reject(error);
      }, timeoutMs);
    });
    // The length is checked here, not only when a token is verified, so a
    // too-short secret rejects the fetch and is never cached.
    const fetched = deps.fetchSecret(abort.signal).then((value) => {
      checkSecret(value);
      return value;
    });
    return Promise.race([fetched, deadline]).finally(() => {
      clearTimeout(timer);
    });
  }

  function secret(at: number): Promise<string> {
    if (cached === undefined || at - cached.fetchedAt >= ttl) {
      const entry = { fetchedAt: at, secret: fetchChecked() };
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
