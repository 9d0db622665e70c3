/**
 * The one error catalogue. Every error warmroute reports to a client or a
 * caller has a stable code (`WR_ERR_*`), an HTTP status and a message
 * template. Callers branch on `code`, never on message text; the README's
 * error table is checked against this object by a unit test.
 */

export const errorCatalogue = {
  WR_ERR_KEY_MISSING: { status: 400, message: 'No affinity key in the request (%s)' },
  WR_ERR_KEY_INVALID: { status: 400, message: 'Invalid affinity key: %s' },
  WR_ERR_BAD_REQUEST: { status: 400, message: 'Bad request: %s' },
  WR_ERR_INVALID_JSON: { status: 400, message: 'Request body is not valid JSON: %s' },
  WR_ERR_BINDING_INVALID: { status: 400, message: 'Invalid binding: %s' },
  WR_ERR_UNAUTHORIZED: { status: 401, message: 'Missing or wrong admin bearer token' },
  WR_ERR_FUNCTION_NOT_FOUND: { status: 404, message: 'Unknown function: %s' },
  WR_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'No route for %s' },
  WR_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'Method %s is not allowed on %s' },
  WR_ERR_REQUEST_TIMEOUT: {
    status: 408,
    message: 'The request was not received in time (%s)',
  },
  WR_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'Payload of %s bytes exceeds the limit of %s bytes',
  },
  WR_ERR_URI_TOO_LONG: { status: 414, message: 'Request URL is too long: %s' },
  WR_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported media type: %s' },
  WR_ERR_KEY_BUSY: { status: 429, message: 'Key queue is full or the wait exceeded %s ms' },
  WR_ERR_CONCURRENCY_LIMIT: { status: 429, message: 'Concurrency limit reached: %s' },
  WR_ERR_THROTTLED: { status: 429, message: 'Lambda throttled the invocation: %s' },
  WR_ERR_TENANT_BUDGET: {
    status: 429,
    message: 'Tenant-environment budget of function %s (%s environments) is full: %s',
  },
  WR_ERR_HEADERS_TOO_LARGE: { status: 431, message: 'Request headers are too large' },
  WR_ERR_FUNCTION_ERROR: { status: 502, message: 'Function failed with %s: %s' },
  WR_ERR_BACKEND: { status: 502, message: 'Lambda backend error: %s' },
  WR_ERR_DEADLINE: { status: 504, message: 'Request deadline of %s ms exceeded' },
  WR_ERR_STORE_UNAVAILABLE: { status: 503, message: 'Directory store unavailable: %s' },
  WR_ERR_SHUTTING_DOWN: { status: 503, message: 'Gateway is shutting down' },
  WR_ERR_STATUS_PAGE_UNAVAILABLE: { status: 503, message: 'Status page is not available: %s' },
  WR_ERR_CONFIG: { status: 500, message: 'Invalid configuration:\n%s' },
  WR_ERR_INTERNAL: { status: 500, message: 'Internal error' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

function format(template: string, args: readonly (string | number)[]): string {
  let i = 0;
  return template.replace(/%s/g, () => String(args[i++] ?? ''));
}

export class WarmrouteError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  /** Seconds a client should wait before retrying (429/503). */
  readonly retryAfterSeconds: number | undefined;
  /** Extra machine-readable detail safe to show a client (e.g. upstream error type). */
  readonly details: Readonly<Record<string, unknown>> | undefined;

  constructor(
    code: ErrorCode,
    args: readonly (string | number)[] = [],
    options: {
      cause?: unknown;
      retryAfterSeconds?: number;
      details?: Record<string, unknown>;
    } = {},
  ) {
    const entry = errorCatalogue[code];
    super(format(entry.message, args), options.cause === undefined ? {} : { cause: options.cause });
    this.name = 'WarmrouteError';
    this.code = code;
    this.statusCode = entry.status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.details = options.details;
  }

  toJSON(): { error: { code: ErrorCode; message: string } & Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function isWarmrouteError(err: unknown): err is WarmrouteError {
  return err instanceof WarmrouteError;
}
