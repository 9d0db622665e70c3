import { STATUS_CODES, type ServerResponse } from 'node:http';

/** Lambda's error types the local host answers with (names the SDK maps to its exception classes). */
export type LambdaErrorType =
  | 'InvalidParameterValueException'
  | 'InvalidRequestContentException'
  | 'ResourceNotFoundException'
  | 'RequestTooLargeException'
  | 'UnsupportedMediaTypeException'
  | 'TooManyRequestsException'
  | 'ServiceException'
  | 'ValidationException'
  /**
   * The local host's own: a request body that stalls (or headers that never
   * end). Lambda's front end does not document its answer; 408 tells any
   * HTTP client what happened, and the SDK surfaces the name.
   */
  | 'RequestTimeoutException'
  /** Headers over Node's limit (Lambda's front end answers these too; its exact type is not documented). */
  | 'RequestHeaderFieldsTooLargeException';

export type ThrottleReason =
  'ReservedFunctionConcurrentInvocationLimitExceeded' | 'ConcurrentInvocationLimitExceeded';

const statusOf: Record<LambdaErrorType, number> = {
  InvalidParameterValueException: 400,
  InvalidRequestContentException: 400,
  ValidationException: 400,
  ResourceNotFoundException: 404,
  RequestTimeoutException: 408,
  RequestTooLargeException: 413,
  UnsupportedMediaTypeException: 415,
  RequestHeaderFieldsTooLargeException: 431,
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
    if (res.headersSent || res.destroyed) return;
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

  /**
   * The same answer as raw HTTP/1.1 bytes, for a socket whose request Node
   * could not parse (`clientError`: there is no ServerResponse to use).
   */
  raw(): string {
    const text = JSON.stringify({ Type: 'User', message: this.message });
    return (
      `HTTP/1.1 ${this.status} ${STATUS_CODES[this.status] ?? 'Error'}\r\n` +
      'content-type: application/json\r\n' +
      `content-length: ${Buffer.byteLength(text)}\r\n` +
      `x-amzn-errortype: ${this.type}\r\n` +
      'connection: close\r\n\r\n' +
      text
    );
  }
}
