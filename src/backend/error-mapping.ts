import { WarmrouteError, type ErrorCode } from '../errors.js';
import { LAMBDA_SYNC_PAYLOAD_BYTES } from '../lambda-limits.js';

/**
 * Lambda's exceptions (by `err.name`, the SDK's exception class names) → the
 * gateway's error codes. One table, so callers never match message text.
 *
 * | Lambda error (HTTP)                              | warmroute code             | why |
 * | ------------------------------------------------ | -------------------------- | --- |
 * | TooManyRequestsException (429), EC2Throttled (502) | WR_ERR_THROTTLED 429     | after bounded retries; Retry-After passed on |
 * | ServiceException (500), unknown 503              | WR_ERR_BACKEND 502         | after bounded retries |
 * | ResourceNotFoundException (404)                  | WR_ERR_FUNCTION_NOT_FOUND 404 | unknown function/qualifier |
 * | RequestTooLargeException (413)                   | WR_ERR_PAYLOAD_TOO_LARGE 413 | the client's payload is over 6 MB |
 * | InvalidRequestContentException (400)             | WR_ERR_BAD_REQUEST 400     | the client's payload is not what Lambda accepts |
 * | InvalidParameterValueException (400)             | WR_ERR_BACKEND 502         | tenant ID missing/unexpected: a gateway route misconfigured for the function's tenancy, not the client's fault |
 * | ResourceNotReadyException, ResourceConflictException, UnsupportedMediaTypeException, KMS*, EFS*, ENI*, Subnet*, Invalid*Exception (runtime/zip/security group), any other | WR_ERR_BACKEND 502 | an upstream failure the client cannot fix |
 * | socket error / timeout after sending             | WR_ERR_BACKEND 502         | never retried: the function may have run |
 * | our deadline passed / aborted by it              | WR_ERR_DEADLINE 504        | |
 *
 * Every WR_ERR_BACKEND/THROTTLED carries `{ upstream: err.name }` in details.
 */

interface MappingContext {
  readonly functionName: string;
  readonly payloadBytes: number;
}

type Mapping = (
  err: { name: string; message: string },
  ctx: MappingContext,
) => [ErrorCode, (string | number)[]];

const backend: Mapping = (err) => ['WR_ERR_BACKEND', [`${err.name}: ${err.message}`]];

export const lambdaErrorTable: Readonly<Record<string, Mapping>> = Object.freeze({
  ResourceNotFoundException: (_err, ctx) => ['WR_ERR_FUNCTION_NOT_FOUND', [ctx.functionName]],
  RequestTooLargeException: (_err, ctx) => [
    'WR_ERR_PAYLOAD_TOO_LARGE',
    [ctx.payloadBytes, LAMBDA_SYNC_PAYLOAD_BYTES],
  ],
  InvalidRequestContentException: (err) => ['WR_ERR_BAD_REQUEST', [err.message]],
  InvalidParameterValueException: backend,
});

export function errorName(err: unknown): string {
  if (err instanceof Error) return err.name;
  return 'UnknownError';
}

/** Map a final (not retried, or retries exhausted) upstream failure to a WarmrouteError. */
export function mapLambdaError(
  err: unknown,
  ctx: MappingContext & {
    readonly throttled?: boolean;
    readonly retryAfterSeconds?: number | undefined;
  },
): WarmrouteError {
  const name = errorName(err);
  const message = err instanceof Error ? err.message : String(err);
  const details = { upstream: name };
  if (ctx.throttled === true) {
    return new WarmrouteError('WR_ERR_THROTTLED', [`${name}: ${message}`], {
      cause: err,
      details,
      ...(ctx.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: ctx.retryAfterSeconds }),
    });
  }
  const mapping = Object.hasOwn(lambdaErrorTable, name) ? lambdaErrorTable[name] : undefined;
  const [code, args] = (mapping ?? backend)({ name, message }, ctx);
  return new WarmrouteError(code, args, { cause: err, details });
}
