import { describe, expect, it } from 'vitest';
import { WarmrouteError } from '../../src/errors.js';
import { AffinityError, FunctionError, TransportError } from '../../src/sdk/errors.js';
import {
  errorFromGatewayResponse,
  errorFromNetwork,
  errorFromThrown,
  functionErrorFromInvocation,
  networkErrorCode,
} from '../../src/sdk/error-mapping.js';

const json = (value: unknown): string => JSON.stringify(value);

function as<T>(value: unknown, Class: abstract new (...args: never[]) => T): T {
  if (!(value instanceof Class)) throw new Error(`expected an instance of ${Class.name}`);
  return value;
}

describe('SDK error mapping', () => {
  it('maps a gateway 429 to an AffinityError with its code, status and Retry-After', () => {
    // Prepare
    const body = new WarmrouteError('WR_ERR_KEY_BUSY', [10_000], { retryAfterSeconds: 1 }).toJSON();
    // Act
    const err = errorFromGatewayResponse({
      status: 429,
      body: json(body),
      headers: {},
      retryAfterSeconds: 1,
    });
    // Assess
    expect(err).toBeInstanceOf(AffinityError);
    expect(err).not.toBeInstanceOf(FunctionError);
    expect(err).not.toBeInstanceOf(TransportError);
    expect(err.code).toBe('WR_ERR_KEY_BUSY');
    expect(err.status).toBe(429);
    expect(err.retryAfterSeconds).toBe(1);
    expect(err.message).toBe(body.error.message);
  });

  it("maps a gateway function error to a FunctionError with the function's error type and the affinity headers", () => {
    const body = new WarmrouteError('WR_ERR_FUNCTION_ERROR', ['TypeError', 'boom'], {
      details: { errorType: 'TypeError' },
    }).toJSON();
    const err = errorFromGatewayResponse({
      status: 502,
      body: json(body),
      headers: {
        'x-affinity-tenant': 'wr-abc',
        'x-affinity-state': 'hit',
        'x-affinity-env': 'env-1',
      },
      retryAfterSeconds: undefined,
    });
    const fnErr = as(err, FunctionError);
    expect(fnErr.code).toBe('WR_ERR_FUNCTION_ERROR');
    expect(fnErr.status).toBe(502);
    expect(fnErr.errorType).toBe('TypeError');
    expect(fnErr.tenantId).toBe('wr-abc');
    expect(fnErr.state).toBe('hit');
    expect(fnErr.envId).toBe('env-1');
  });

  it("treats a body that is not the gateway's as a transport error", () => {
    const err = errorFromGatewayResponse({
      status: 502,
      body: '<html>Bad Gateway</html>',
      headers: {},
      retryAfterSeconds: undefined,
    });
    expect(err).toBeInstanceOf(TransportError);
    expect(err.code).toBe('WR_ERR_TRANSPORT');
    expect(as(err, TransportError).mayHaveRun).toBe(true);
    const throttled = errorFromGatewayResponse({
      status: 429,
      body: '',
      headers: {},
      retryAfterSeconds: 2,
    });
    expect(as(throttled, TransportError).mayHaveRun).toBe(false);
    expect(throttled.retryAfterSeconds).toBe(2);
  });

  it('keeps an unknown gateway code visible', () => {
    const err = errorFromGatewayResponse({
      status: 503,
      body: json({ error: { code: 'WR_ERR_FUTURE', message: 'later' } }),
      headers: {},
      retryAfterSeconds: undefined,
    });
    expect(err.code).toBe('WR_ERR_BACKEND');
    expect(err.details['gatewayCode']).toBe('WR_ERR_FUTURE');
  });

  it("maps a WarmrouteError from the in-process path exactly like the gateway's response", () => {
    const original = new WarmrouteError('WR_ERR_THROTTLED', ['Rate exceeded'], {
      retryAfterSeconds: 3,
      details: { upstream: 'TooManyRequestsException' },
    });
    const viaHttp = errorFromGatewayResponse({
      status: original.statusCode,
      body: json(original.toJSON()),
      headers: {},
      retryAfterSeconds: 3,
    });
    const embedded = errorFromThrown(original);
    expect(embedded).toBeInstanceOf(AffinityError);
    expect({
      code: embedded.code,
      status: embedded.status,
      message: embedded.message,
      retry: embedded.retryAfterSeconds,
      details: embedded.details,
    }).toEqual({
      code: viaHttp.code,
      status: viaHttp.status,
      message: viaHttp.message,
      retry: viaHttp.retryAfterSeconds,
      details: viaHttp.details,
    });
    expect(embedded.cause).toBe(original);
  });

  it("builds the embedded FunctionError with the same message as the gateway, plus the function's message", () => {
    const payload = Buffer.from(
      json({ errorType: 'RangeError', errorMessage: 'too big', trace: [] }),
    );
    const err = functionErrorFromInvocation('thrower', {
      payload,
      functionError: 'Unhandled',
      errorType: 'RangeError',
      tenantId: 't',
      state: 'fresh',
      envId: 'e',
    });
    const gateway = new WarmrouteError('WR_ERR_FUNCTION_ERROR', ['RangeError', 'thrower']);
    expect(err.message).toBe(gateway.message);
    expect(err.errorType).toBe('RangeError');
    expect(err.errorMessage).toBe('too big');
    expect(err.status).toBe(502);
    expect(err.state).toBe('fresh');
    // Without an errorType from the invoker, the payload's is used, then Lambda's FunctionError.
    expect(
      functionErrorFromInvocation('f', {
        payload,
        functionError: 'Unhandled',
        tenantId: 't',
        state: 'hit',
      }).errorType,
    ).toBe('RangeError');
    expect(
      functionErrorFromInvocation('f', {
        payload: Buffer.from('oops'),
        functionError: 'Unhandled',
        tenantId: 't',
        state: 'hit',
      }).errorType,
    ).toBe('Unhandled');
  });

  it('hides unexpected errors behind WR_ERR_INTERNAL and passes AffinityErrors through', () => {
    const bug = new TypeError('x is undefined');
    const err = errorFromThrown(bug);
    expect(err.code).toBe('WR_ERR_INTERNAL');
    expect(err.status).toBe(500);
    expect(err.cause).toBe(bug);
    const own = new AffinityError('WR_ERR_ABORTED', 'aborted');
    expect(errorFromThrown(own)).toBe(own);
    expect(own.status).toBeUndefined();
  });

  it('reads socket error codes, also inside AggregateError and cause chains', () => {
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    expect(networkErrorCode(refused)).toBe('ECONNREFUSED');
    expect(networkErrorCode(new AggregateError([new Error('a'), refused]))).toBe('ECONNREFUSED');
    expect(networkErrorCode(new Error('wrapped', { cause: refused }))).toBe('ECONNREFUSED');
    expect(networkErrorCode('nope')).toBeUndefined();
    const err = errorFromNetwork(refused, true);
    expect(err).toBeInstanceOf(TransportError);
    expect(err.mayHaveRun).toBe(false);
    expect(err.causeCode).toBe('ECONNREFUSED');
    expect(errorFromNetwork(new Error('socket hang up'), false).mayHaveRun).toBe(true);
  });
});
