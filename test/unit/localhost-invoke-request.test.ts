import { describe, expect, it } from 'vitest';
import {
  checkPayload,
  checkTenantId,
  acceptTraceId,
  decodeClientContext,
  decodeFunctionSegment,
  MISSING_TENANT_MESSAGE,
  parseFunctionRef,
  parseInvocationType,
  parseLogType,
} from '../../src/localhost/invoke-request.js';
import { isHeaderSafe } from '../../src/localhost/header-value.js';
import { LambdaApiError } from '../../src/localhost/lambda-api-error.js';

function errorOf(f: () => unknown): LambdaApiError {
  try {
    f();
  } catch (err) {
    if (err instanceof LambdaApiError) return err;
    throw err;
  }
  throw new Error('expected a LambdaApiError');
}

describe('Invoke request checks', () => {
  it.each([
    ['counter', undefined, { name: 'counter', qualifier: undefined }],
    ['counter:$LATEST', undefined, { name: 'counter', qualifier: '$LATEST' }],
    ['counter', '$LATEST', { name: 'counter', qualifier: '$LATEST' }],
    [
      'arn:aws:lambda:us-east-1:123456789012:function:counter',
      undefined,
      { name: 'counter', qualifier: undefined },
    ],
    [
      'arn:aws:lambda:us-east-1:123456789012:function:counter:prod',
      undefined,
      { name: 'counter', qualifier: 'prod' },
    ],
    ['123456789012:function:counter', undefined, { name: 'counter', qualifier: undefined }],
  ])('parses the function name %s (Qualifier %s)', (segment, qualifier, expected) => {
    expect(parseFunctionRef(segment, qualifier)).toEqual(expected);
  });

  it('rejects malformed names and conflicting qualifiers', () => {
    expect(errorOf(() => parseFunctionRef('bad name', undefined)).type).toBe('ValidationException');
    expect(errorOf(() => parseFunctionRef('a:b:c:d:e', undefined)).type).toBe(
      'ValidationException',
    );
    expect(errorOf(() => parseFunctionRef('counter:1', '2')).type).toBe(
      'InvalidParameterValueException',
    );
  });

  it('validates tenant IDs as Lambda does: 1-256 of [a-zA-Z0-9._:/=+-@ ]', () => {
    expect(checkTenantId('Blue Tenant/x=y+z@a.b:c_d-e', true)).toBe('Blue Tenant/x=y+z@a.b:c_d-e');
    expect(checkTenantId('x'.repeat(256), true)).toHaveLength(256);
    expect(checkTenantId(undefined, false)).toBeUndefined();
    for (const bad of ['', 'x'.repeat(257), 'tab\there', 'ünïcode', 'semi;colon']) {
      const err = errorOf(() => checkTenantId(bad, true));
      expect(err.type).toBe('ValidationException');
      expect(err.status).toBe(400);
    }
  });

  it('requires a tenant for PER_TENANT functions and refuses one otherwise', () => {
    const missing = errorOf(() => checkTenantId(undefined, true));
    const unexpected = errorOf(() => checkTenantId('blue', false));

    expect(missing.type).toBe('InvalidParameterValueException');
    expect(missing.message).toBe(MISSING_TENANT_MESSAGE);
    expect(unexpected.type).toBe('InvalidParameterValueException');
  });

  it('knows the invocation and log types', () => {
    expect(parseInvocationType(undefined)).toBe('RequestResponse');
    expect(parseInvocationType('Event')).toBe('Event');
    expect(parseInvocationType('DryRun')).toBe('DryRun');
    expect(errorOf(() => parseInvocationType('Later')).type).toBe('ValidationException');
    expect(parseLogType('Tail')).toBe(true);
    expect(parseLogType('None')).toBe(false);
    expect(parseLogType(undefined)).toBe(false);
    expect(errorOf(() => parseLogType('All')).type).toBe('ValidationException');
  });

  it('decodes the client context and rejects what Lambda would', () => {
    const ctx = { custom: { k: 1 } };
    expect(decodeClientContext(Buffer.from(JSON.stringify(ctx)).toString('base64'))).toBe(
      JSON.stringify(ctx),
    );
    expect(decodeClientContext(undefined)).toBeUndefined();
    expect(errorOf(() => decodeClientContext(Buffer.from('[1]').toString('base64'))).type).toBe(
      'InvalidParameterValueException',
    );
    expect(errorOf(() => decodeClientContext('A'.repeat(3584))).type).toBe(
      'InvalidParameterValueException',
    );
  });

  it('turns an empty payload into {} and refuses non-JSON', () => {
    expect(checkPayload(Buffer.alloc(0)).toString()).toBe('{}');
    expect(checkPayload(Buffer.from('"text"')).toString()).toBe('"text"');
    expect(errorOf(() => checkPayload(Buffer.from('{nope'))).type).toBe(
      'InvalidRequestContentException',
    );
  });

  it('hands the client context on as ASCII-only JSON that parses to the same object', () => {
    const ctx = {
      custom: {
        euro: '€',
        han: '\u4e2d',
        emoji: '\ud83d\ude00',
        lone: '\ud800',
        ctl: '\u0000\r\n\u007f',
      },
    };

    const text = decodeClientContext(Buffer.from(JSON.stringify(ctx), 'utf8').toString('base64'));

    expect(text).toMatch(/^[\x20-\x7e]*$/);
    expect(JSON.parse(text ?? '')).toEqual(ctx);
    expect(isHeaderSafe(text ?? '\n')).toBe(true);
  });

  it('refuses a client context that is not strict base64 or not valid UTF-8', () => {
    expect(errorOf(() => decodeClientContext('e30=!')).type).toBe('InvalidParameterValueException');
    expect(errorOf(() => decodeClientContext('e30')).type).toBe('InvalidParameterValueException');
    const badUtf8 = Buffer.from([0x7b, 0x22, 0xc3, 0x22, 0x3a, 0x31, 0x7d]).toString('base64');
    expect(errorOf(() => decodeClientContext(badUtf8)).type).toBe('InvalidParameterValueException');
  });

  it('refuses a malformed percent-encoding or Qualifier as a ValidationException', () => {
    expect(decodeFunctionSegment('counter%3A%24LATEST')).toBe('counter:$LATEST');
    expect(errorOf(() => decodeFunctionSegment('ech%E0%A4%A')).type).toBe('ValidationException');
    expect(errorOf(() => parseFunctionRef('counter', '€')).type).toBe('ValidationException');
    expect(errorOf(() => parseFunctionRef('counter:a b', undefined)).type).toBe(
      'ValidationException',
    );
    expect(errorOf(() => parseInvocationType('x'.repeat(100_000))).message.length).toBeLessThan(
      1000,
    );
  });

  it('keeps a usable X-Amzn-Trace-Id and drops any other', () => {
    expect(acceptTraceId('Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1')).toBe(
      'Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1',
    );
    expect(acceptTraceId('Root=\u00e9')).toBeUndefined();
    expect(acceptTraceId('')).toBeUndefined();
    expect(acceptTraceId(undefined)).toBeUndefined();
  });
});
