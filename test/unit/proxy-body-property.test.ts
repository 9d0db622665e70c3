import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { BinaryMediaTypes } from '../../src/http/binary-media-types.js';
import { buildProxyEvent } from '../../src/http/proxy-event.js';
import { parseProxyResult } from '../../src/http/proxy-result.js';

/**
 * Whatever the route's binary media types and the request's Content-Type and
 * Accept, no body byte is lost or changed on the way to the function and
 * back: the event's body decodes (as its `isBase64Encoded` says) to the bytes
 * received, and a response body is either exactly what the function meant
 * or, where API Gateway would not decode it, exactly the function's base64
 * text.
 */

const mediaType = fc.oneof(
  fc.constantFrom(
    'application/json',
    'application/octet-stream',
    'text/plain; charset=utf-8',
    'image/png',
    'IMAGE/GIF',
    'multipart/form-data; boundary=x',
    '*/*',
    'image/*',
    '',
  ),
  fc
    .tuple(
      fc.constantFrom('text', 'image', 'application', 'x'),
      fc.constantFrom('a', 'png', 'json'),
    )
    .map(([type, sub]) => `${type}/${sub}`),
);
const pattern = fc.constantFrom(
  '*/*',
  'image/*',
  'image/png',
  'application/octet-stream',
  'application/json',
  'text/*',
);
const patterns = fc.array(pattern, { maxLength: 3 }).map((list) => new BinaryMediaTypes(list));
const header = fc.option(mediaType, { nil: undefined });
const accept = fc.option(
  fc.array(mediaType, { minLength: 1, maxLength: 3 }).map((list) => list.join(', ')),
  { nil: undefined },
);
const body = fc.oneof(
  fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)),
  fc.string({ unit: 'grapheme', maxLength: 32 }).map((s) => Buffer.from(s, 'utf8')),
);

function eventFor(bytes: Buffer, contentType: string | undefined, types: BinaryMediaTypes) {
  return buildProxyEvent(
    {
      method: 'POST',
      url: '/x',
      rawHeaders: contentType === undefined ? [] : ['Content-Type', contentType],
      body: bytes,
      sourceIp: '127.0.0.1',
      requestId: 'r',
      receivedAt: 0,
    },
    {
      stage: 'prod',
      resource: '/{proxy+}',
      pathParameters: { proxy: 'x' },
      binaryMediaTypes: types,
    },
  );
}

function decode(text: string | null, base64: boolean): Buffer {
  return Buffer.from(text ?? '', base64 ? 'base64' : 'utf8');
}

describe('request and response bodies (property): no byte lost or changed', () => {
  it('the event body is the request bytes, base64 exactly when binary or not UTF-8', () => {
    fc.assert(
      fc.property(body, header, patterns, (bytes, contentType, types) => {
        const event = eventFor(bytes, contentType, types);
        expect(decode(event.body, event.isBase64Encoded).equals(bytes)).toBe(true);
        if (bytes.length > 0) {
          const binary = types.isBinaryRequest(contentType);
          expect(event.isBase64Encoded).toBe(binary || !isUtf8(bytes));
        }
      }),
      { seed: 1207, numRuns: 2000 },
    );
  });

  it('a base64 response body is decoded or passed as its base64 text, nothing else', () => {
    fc.assert(
      fc.property(body, accept, patterns, (bytes, acceptHeader, types) => {
        const base64 = bytes.toString('base64');
        const payload = Buffer.from(JSON.stringify({ body: base64, isBase64Encoded: true }));
        const response = parseProxyResult(payload, {
          accept: acceptHeader,
          binaryMediaTypes: types,
        });
        const expected = types.isBinaryResponse(acceptHeader) ? bytes : Buffer.from(base64);
        expect(response.body.equals(expected)).toBe(true);
      }),
      { seed: 1208, numRuns: 2000 },
    );
  });

  it('a text response body is its UTF-8 bytes for every configuration', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme', maxLength: 32 }),
        accept,
        patterns,
        (text, acceptHeader, types) => {
          const payload = Buffer.from(JSON.stringify({ body: text }));
          const response = parseProxyResult(payload, {
            accept: acceptHeader,
            binaryMediaTypes: types,
          });
          expect(response.body.equals(Buffer.from(text, 'utf8'))).toBe(true);
        },
      ),
      { seed: 1209, numRuns: 1000 },
    );
  });

  it('an echoing function returns the request bytes, or their base64 where API Gateway sends that', () => {
    fc.assert(
      fc.property(body, header, accept, patterns, (bytes, contentType, acceptHeader, types) => {
        const event = eventFor(bytes, contentType, types);
        const echoed = { body: event.body, isBase64Encoded: event.isBase64Encoded };
        const response = parseProxyResult(Buffer.from(JSON.stringify(echoed)), {
          accept: acceptHeader,
          binaryMediaTypes: types,
        });
        if (!event.isBase64Encoded || types.isBinaryResponse(acceptHeader)) {
          expect(response.body.equals(bytes)).toBe(true);
        } else {
          expect(Buffer.from(response.body.toString('latin1'), 'base64').equals(bytes)).toBe(true);
          expect(response.body.toString('latin1')).toBe(event.body);
        }
      }),
      { seed: 1210, numRuns: 2000 },
    );
  });
});
