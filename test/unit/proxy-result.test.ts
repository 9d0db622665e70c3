import { describe, it, expect } from 'vitest';
import { BinaryMediaTypes } from '../../src/http/binary-media-types.js';
import { parseProxyResult, type ProxyResultContext } from '../../src/http/proxy-result.js';
import { WarmrouteError } from '../../src/errors.js';

/** A route without binary media types (API Gateway's default), request without Accept. */
const TEXT_ROUTE: ProxyResultContext = {
  accept: undefined,
  binaryMediaTypes: BinaryMediaTypes.NONE,
};
/** A route whose binary media types match every request (the match-all pattern). */
const BINARY_ROUTE: ProxyResultContext = {
  accept: undefined,
  binaryMediaTypes: new BinaryMediaTypes(['*/*']),
};
/** What API Gateway adds when a result names no Content-Type. */
const DEFAULT_TYPE = { 'content-type': 'application/json' };

function bytes(value: unknown): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(value));
}

function parse(value: unknown, context: ProxyResultContext = TEXT_ROUTE) {
  return parseProxyResult(bytes(value), context);
}

/** Parsed for a route where base64 bodies are decoded. */
function parseBinary(value: unknown) {
  return parse(value, BINARY_ROUTE);
}

function rejection(payload: Uint8Array): WarmrouteError {
  try {
    parseProxyResult(payload, BINARY_ROUTE);
  } catch (err) {
    if (err instanceof WarmrouteError) return err;
    throw err;
  }
  throw new Error('expected parseProxyResult to throw');
}

function rejectionOf(value: unknown): WarmrouteError {
  return rejection(bytes(value));
}

describe('parseProxyResult', () => {
  it('maps a typical JSON result', () => {
    const result = parse({
      statusCode: 201,
      headers: { 'Content-Type': 'application/json', 'X-Request': 'abc' },
      body: '{"ok":true}',
      isBase64Encoded: false,
    });
    expect(result.statusCode).toBe(201);
    expect(result.headers).toEqual({ 'content-type': 'application/json', 'x-request': 'abc' });
    expect(result.body.toString('utf8')).toBe('{"ok":true}');
  });

  it('encodes a text body as UTF-8', () => {
    const result = parse({ statusCode: 200, body: 'héllo ✓' });
    expect(result.body.equals(Buffer.from('héllo ✓', 'utf8'))).toBe(true);
  });

  it('accepts any Uint8Array view, not only a Buffer at offset 0', () => {
    const inner = bytes({ statusCode: 204 });
    const outer = new Uint8Array(inner.length + 8);
    outer.set(inner, 4);
    expect(parseProxyResult(outer.subarray(4, 4 + inner.length), TEXT_ROUTE).statusCode).toBe(204);
  });

  describe('statusCode', () => {
    it('defaults to 200 when absent or null (REST; HTTP APIs require it)', () => {
      expect(parse({ body: 'x' }).statusCode).toBe(200);
      expect(parse({ statusCode: null, body: 'x' }).statusCode).toBe(200);
    });

    it('accepts an integer string', () => {
      expect(parse({ statusCode: '404' }).statusCode).toBe(404);
    });

    it('rejects non-integers and codes outside 200–599 (an interim 1xx is not a result)', () => {
      for (const statusCode of [
        200.5,
        99,
        100,
        101,
        199,
        '103',
        600,
        0,
        -1,
        'OK',
        '',
        true,
        [200],
        { code: 200 },
      ]) {
        const err = rejectionOf({ statusCode });
        expect(err.message, JSON.stringify(statusCode)).toMatch(/statusCode must be an integer/);
      }
    });
  });

  describe('body', () => {
    it('is dropped for 204 and 304, which have no body (a client would read it as the next response)', () => {
      expect(parse({ statusCode: 204, body: 'x' }).body.length).toBe(0);
      expect(
        parseBinary({ statusCode: 304, body: 'eA==', isBase64Encoded: true }).body.length,
      ).toBe(0);
      expect(parse({ statusCode: 200, body: 'x' }).body.toString()).toBe('x');
    });

    it('is empty when absent, null or empty', () => {
      expect(parse({ statusCode: 204 }).body.length).toBe(0);
      expect(parse({ statusCode: 200, body: null }).body.length).toBe(0);
      expect(parse({ statusCode: 200, body: '' }).body.length).toBe(0);
    });

    it('must be a string: an object body is malformed, as in API Gateway', () => {
      expect(rejectionOf({ statusCode: 200, body: { hey: 'dude' } }).message).toMatch(
        /body must be a string/,
      );
      expect(rejectionOf({ statusCode: 200, body: 42 }).message).toMatch(/body must be a string/);
    });

    it('is base64-decoded when isBase64Encoded is true, byte for byte', () => {
      const binary = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
      const result = parseBinary({
        statusCode: 200,
        headers: { 'Content-Type': 'image/png' },
        body: binary.toString('base64'),
        isBase64Encoded: true,
      });
      expect(result.body.equals(binary)).toBe(true);
    });

    it('accepts unpadded base64 and line-wrapped (MIME) base64', () => {
      const data = Buffer.from('any carnal pleasure.');
      const padded = data.toString('base64');
      expect(
        parseBinary({ body: padded.replace(/=+$/, ''), isBase64Encoded: true }).body.equals(data),
      ).toBe(true);
      const wrapped = padded.slice(0, 8) + '\r\n' + padded.slice(8);
      expect(parseBinary({ body: wrapped, isBase64Encoded: true }).body.equals(data)).toBe(true);
    });

    it('rejects a body that is not base64 when flagged as such', () => {
      for (const body of ['not base64!', 'abc$def', 'a', 'ab==cd==']) {
        expect(rejectionOf({ body, isBase64Encoded: true }).message, body).toMatch(
          /not valid base64/,
        );
      }
    });

    it('leaves base64-looking text alone when isBase64Encoded is false or absent', () => {
      expect(parse({ body: 'aGVsbG8=' }).body.toString()).toBe('aGVsbG8=');
      expect(parse({ body: 'aGVsbG8=', isBase64Encoded: false }).body.toString()).toBe('aGVsbG8=');
    });

    it('accepts "true"/"false" strings for the flag, and the base64Encoded alias first', () => {
      expect(parseBinary({ body: 'aGVsbG8=', isBase64Encoded: 'true' }).body.toString()).toBe(
        'hello',
      );
      expect(parseBinary({ body: 'aGVsbG8=', isBase64Encoded: 'False' }).body.toString()).toBe(
        'aGVsbG8=',
      );
      expect(
        parseBinary({
          body: 'aGVsbG8=',
          base64Encoded: true,
          isBase64Encoded: false,
        }).body.toString(),
      ).toBe('hello');
      expect(
        parseBinary({
          body: 'aGVsbG8=',
          base64Encoded: false,
          isBase64Encoded: true,
        }).body.toString(),
      ).toBe('aGVsbG8=');
    });

    it('rejects other flag values', () => {
      expect(rejectionOf({ body: 'x', isBase64Encoded: 'yes' }).message).toMatch(
        /isBase64Encoded must be a boolean/,
      );
      expect(rejectionOf({ body: 'x', isBase64Encoded: 1 }).message).toMatch(
        /isBase64Encoded must be a boolean/,
      );
    });
  });

  describe('Content-Type', () => {
    // Was application/octet-stream (Fastify's label for bytes); API Gateway sends application/json.
    it('is application/json when the result names none, as API Gateway REST sends it', () => {
      expect(parse({ statusCode: 200, body: '{"a":1}' }).headers['content-type']).toBe(
        'application/json',
      );
      expect(parse({ statusCode: 204 }).headers['content-type']).toBe('application/json');
      expect(
        parse({ body: 'aGk=', isBase64Encoded: true, headers: { 'X-A': 'a' } }).headers,
      ).toEqual({ 'x-a': 'a', 'content-type': 'application/json' });
    });

    it("keeps the function's own type, whatever the case of its name", () => {
      expect(parse({ headers: { 'CONTENT-TYPE': 'text/html' } }).headers['content-type']).toBe(
        'text/html',
      );
      expect(
        parse({ multiValueHeaders: { 'Content-Type': ['image/png'] } }).headers['content-type'],
      ).toBe('image/png');
    });

    it('is left out when the function sets it to null (its way to send none)', () => {
      for (const result of [
        { statusCode: 204, headers: { 'Content-Type': null } },
        { statusCode: 200, multiValueHeaders: { 'content-type': null }, body: 'x' },
        { statusCode: 200, multiValueHeaders: { 'content-type': [] }, body: 'x' },
        { statusCode: 200, multiValueHeaders: { 'Content-Type': [null] }, body: 'x' },
      ]) {
        expect(parse(result).headers, JSON.stringify(result)).not.toHaveProperty('content-type');
      }
    });

    it('a null in one map does not hide a value in the other', () => {
      const result = parse({
        headers: { 'Content-Type': null },
        multiValueHeaders: { 'content-type': ['text/csv'] },
      });
      expect(result.headers['content-type']).toBe('text/csv');
    });

    // Was sent as application/octet-stream: Fastify labels a body with an empty type as bytes.
    it('an empty or blank type names none: the default applies', () => {
      for (const result of [
        { headers: { 'Content-Type': '' }, body: 'x' },
        { headers: { 'content-type': '  ' }, body: 'x' },
        { multiValueHeaders: { 'Content-Type': [''] }, body: 'x' },
        { multiValueHeaders: { 'Content-Type': ['', ' '] }, body: 'x' },
      ]) {
        expect(parse(result).headers['content-type'], JSON.stringify(result)).toBe(
          'application/json',
        );
      }
      // Empty values beside a real one are dropped, the real one kept.
      expect(
        parse({ multiValueHeaders: { 'Content-Type': ['', 'text/csv'] } }).headers['content-type'],
      ).toBe('text/csv');
      // `null` stays the way to send none, also next to an empty string.
      expect(
        parse({ headers: { 'Content-Type': '' }, multiValueHeaders: { 'content-type': [null] } })
          .headers,
      ).not.toHaveProperty('content-type');
    });

    it('a type removed as hop-by-hop is not a null: the default applies', () => {
      const result = parse({ headers: { Connection: 'content-type', 'Content-Type': 'text/x' } });
      expect(result.headers['content-type']).toBe('application/json');
    });
  });

  describe("base64 bodies and the route's binary media types", () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0xff]);
    const result = {
      statusCode: 200,
      headers: { 'Content-Type': 'image/png' },
      body: png.toString('base64'),
      isBase64Encoded: true,
    };
    const route = (patterns: string[], accept?: string): ProxyResultContext => ({
      accept,
      binaryMediaTypes: new BinaryMediaTypes(patterns),
    });

    it('without binary media types the base64 text itself is the body, as API Gateway sends it', () => {
      expect(parse(result).body.toString('latin1')).toBe(png.toString('base64'));
      expect(parse(result, route([], 'image/png')).body.toString()).toBe(png.toString('base64'));
    });

    it('is decoded when the first media type of Accept matches, byte for byte', () => {
      expect(parse(result, route(['image/png'], 'image/png')).body.equals(png)).toBe(true);
      expect(parse(result, route(['image/*'], 'IMAGE/PNG; q=1, */*')).body.equals(png)).toBe(true);
      expect(parse(result, route(['*/*'], 'text/html')).body.equals(png)).toBe(true);
    });

    it('only the first Accept media type counts', () => {
      const later = route(['image/png'], 'text/html,image/png;q=0.9');
      expect(parse(result, later).body.toString()).toBe(png.toString('base64'));
    });

    it('a request without Accept matches only */*', () => {
      expect(parse(result, route(['image/png'])).body.toString()).toBe(png.toString('base64'));
      expect(parse(result, route(['*/*'])).body.equals(png)).toBe(true);
    });

    it("the response's own Content-Type does not decide", () => {
      const other = route(['image/png'], 'application/pdf');
      expect(parse(result, other).body.toString()).toBe(png.toString('base64'));
    });

    it('a body that is not base64 is refused only when it would be decoded', () => {
      const bad = { body: 'not base64!', isBase64Encoded: true };
      expect(parse(bad).body.toString()).toBe('not base64!');
      expect(() => parse(bad, route(['*/*']))).toThrow(/not valid base64/);
    });
  });

  describe('headers and multiValueHeaders', () => {
    it('lower-cases names; one value is a string, several an array', () => {
      const result = parse({
        multiValueHeaders: { 'Set-Cookie': ['a=1', 'b=2'], Vary: ['Accept'] },
      });
      expect(result.headers).toEqual({
        'set-cookie': ['a=1', 'b=2'],
        vary: 'Accept',
        ...DEFAULT_TYPE,
      });
    });

    it('merges both maps: multi values first, then single values', () => {
      const result = parse({
        headers: { 'X-Single': 's', 'X-Both': 'from-headers' },
        multiValueHeaders: { 'X-Both': ['m1', 'm2'], 'X-Multi': ['only'] },
      });
      expect(result.headers).toEqual({
        'x-single': 's',
        'x-both': ['m1', 'm2', 'from-headers'],
        'x-multi': 'only',
        ...DEFAULT_TYPE,
      });
    });

    it('keeps a key-value pair present in both maps once (multiValueHeaders wins)', () => {
      const result = parse({
        headers: { Location: '/next', 'Content-Type': 'text/plain' },
        multiValueHeaders: { Location: ['/next'], 'content-type': ['text/plain'] },
      });
      expect(result.headers).toEqual({ location: '/next', 'content-type': 'text/plain' });
    });

    it('joins names case-insensitively across both maps', () => {
      const result = parse({
        headers: { 'set-cookie': 'c=3' },
        multiValueHeaders: { 'Set-Cookie': ['a=1'], 'SET-COOKIE': ['b=2'] },
      });
      expect(result.headers).toEqual({ 'set-cookie': ['a=1', 'b=2', 'c=3'], ...DEFAULT_TYPE });
    });

    it('converts numbers and booleans to strings and skips null values', () => {
      const result = parse({
        headers: { 'X-Count': 5, 'X-Flag': true, 'X-None': null },
        multiValueHeaders: { 'X-List': [1, false, null, 'z'], 'X-Gone': null },
      });
      expect(result.headers).toEqual({
        'x-count': '5',
        'x-flag': 'true',
        'x-list': ['1', 'false', 'z'],
        ...DEFAULT_TYPE,
      });
    });

    it('accepts null or absent maps', () => {
      expect(parse({ headers: null, multiValueHeaders: null }).headers).toEqual(DEFAULT_TYPE);
      expect(parse({}).headers).toEqual(DEFAULT_TYPE);
    });

    it('strips hop-by-hop headers and content-length', () => {
      const result = parse({
        headers: {
          Connection: 'keep-alive, X-Private-Hop',
          'Keep-Alive': 'timeout=5',
          'Transfer-Encoding': 'chunked',
          Upgrade: 'websocket',
          TE: 'trailers',
          Trailer: 'Expires',
          'Proxy-Authenticate': 'Basic',
          'Content-Length': '999',
          'X-Private-Hop': 'secret',
          'X-Kept': 'yes',
        },
        multiValueHeaders: { 'content-length': ['1', '2'] },
        body: 'hi',
      });
      expect(result.headers).toEqual({ 'x-kept': 'yes', ...DEFAULT_TYPE });
      expect(result.body.toString()).toBe('hi');
    });

    it('rejects wrong shapes', () => {
      const cases: [unknown, RegExp][] = [
        [{ headers: 'Content-Type: text/plain' }, /headers must be an object/],
        [{ headers: ['a'] }, /headers must be an object/],
        [{ multiValueHeaders: { 'X-A': 'not-a-list' } }, /multiValueHeaders\.X-A must be an array/],
        [{ multiValueHeaders: [] }, /multiValueHeaders must be an object/],
        [{ headers: { 'X-A': { nested: 1 } } }, /headers\.X-A must be a string/],
        [{ headers: { 'X-A': ['a'] } }, /headers\.X-A must be a string/],
        [{ multiValueHeaders: { 'X-A': [['a']] } }, /multiValueHeaders\.X-A must be a string/],
      ];
      for (const [value, message] of cases) {
        expect(rejectionOf(value).message, JSON.stringify(value)).toMatch(message);
      }
    });

    it('rejects header names and values Node would refuse to write', () => {
      expect(rejectionOf({ headers: { 'Bad Name': 'x' } }).message).toMatch(/invalid header name/);
      expect(rejectionOf({ headers: { 'X-A': 'line\r\nInjected: 1' } }).message).toMatch(
        /not allowed in a header/,
      );
      expect(rejectionOf({ multiValueHeaders: { 'X-A': ['ok', 'nul\u0000'] } }).message).toMatch(
        /not allowed in a header/,
      );
    });

    it('allows tabs and Latin-1 bytes in values, like Node', () => {
      expect(parse({ headers: { 'X-A': 'a\tb é' } }).headers).toEqual({
        'x-a': 'a\tb é',
        ...DEFAULT_TYPE,
      });
    });

    it('treats a header named __proto__ as data', () => {
      const headers = parse({ multiValueHeaders: { __proto__: ['x'] } }).headers;
      // JSON.stringify of a literal with a __proto__ key would not carry it; check the parse path.
      expect(headers).toEqual(DEFAULT_TYPE);
      const raw = new TextEncoder().encode('{"headers":{"__proto__":"x"}}');
      const parsed = parseProxyResult(raw, TEXT_ROUTE).headers;
      expect(Object.getOwnPropertyDescriptor(parsed, '__proto__')?.value).toBe('x');
    });
  });

  describe('malformed results → WR_ERR_BACKEND (API Gateway: 502 Malformed Lambda proxy response)', () => {
    it('carries the backend code, a 502 status and the documented message prefix', () => {
      const err = rejection(new TextEncoder().encode('"just a string"'));
      expect(err.code).toBe('WR_ERR_BACKEND');
      expect(err.statusCode).toBe(502);
      expect(err.message).toBe(
        'Lambda backend error: function returned an invalid proxy result: expected a JSON object, got "just a string"',
      );
    });

    it('rejects invalid JSON and empty payloads', () => {
      expect(rejection(new TextEncoder().encode('{"statusCode":')).message).toMatch(
        /not valid JSON/,
      );
      expect(rejection(new Uint8Array(0)).message).toMatch(/not valid JSON/);
    });

    it('rejects non-object JSON', () => {
      for (const value of [null, 42, true, [1, 2], 'text']) {
        expect(rejectionOf(value).message, JSON.stringify(value)).toMatch(/expected a JSON object/);
      }
    });

    it('rejects unknown top-level fields, as REST APIs do', () => {
      expect(
        rejectionOf({ statusCode: 201, statusDescription: 'Created', body: '' }).message,
      ).toMatch(/unknown field "statusDescription"/);
      expect(rejectionOf({ message: 'hello' }).message).toMatch(/unknown field "message"/);
    });

    it('ignores cookies (a payload 2.0 field) instead of failing or mapping it', () => {
      const result = parse({ statusCode: 200, cookies: ['a=1'], body: 'x' });
      expect(result.headers).toEqual(DEFAULT_TYPE);
      expect(result.body.toString()).toBe('x');
    });
  });
});
