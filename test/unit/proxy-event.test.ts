import { describe, it, expect } from 'vitest';
import {
  buildProxyEvent,
  formatRequestTime,
  serializeProxyEvent,
  type HttpRequestLike,
  type ProxyEventContext,
} from '../../src/http/proxy-event.js';
import { BinaryMediaTypes } from '../../src/http/binary-media-types.js';
import { compilePathTemplate } from '../../src/http/path-template.js';

const RECEIVED_AT = Date.UTC(2015, 3, 9, 12, 34, 56, 789);

function request(overrides: Partial<HttpRequestLike> = {}): HttpRequestLike {
  return {
    method: 'GET',
    url: '/',
    rawHeaders: ['Host', 'gw.example.com', 'User-Agent', 'curl/8.5.0'],
    body: undefined,
    sourceIp: '127.0.0.1',
    requestId: 'req-1',
    receivedAt: RECEIVED_AT,
    ...overrides,
  };
}

const CTX: ProxyEventContext = {
  stage: 'prod',
  resource: '/{proxy+}',
  pathParameters: null,
  binaryMediaTypes: BinaryMediaTypes.NONE,
};

describe('buildProxyEvent', () => {
  it('builds the full REST v1 event for a simple GET', () => {
    // Prepare
    const req = request({ url: '/hello/world?name=me' });

    // Act
    const event = buildProxyEvent(req, {
      ...CTX,
      pathParameters: { proxy: 'hello/world' },
    });

    // Assess
    expect(JSON.parse(serializeProxyEvent(event).toString('utf8'))).toEqual({
      resource: '/{proxy+}',
      path: '/hello/world',
      httpMethod: 'GET',
      headers: { Host: 'gw.example.com', 'User-Agent': 'curl/8.5.0' },
      multiValueHeaders: { Host: ['gw.example.com'], 'User-Agent': ['curl/8.5.0'] },
      queryStringParameters: { name: 'me' },
      multiValueQueryStringParameters: { name: ['me'] },
      pathParameters: { proxy: 'hello/world' },
      stageVariables: null,
      requestContext: {
        accountId: '123456789012',
        apiId: 'warmroute',
        resourceId: expect.stringMatching(/^[0-9a-z]{10}$/) as unknown,
        resourcePath: '/{proxy+}',
        httpMethod: 'GET',
        requestId: 'req-1',
        extendedRequestId: 'req-1',
        path: '/prod/hello/world',
        stage: 'prod',
        protocol: 'HTTP/1.1',
        requestTime: '09/Apr/2015:12:34:56 +0000',
        requestTimeEpoch: RECEIVED_AT,
        identity: {
          cognitoIdentityPoolId: null,
          accountId: null,
          cognitoIdentityId: null,
          caller: null,
          sourceIp: '127.0.0.1',
          principalOrgId: null,
          accessKey: null,
          cognitoAuthenticationType: null,
          cognitoAuthenticationProvider: null,
          userArn: null,
          userAgent: 'curl/8.5.0',
          user: null,
          apiKey: null,
          apiKeyId: null,
          clientCert: null,
        },
        domainName: 'gw.example.com',
        domainPrefix: 'gw',
      },
      body: null,
      isBase64Encoded: false,
    });
  });

  it('uses the context overrides for account, api, protocol and domain', () => {
    const event = buildProxyEvent(request(), {
      ...CTX,
      accountId: '111122223333',
      apiId: 'abc123defg',
      protocol: 'HTTP/2.0',
      domainName: 'api.example.org',
    });
    expect(event.requestContext).toMatchObject({
      accountId: '111122223333',
      apiId: 'abc123defg',
      protocol: 'HTTP/2.0',
      domainName: 'api.example.org',
      domainPrefix: 'api',
    });
  });

  it('falls back to localhost without a Host header, and null userAgent without User-Agent', () => {
    const event = buildProxyEvent(request({ rawHeaders: [] }), CTX);
    expect(event.requestContext.domainName).toBe('localhost');
    expect(event.requestContext.domainPrefix).toBe('localhost');
    expect(event.requestContext.identity.userAgent).toBeNull();
    expect(event.headers).toEqual({});
    expect(event.multiValueHeaders).toEqual({});
  });

  it('gives a stable resourceId per resource, different across resources', () => {
    const a1 = buildProxyEvent(request(), { ...CTX, resource: '/a/{id}' }).requestContext
      .resourceId;
    const a2 = buildProxyEvent(request(), { ...CTX, resource: '/a/{id}' }).requestContext
      .resourceId;
    const b = buildProxyEvent(request(), { ...CTX, resource: '/b/{id}' }).requestContext.resourceId;
    expect(a1).toBe(a2);
    expect(a1).not.toBe(b);
  });

  describe('headers', () => {
    it('last value wins in headers, all values in order in multiValueHeaders', () => {
      const event = buildProxyEvent(
        request({
          rawHeaders: ['Accept', 'text/html', 'X-Tag', 'one', 'X-Tag', 'two', 'X-Tag', 'three'],
        }),
        CTX,
      );
      expect(event.headers).toEqual({ Accept: 'text/html', 'X-Tag': 'three' });
      expect(event.multiValueHeaders).toEqual({
        Accept: ['text/html'],
        'X-Tag': ['one', 'two', 'three'],
      });
    });

    it('keeps the case the client sent; different spellings are different keys', () => {
      const event = buildProxyEvent(
        request({ rawHeaders: ['X-Mixed', 'a', 'x-mixed', 'b', 'content-TYPE', 'text/plain'] }),
        CTX,
      );
      expect(event.headers).toEqual({
        'X-Mixed': 'a',
        'x-mixed': 'b',
        'content-TYPE': 'text/plain',
      });
      expect(event.multiValueHeaders).toEqual({
        'X-Mixed': ['a'],
        'x-mixed': ['b'],
        'content-TYPE': ['text/plain'],
      });
    });

    it('takes userAgent and Host case-insensitively, last value', () => {
      const event = buildProxyEvent(
        request({
          rawHeaders: ['user-agent', 'first', 'USER-AGENT', 'second', 'hOsT', 'h.example'],
        }),
        CTX,
      );
      expect(event.requestContext.identity.userAgent).toBe('second');
      expect(event.requestContext.domainName).toBe('h.example');
    });

    it('keeps empty header values', () => {
      const event = buildProxyEvent(request({ rawHeaders: ['X-Empty', ''] }), CTX);
      expect(event.headers).toEqual({ 'X-Empty': '' });
      expect(event.multiValueHeaders).toEqual({ 'X-Empty': [''] });
    });

    it('treats a header named __proto__ as data', () => {
      const event = buildProxyEvent(request({ rawHeaders: ['__proto__', 'x'] }), CTX);
      const json = JSON.parse(serializeProxyEvent(event).toString('utf8')) as {
        headers: Record<string, unknown>;
        multiValueHeaders: Record<string, unknown>;
      };
      expect(Object.getOwnPropertyDescriptor(json.headers, '__proto__')?.value).toBe('x');
      expect(Object.getOwnPropertyDescriptor(json.multiValueHeaders, '__proto__')?.value).toEqual([
        'x',
      ]);
    });
  });

  describe('query string', () => {
    function query(url: string) {
      const event = buildProxyEvent(request({ url }), CTX);
      return {
        single: event.queryStringParameters,
        multi: event.multiValueQueryStringParameters,
      };
    }

    it('is null in both maps without a query string', () => {
      expect(query('/a')).toEqual({ single: null, multi: null });
      expect(query('/a?')).toEqual({ single: null, multi: null });
      expect(query('/a?&&')).toEqual({ single: null, multi: null });
    });

    it('last value wins in the single map, all values in order in the multi map', () => {
      expect(query('/a?x=1&y=2&x=3&x=4')).toEqual({
        single: { x: '4', y: '2' },
        multi: { x: ['1', '3', '4'], y: ['2'] },
      });
    });

    it('gives an empty string for a key without a value', () => {
      expect(query('/a?flag&x=&y=1')).toEqual({
        single: { flag: '', x: '', y: '1' },
        multi: { flag: [''], x: [''], y: ['1'] },
      });
    });

    it('decodes + as space and percent escapes, in keys and values', () => {
      expect(query('/a?sort=-+createdAt&q=a%20b%2Bc&caf%C3%A9=%E2%9C%93&k%3Dey=v%26al')).toEqual({
        single: { sort: '- createdAt', q: 'a b+c', café: '✓', 'k=ey': 'v&al' },
        multi: { sort: ['- createdAt'], q: ['a b+c'], café: ['✓'], 'k=ey': ['v&al'] },
      });
    });

    it('splits only on the first = of a pair', () => {
      expect(query('/a?token=abc==&expr=a=b').single).toEqual({ token: 'abc==', expr: 'a=b' });
    });

    it('keeps malformed escapes as sent', () => {
      expect(query('/a?p=100%&q=%zz').single).toEqual({ p: '100%', q: '%zz' });
    });

    it('skips empty pairs and empty keys', () => {
      expect(query('/a?&x=1&&=orphan&').single).toEqual({ x: '1' });
    });

    it('treats a parameter named __proto__ as data', () => {
      const { single, multi } = query('/a?__proto__=x&__proto__=y');
      expect(Object.getOwnPropertyDescriptor(single, '__proto__')?.value).toBe('y');
      expect(Object.getOwnPropertyDescriptor(multi, '__proto__')?.value).toEqual(['x', 'y']);
    });

    it('ignores a fragment', () => {
      expect(query('/a?x=1#frag').single).toEqual({ x: '1' });
    });
  });

  describe('path', () => {
    it('is the request path as received, percent-encoding kept (REST behaviour)', () => {
      const event = buildProxyEvent(request({ url: '/api/a%20b/c%2Fd?x=1' }), CTX);
      expect(event.path).toBe('/api/a%20b/c%2Fd');
      expect(event.requestContext.path).toBe('/prod/api/a%20b/c%2Fd');
    });

    it('is / for the root, with or without a query', () => {
      expect(buildProxyEvent(request({ url: '/' }), CTX).path).toBe('/');
      expect(buildProxyEvent(request({ url: '/?x=1' }), CTX).path).toBe('/');
      expect(buildProxyEvent(request({ url: '?x=1' }), CTX).path).toBe('/');
    });

    it('carries decoded path parameters from a compiled template', () => {
      const template = compilePathTemplate('/notebooks/{notebook}/{proxy+}');
      const pathParameters = template.match('/notebooks/my%20nb/files/a%2Fb');
      const event = buildProxyEvent(request({ url: '/api/notebooks/my%20nb/files/a%2Fb' }), {
        ...CTX,
        resource: template.resource,
        pathParameters: pathParameters ?? null,
      });
      expect(event.resource).toBe('/notebooks/{notebook}/{proxy+}');
      expect(event.requestContext.resourcePath).toBe('/notebooks/{notebook}/{proxy+}');
      expect(event.pathParameters).toEqual({ notebook: 'my nb', proxy: 'files/a/b' });
      expect(event.path).toBe('/api/notebooks/my%20nb/files/a%2Fb');
    });

    it('sends an empty pathParameters object as null', () => {
      const event = buildProxyEvent(request(), { ...CTX, pathParameters: {} });
      expect(event.pathParameters).toBeNull();
      const none = buildProxyEvent(request(), {
        ...CTX,
        pathParameters: compilePathTemplate('/').match('/') ?? null,
      });
      expect(none.pathParameters).toBeNull();
    });
  });

  describe('body', () => {
    function withBody(body: Buffer | undefined, contentType?: string, binary: string[] = []) {
      const rawHeaders = contentType === undefined ? [] : ['Content-Type', contentType];
      const event = buildProxyEvent(request({ method: 'POST', body, rawHeaders }), {
        ...CTX,
        binaryMediaTypes: new BinaryMediaTypes(binary),
      });
      return { body: event.body, isBase64Encoded: event.isBase64Encoded };
    }

    it('is null when absent or empty', () => {
      expect(withBody(undefined, 'application/json')).toEqual({
        body: null,
        isBase64Encoded: false,
      });
      expect(withBody(Buffer.alloc(0), 'application/octet-stream', ['*/*'])).toEqual({
        body: null,
        isBase64Encoded: false,
      });
    });

    it('is plain text for JSON', () => {
      const json = '{"greeting":"héllo ✓","n":1}';
      expect(withBody(Buffer.from(json), 'application/json; charset=utf-8')).toEqual({
        body: json,
        isBase64Encoded: false,
      });
    });

    it('is plain text for forms, text/*, XML and +json types', () => {
      for (const type of [
        'application/x-www-form-urlencoded',
        'text/plain',
        'TEXT/HTML; charset=UTF-8',
        'application/xml',
        'application/atom+xml',
        'application/vnd.api+json',
        'application/problem+json',
        'application/javascript',
        'application/graphql',
      ]) {
        expect(withBody(Buffer.from('a=1&b=two'), type), type).toEqual({
          body: 'a=1&b=two',
          isBase64Encoded: false,
        });
      }
    });

    it('is base64 when the bytes are not UTF-8, whatever the type: no byte is lost', () => {
      // API Gateway would pass these as a UTF-8 string and corrupt them (see proxy-event.ts).
      const bytes = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      for (const type of ['application/octet-stream', 'text/plain', undefined]) {
        const result = withBody(bytes, type);
        expect(result.isBase64Encoded, String(type)).toBe(true);
        expect(Buffer.from(result.body ?? '', 'base64').equals(bytes)).toBe(true);
      }
    });

    // Was base64 for every non-text type; API Gateway passes text unless the type is binary.
    it('is text for any type without binary media types, when the bytes are UTF-8', () => {
      expect(withBody(Buffer.from('GIF89a'), 'image/gif')).toEqual({
        body: 'GIF89a',
        isBase64Encoded: false,
      });
      expect(withBody(Buffer.from('hello'), 'application/octet-stream')).toEqual({
        body: 'hello',
        isBase64Encoded: false,
      });
    });

    it('is base64 when the Content-Type matches a binary media type, even for ASCII bytes', () => {
      expect(withBody(Buffer.from('GIF89a'), 'image/gif', ['image/*'])).toEqual({
        body: Buffer.from('GIF89a').toString('base64'),
        isBase64Encoded: true,
      });
      expect(withBody(Buffer.from('{"a":1}'), 'application/json', ['*/*'])).toEqual({
        body: Buffer.from('{"a":1}').toString('base64'),
        isBase64Encoded: true,
      });
      expect(withBody(Buffer.from('GIF89a'), 'image/gif', ['image/png'])).toEqual({
        body: 'GIF89a',
        isBase64Encoded: false,
      });
    });

    // Was base64; API Gateway reads a missing Content-Type as application/json.
    it('without a content type is text, or base64 when application/json is binary', () => {
      expect(withBody(Buffer.from('hello'))).toEqual({ body: 'hello', isBase64Encoded: false });
      expect(withBody(Buffer.from('hello'), undefined, ['application/json'])).toEqual({
        body: Buffer.from('hello').toString('base64'),
        isBase64Encoded: true,
      });
      expect(withBody(Buffer.from('hello'), undefined, ['image/*'])).toEqual({
        body: 'hello',
        isBase64Encoded: false,
      });
    });

    it('is base64 when a text type carries invalid UTF-8', () => {
      const bytes = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
      const result = withBody(bytes, 'application/json');
      expect(result.isBase64Encoded).toBe(true);
      expect(Buffer.from(result.body ?? '', 'base64').equals(bytes)).toBe(true);
    });

    it('uses the last Content-Type when it is repeated', () => {
      const ctx = { ...CTX, binaryMediaTypes: new BinaryMediaTypes(['application/octet-stream']) };
      const send = (rawHeaders: string[]) =>
        buildProxyEvent(request({ method: 'POST', body: Buffer.from('x'), rawHeaders }), ctx)
          .isBase64Encoded;
      expect(send(['Content-Type', 'text/plain', 'content-type', 'application/octet-stream'])).toBe(
        true,
      );
      expect(send(['Content-Type', 'application/octet-stream', 'content-type', 'text/plain'])).toBe(
        false,
      );
    });
  });
});

describe('formatRequestTime', () => {
  it('formats as API Gateway $context.requestTime (CLF, UTC)', () => {
    expect(formatRequestTime(Date.UTC(2015, 3, 9, 12, 34, 56))).toBe('09/Apr/2015:12:34:56 +0000');
    expect(formatRequestTime(Date.UTC(2018, 1, 20, 22, 48, 57, 665))).toBe(
      '20/Feb/2018:22:48:57 +0000',
    );
    expect(formatRequestTime(Date.UTC(2026, 11, 31, 0, 0, 0))).toBe('31/Dec/2026:00:00:00 +0000');
  });
});

describe('serializeProxyEvent', () => {
  it('produces UTF-8 JSON that parses back to the same event', () => {
    const event = buildProxyEvent(
      request({
        method: 'PUT',
        url: '/x?q=%E2%9C%93',
        body: Buffer.from('{"a":"✓"}'),
        rawHeaders: ['Content-Type', 'application/json'],
      }),
      CTX,
    );
    const bytes = serializeProxyEvent(event);
    expect(Buffer.isBuffer(bytes)).toBe(true);
    expect(JSON.parse(bytes.toString('utf8'))).toEqual(JSON.parse(JSON.stringify(event)));
    expect(bytes.toString('utf8')).toContain('"body":"{\\"a\\":\\"✓\\"}"');
  });
});
