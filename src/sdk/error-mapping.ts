import { WarmrouteError } from '../errors.js';
import { AffinityError, FunctionError, TransportError, isCatalogueCode } from './errors.js';
import { toInvocationState } from './transport.js';

/**
 * Turning whatever went wrong into the SDK's error classes: a gateway error
 * response (HTTP transport), a `WarmrouteError` thrown by the in-process
 * request path (embedded transport), or a socket failure. One module, so the
 * two transports cannot drift apart.
 */

type Headers = Readonly<Record<string, string | string[] | undefined>>;

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function stringField(record: Readonly<Record<string, unknown>>, name: string): string | undefined {
  const value = record[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * A gateway error response → typed error. The body is the gateway's
 * `{ error: { code, message, …details } }`; anything else (a proxy's HTML
 * page, an empty 502) is a `TransportError`: it did not come from warmroute.
 */
export function errorFromGatewayResponse(response: {
  readonly status: number;
  readonly body: string;
  readonly headers: Headers;
  readonly retryAfterSeconds: number | undefined;
}): AffinityError {
  const { status, retryAfterSeconds } = response;
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    parsed = undefined;
  }
  const error =
    typeof parsed === 'object' && parsed !== null
      ? (parsed as { error?: unknown }).error
      : undefined;
  if (typeof error !== 'object' || error === null) {
    return new TransportError(`Unexpected HTTP ${status} response from the gateway`, {
      status,
      retryAfterSeconds,
      // Only 429/503 are answered before invoking; anything else may come after the function ran.
      mayHaveRun: status !== 429 && status !== 503,
      causeCode: 'BAD_RESPONSE',
      details: { body: response.body.slice(0, 512) },
    });
  }
  const { code: rawCode, message: rawMessage, ...details } = error as Record<string, unknown>;
  const message = typeof rawMessage === 'string' ? rawMessage : `HTTP ${status}`;
  const code = typeof rawCode === 'string' && isCatalogueCode(rawCode) ? rawCode : undefined;
  if (code === undefined) {
    // A newer gateway's code this SDK does not know: keep it visible rather than guess a meaning.
    return new AffinityError(status >= 500 ? 'WR_ERR_BACKEND' : 'WR_ERR_BAD_REQUEST', message, {
      status,
      retryAfterSeconds,
      details: { ...details, gatewayCode: rawCode },
    });
  }
  if (code === 'WR_ERR_FUNCTION_ERROR') {
    const tenantId = header(response.headers, 'x-affinity-tenant');
    const stateHeader = header(response.headers, 'x-affinity-state');
    return new FunctionError(message, {
      status,
      details,
      errorType: stringField(details, 'errorType') ?? 'Unknown',
      errorMessage: stringField(details, 'errorMessage'),
      tenantId,
      state: stateHeader === undefined ? undefined : toInvocationState(stateHeader),
      envId: header(response.headers, 'x-affinity-env'),
    });
  }
  return new AffinityError(code, message, { status, retryAfterSeconds, details });
}

function readFunctionErrorObject(payload: Uint8Array): {
  errorType?: string;
  errorMessage?: string;
} {
  try {
    const parsed = JSON.parse(
      Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString('utf8'),
    ) as unknown;
    if (typeof parsed !== 'object' || parsed === null) return {};
    const record = parsed as Record<string, unknown>;
    const errorType = stringField(record, 'errorType');
    const errorMessage = stringField(record, 'errorMessage');
    return {
      ...(errorType === undefined ? {} : { errorType }),
      ...(errorMessage === undefined ? {} : { errorMessage }),
    };
  } catch {
    return {};
  }
}

/**
 * The embedded request path's function failure → `FunctionError`, with the
 * same message the gateway would have sent.
 */
export function functionErrorFromInvocation(
  functionName: string,
  outcome: {
    readonly payload: Uint8Array;
    readonly functionError: string;
    readonly errorType?: string | undefined;
    readonly tenantId: string;
    readonly state: string;
    readonly envId?: string | undefined;
  },
): FunctionError {
  const fromPayload = readFunctionErrorObject(outcome.payload);
  const errorType = outcome.errorType ?? fromPayload.errorType ?? outcome.functionError;
  const gatewayShaped = new WarmrouteError('WR_ERR_FUNCTION_ERROR', [errorType, functionName]);
  return new FunctionError(gatewayShaped.message, {
    status: gatewayShaped.statusCode,
    details: { errorType },
    errorType,
    errorMessage: fromPayload.errorMessage,
    tenantId: outcome.tenantId,
    state: toInvocationState(outcome.state),
    envId: outcome.envId,
  });
}

/** Anything thrown by the in-process request path → typed error. */
export function errorFromThrown(err: unknown): AffinityError {
  if (err instanceof AffinityError) return err;
  if (err instanceof WarmrouteError) {
    return new AffinityError(err.code, err.message, {
      status: err.statusCode,
      retryAfterSeconds: err.retryAfterSeconds,
      details: err.details,
      cause: err,
    });
  }
  // Anything else is a bug or an unexpected library failure: hidden behind
  // WR_ERR_INTERNAL like the gateway's 500, with the original as `cause`.
  return new AffinityError(
    'WR_ERR_INTERNAL',
    `Internal error: ${err instanceof Error ? err.message : String(err)}`,
    {
      cause: err,
    },
  );
}

/** A socket-level failure → `TransportError`; `notSent` when the failure proves nothing was sent. */
export function errorFromNetwork(err: unknown, notSent: boolean): TransportError {
  const causeCode = networkErrorCode(err);
  const what = err instanceof Error ? err.message : String(err);
  return new TransportError(
    `Could not reach the gateway: ${what}${causeCode === undefined ? '' : ` (${causeCode})`}`,
    {
      mayHaveRun: !notSent,
      causeCode,
      cause: err,
    },
  );
}

/** `err.code` of a Node/undici error (`ECONNREFUSED`, `UND_ERR_SOCKET`, …), looking through `AggregateError`. */
export function networkErrorCode(err: unknown): string | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  // Happy-eyeballs connects fail with an AggregateError of per-address errors.
  if (err instanceof AggregateError) {
    for (const inner of err.errors) {
      const innerCode = networkErrorCode(inner);
      if (innerCode !== undefined) return innerCode;
    }
  }
  const cause = (err as { cause?: unknown }).cause;
  return cause === undefined ? undefined : networkErrorCode(cause);
}
