import type { ServerResponse } from 'node:http';

/** Lambda's error types the local host answers with (names the SDK maps to its exception classes). */
export type LambdaErrorType =
  | 'InvalidParameterValueException'
  | 'InvalidRequestContentException'
  | 'ResourceNotFoundException'
  | 'RequestTooLargeException'
  | 'UnsupportedMediaTypeException'
  | 'TooManyRequestsException'
  | 'ServiceException'
  | 'ValidationException';

export type ThrottleReason =
  'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded';

const statusOf: Record<LambdaErrorType, number> = {
  InvalidParameterValueException: 400,
  InvalidRequestContentException: 400,
  ValidationException: 400,
  ResourceNotFoundException: 404,
  RequestTooLargeException: 413,
  UnsupportedMediaTypeException: 415,
  TooManyRequestsException: 429,
  ServiceException: 500,
};

/**
 * An Invoke API error as Lambda sends it: status, `x-amzn-ErrorType` header
 * (the restJson1 deserializer of @aws-sdk/client-lambda reads the error name
 * from it first) and body `{ Type, message }`, plus `Reason` and
 * `Retry-After` for throttling.
 */
export class LambdaApiError extends Error {
  readonly status: number;

  constructor(
    readonly type: LambdaErrorType,
    message: string,
    readonly extra: { reason?: ThrottleReason; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.status = statusOf[type];
  }

  send(res: ServerResponse, requestId: string): void {
    const body: Record<string, unknown> = {
      Type: this.status >= 500 ? 'Service' : 'User',
      message: this.message,
    };
    if (this.extra.reason !== undefined) body.Reason = this.extra.reason;
    const text = JSON.stringify(body);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'x-amzn-errortype': this.type,
      'x-amzn-requestid': requestId,
    };
    if (this.extra.retryAfterSeconds !== undefined)
      headers['retry-after'] = String(this.extra.retryAfterSeconds);
    res.writeHead(this.status, headers);
    res.end(text);
  }
}
