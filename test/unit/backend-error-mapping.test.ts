import { describe, it, expect } from 'vitest';
import { mapLambdaError } from '../../src/backend/error-mapping.js';
import { LAMBDA_SYNC_PAYLOAD_BYTES } from '../../src/lambda-limits.js';
import { isLoopbackEndpoint } from '../../src/backend/lambda-backend.js';

function named(name: string, message = 'm'): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}
const ctx = { functionName: 'counter', payloadBytes: 7_000_000 };

describe('mapLambdaError', () => {
  it.each([
    ['ResourceNotFoundException', 'WR_ERR_FUNCTION_NOT_FOUND', 404],
    ['RequestTooLargeException', 'WR_ERR_PAYLOAD_TOO_LARGE', 413],
    ['InvalidRequestContentException', 'WR_ERR_BAD_REQUEST', 400],
    ['InvalidParameterValueException', 'WR_ERR_BACKEND', 502],
    ['ServiceException', 'WR_ERR_BACKEND', 502],
    ['SocketError', 'WR_ERR_BACKEND', 502],
  ])('%s → %s', (name, code, status) => {
    const err = mapLambdaError(named(name), ctx);
    expect(err.code).toBe(code);
    expect(err.statusCode).toBe(status);
    expect(err.details).toEqual({ upstream: name });
  });

  it('reports throttling as 429 with the Retry-After hint', () => {
    const err = mapLambdaError(named('TooManyRequestsException'), {
      ...ctx,
      throttled: true,
      retryAfterSeconds: 2,
    });
    expect(err.code).toBe('WR_ERR_THROTTLED');
    expect(err.retryAfterSeconds).toBe(2);
  });

  it('names the payload size and limit for 413', () => {
    expect(mapLambdaError(named('RequestTooLargeException'), ctx).message).toContain(
      String(LAMBDA_SYNC_PAYLOAD_BYTES),
    );
  });
});

describe('isLoopbackEndpoint', () => {
  it('accepts loopback hosts only', () => {
    expect(isLoopbackEndpoint('http://127.0.0.1:9001')).toBe(true);
    expect(isLoopbackEndpoint('http://localhost:9001')).toBe(true);
    expect(isLoopbackEndpoint('http://[::1]:9001')).toBe(true);
    expect(isLoopbackEndpoint('https://lambda.us-east-1.amazonaws.com')).toBe(false);
    expect(isLoopbackEndpoint(undefined)).toBe(false);
    expect(isLoopbackEndpoint('not a url')).toBe(false);
  });
});
