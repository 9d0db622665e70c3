import fc from 'fast-check';
import Fastify from 'fastify';
import { validateHeaderName, validateHeaderValue } from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { isWarmrouteError } from '../../src/errors.js';
import { BinaryMediaTypes } from '../../src/http/binary-media-types.js';
import { parseProxyResult } from '../../src/http/proxy-result.js';

/**
 * Whatever a function returns as its proxy result, the gateway either writes
 * it as an HTTP response or refuses it as a 502 `WR_ERR_BACKEND`: it never
 * hands Node a header it would throw on (which became a 500 with Node's own
 * error code).
 */

const headerName = fc.oneof(
  fc.constantFrom(
    'content-type',
    'set-cookie',
    'x-ok',
    'Content-Length',
    'Transfer-Encoding',
    'connection',
    'x-affinity-tenant',
  ),
  fc.string({ unit: 'binary', minLength: 0, maxLength: 12 }),
);
const headerValue = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 5 }), { maxLength: 2 }),
);
const proxyResult = fc.record(
  {
    statusCode: fc.oneof(fc.integer({ min: -5, max: 700 }), fc.constantFrom('200', ' 404 ', 'OK')),
    headers: fc.dictionary(headerName, headerValue, { maxKeys: 4 }),
    multiValueHeaders: fc.dictionary(headerName, fc.array(headerValue, { maxLength: 3 }), {
      maxKeys: 3,
    }),
    body: fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constant(null)),
    isBase64Encoded: fc.oneof(fc.boolean(), fc.constantFrom('true', 'nope')),
  },
  { requiredKeys: [] },
);

describe('proxy result (property): written as a response, or refused as a 502 — never a crash', () => {
  const app = Fastify();
  let current: ReturnType<typeof parseProxyResult> | undefined;
  app.get('/', (_request, reply) => {
    const r = current!;
    return reply.code(r.statusCode).headers(r.headers).send(r.body);
  });
  afterAll(async () => {
    await app.close();
  });

  it('every accepted result has headers Node accepts and is served with its own status', async () => {
    await fc.assert(
      fc.asyncProperty(proxyResult, async (result) => {
        let parsed: ReturnType<typeof parseProxyResult>;
        try {
          // A route that decodes every base64 body, so bad base64 is exercised too.
          parsed = parseProxyResult(Buffer.from(JSON.stringify(result)), {
            accept: undefined,
            binaryMediaTypes: new BinaryMediaTypes(['*/*']),
          });
        } catch (err) {
          expect(isWarmrouteError(err) && err.code).toBe('WR_ERR_BACKEND');
          expect(isWarmrouteError(err) && err.statusCode).toBe(502);
          return;
        }
        for (const [name, value] of Object.entries(parsed.headers)) {
          expect(() => {
            validateHeaderName(name);
          }).not.toThrow();
          for (const v of Array.isArray(value) ? value : [value]) {
            expect(() => {
              validateHeaderValue(name, v);
            }).not.toThrow();
          }
        }
        current = parsed;
        const res = await app.inject('/');
        expect(res.statusCode).toBe(parsed.statusCode);
      }),
      { seed: 1204, numRuns: 1500 },
    );
  });
});
