import fc from 'fast-check';
import { setTimeout as delay } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorCatalogue } from '../../src/errors.js';
import { ADMIN_TOKEN } from '../helpers/gateway.js';
import { startKeySourceGateway, type KeySourceGateway } from '../helpers/key-source-gateway.js';
import {
  errorCodeOf,
  rawRequest,
  type RawRequestSpec,
  type RawResponse,
} from '../helpers/raw-http.js';

/**
 * The fuzz suite: seeded, bounded, run by `npm test`. Hostile requests at the
 * byte level against a gateway and its local host running in this process
 * (as `npm start` runs them), over every surface: reverse proxy (header,
 * cookie, path and JSON-field keys), RPC, admin, health, metrics, unknown
 * gateway paths, and the local host's Invoke and control APIs.
 *
 * For every answer:
 * - no 5xx (bad input is the client's fault; the functions used here never fail);
 * - every error the gateway writes is `{ error: { code, message } }` with a
 *   code from the catalogue;
 * - an answer ≥ 400 invoked nothing (the local host's own counters);
 * and afterwards the process still answers `/healthz` with 200.
 */

const SEED = 20_261_204;
const GATEWAY_RUNS = 800;
const LOCAL_HOST_RUNS = 300;

const bytes = (max: number) =>
  fc.uint8Array({ maxLength: max }).map((a) => Buffer.from(a.buffer, a.byteOffset, a.length));

/** Text a client might send: mostly plausible, sometimes anything at all. */
const hostileText = fc.oneof(
  // Mostly a few keys, so most accepted requests reuse a warm environment
  // (a new key is a cold start: time, not coverage).
  { weight: 10, arbitrary: fc.constantFrom('blue', 'green', 'k1', 'k2', 'victim', 'caf\u00e9') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '',
      ' ',
      '\u0000',
      'a\r\nx-injected: 1',
      '\ud800',
      '%',
      '%zz',
      '%00',
      '%E2%82',
      '../..',
      'k'.repeat(1025),
      '\u20ac'.repeat(400),
    ),
  },
);

/** A header value as bytes: UTF-8 of some text, or raw bytes (not necessarily UTF-8). */
const headerBytes = fc.oneof(
  { weight: 3, arbitrary: hostileText.map((t) => Buffer.from(t, 'utf8')) },
  { weight: 1, arbitrary: bytes(40) },
);

/** A path segment as it goes on the wire: percent-encoded text, or raw junk escapes. */
const pathSegment = fc.oneof(
  { weight: 3, arbitrary: hostileText.filter((t) => !/\p{Cs}/u.test(t)).map(encodeURIComponent) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('%', '%zz', '%E2%82', '%C0%AF', '..', '.', '%2e%2e', 'a%2Fb', ''),
  },
  { weight: 1, arbitrary: fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=:@-]{0,150}$/) },
);

const method = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE') },
  { weight: 2, arbitrary: fc.constantFrom('PATCH', 'HEAD', 'OPTIONS', 'TRACE') },
  { weight: 1, arbitrary: fc.constantFrom('PROPFIND', 'FOO', 'get', 'G@T', 'CONNECT') },
);

const jsonBody = fc.oneof(
  fc.json({ maxDepth: 3 }),
  hostileText.map((k) => JSON.stringify({ doc: { k } })),
  hostileText.map((t) => JSON.stringify({ target: t })),
  fc.constantFrom('{', '{"doc":', 'null', '[]', '"x"', '{"doc":{"k":{"deep":1}}}', ''),
);

const body = fc.option(
  fc.oneof(
    { weight: 3, arbitrary: jsonBody.map((s) => Buffer.from(s, 'utf8')) },
    { weight: 1, arbitrary: bytes(200) },
  ),
  { nil: undefined },
);

type Header = readonly [string, string | Buffer];

const extraHeaders = fc.array(
  fc.oneof(
    headerBytes.map((v): Header => ['x-affinity-key', v]),
    fc
      .tuple(hostileText, headerBytes)
      .map(([n, v]): Header => ['cookie', Buffer.concat([Buffer.from(`a=1; sid=${n.length}`), v])]),
    headerBytes.map((v): Header => ['cookie', Buffer.concat([Buffer.from('sid='), v])]),
    fc.constantFrom<Header>(
      ['authorization', `Bearer ${ADMIN_TOKEN}`],
      ['authorization', 'Bearer wrong'],
      ['authorization', 'Basic Zm9vOmJhcg=='],
      ['content-type', 'application/json'],
      ['content-type', 'text/plain; charset=utf-8'],
      ['content-type', 'application/x-www-form-urlencoded'],
      ['content-type', ''],
      ['x-affinity-mode', 'fresh'],
      ['x-affinity-mode', 'pooled'],
      ['x-affinity-mode', 'FRESH'],
      ['x-affinity-tenant', 'wr-chosen-by-client'],
      ['x-amz-tenant-id', 'wr-chosen-by-client'],
      ['accept', '*/*'],
      ['accept-encoding', 'gzip, br'],
      ['expect', '100-continue'],
    ),
    fc
      .tuple(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), headerBytes)
      .map(([n, v]): Header => [`x-${n}`, v]),
  ),
  { maxLength: 4 },
);

const gatewayPath = fc.oneof(
  fc.constant('/'),
  pathSegment.map((s) => `/${s}`),
  fc.tuple(pathSegment, pathSegment).map(([a, b]) => `/${a}/${b}`),
  pathSegment.map((s) => `/ck/${s}`),
  pathSegment.map((s) => `/p/${s}/x`),
  pathSegment.map((s) => `/p/${s}`),
  fc.constant('/j/x'),
  fc
    .constantFrom('counter', 'nope', 'x'.repeat(101), 'a.b', '')
    .map((n) => `/v1/functions/${n}/invoke`),
  pathSegment.map((n) => `/v1/functions/${n}/invoke`),
  pathSegment.map((k) => `/v1/keys/${k}`),
  pathSegment.map((k) => `/v1/keys/${k}/rotate`),
  pathSegment.map((k) => `/v1/keys/${k}/binding`),
  pathSegment.map((s) => `/v1/${s}`),
  fc.constantFrom('/v1', '/v1/', '/healthz', '/readyz', '/metrics', '/healthz/x', '/metrics?x=%zz'),
  fc
    .tuple(
      fc.constantFrom('/', '/ck/x', '/v1/keys/k'),
      fc.stringMatching(/^[A-Za-z0-9=&%+]{0,40}$/),
    )
    .map(([p, q]) => `${p}?${q}`),
);

const gatewayRequest = fc.record({
  method,
  target: gatewayPath,
  headers: extraHeaders,
  body,
});

/** The local host's APIs: Invoke (AWS's contract) and the control endpoints. */
// Weighted toward requests the host accepts, so both sides are exercised.
const tenantHeader = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom('BlueTenant', 'GreenTenant') },
  { weight: 2, arbitrary: fc.constantFrom('wr-abc', 'a b', '', 't'.repeat(257)) },
  { weight: 2, arbitrary: headerBytes },
);
const clientContextHeader = fc.oneof(
  {
    weight: 4,
    arbitrary: hostileText.map((t) =>
      Buffer.from(
        JSON.stringify({ custom: { warmroute: { v: 1, key: t, mode: 'affinity' } } }),
        'utf8',
      ).toString('base64'),
    ),
  },
  { weight: 1, arbitrary: fc.json({ maxDepth: 2 }).map((j) => Buffer.from(j).toString('base64')) },
  { weight: 1, arbitrary: headerBytes },
  {
    weight: 1,
    arbitrary: fc.constant(
      Buffer.from(JSON.stringify({ custom: { pad: 'x'.repeat(4000) } })).toString('base64'),
    ),
  },
);
const localHostRequest = fc.oneof(
  fc.record({
    method: fc.oneof(
      { weight: 8, arbitrary: fc.constant('POST') },
      { weight: 2, arbitrary: method },
    ),
    target: fc.oneof(
      { weight: 8, arbitrary: fc.constant('/2015-03-31/functions/counter/invocations') },
      {
        weight: 2,
        arbitrary: fc
          .constantFrom('nope', 'x'.repeat(200), '')
          .map((n) => `/2015-03-31/functions/${n}/invocations`),
      },
      { weight: 2, arbitrary: pathSegment.map((n) => `/2015-03-31/functions/${n}/invocations`) },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom('?Qualifier=$LATEST', '?Qualifier=7', '?Qualifier=%zz')
          .map((q) => `/2015-03-31/functions/counter/invocations${q}`),
      },
    ),
    headers: fc
      .tuple(
        fc.option(tenantHeader, { nil: undefined, freq: 10 }),
        fc.option(clientContextHeader, { nil: undefined, freq: 3 }),
        fc.option(
          fc.oneof(
            { weight: 6, arbitrary: fc.constant('RequestResponse') },
            { weight: 3, arbitrary: fc.constantFrom('Event', 'DryRun', 'Bogus', '') },
          ),
          { nil: undefined, freq: 3 },
        ),
        fc.option(fc.constantFrom('Tail', 'None', 'tail', 'X'), { nil: undefined, freq: 2 }),
      )
      .map(([tenant, context, type, log]) => {
        const out: Header[] = [];
        if (tenant !== undefined) out.push(['x-amz-tenant-id', tenant]);
        if (context !== undefined) out.push(['x-amz-client-context', context]);
        if (type !== undefined) out.push(['x-amz-invocation-type', type]);
        if (log !== undefined) out.push(['x-amz-log-type', log]);
        return out;
      }),
    body: fc.option(
      fc.oneof(
        { weight: 4, arbitrary: fc.json({ maxDepth: 2 }).map((j) => Buffer.from(j)) },
        { weight: 1, arbitrary: bytes(100) },
      ),
      { nil: undefined, freq: 4 },
    ),
  }),
  fc.record({
    method,
    target: fc.oneof(
      fc.constantFrom(
        '/_local/environments',
        '/_local/stats',
        '/_local/healthz',
        '/_local/evict',
        '/_local/x',
      ),
      pathSegment.map((s) => `/_local/${s}`),
      pathSegment.map((s) => `/${s}`),
    ),
    headers: fc.constant<Header[]>([]),
    body: fc.option(
      fc.oneof(
        fc
          .constantFrom('{"function":"nope"}', '{"tenant":"\u0000"}', '{', '[]')
          .map((s) => Buffer.from(s)),
        bytes(60),
      ),
      { nil: undefined },
    ),
  }),
);

const catalogueCodes = new Set(Object.keys(errorCatalogue));

function describeRequest(spec: RawRequestSpec): string {
  return JSON.stringify({
    method: spec.method,
    target: spec.target.toString(),
    headers: spec.headers?.map(([n, v]) => [n, v.toString('latin1').slice(0, 80)]),
    body: spec.body?.toString('latin1').slice(0, 80),
  });
}

describe(
  'fuzz: hostile requests never crash, never 5xx, never invoke, always answer the error contract',
  { timeout: 300_000 },
  () => {
    let gw: KeySourceGateway;
    beforeAll(async () => {
      gw = await startKeySourceGateway();
    });
    afterAll(async () => {
      await gw.close();
    });

    async function send(
      base: string,
      spec: RawRequestSpec,
    ): Promise<{ res: RawResponse; invoked: number }> {
      const before = gw.invocations();
      const res = await rawRequest(base, spec);
      if (res.status === 202) {
        // An Event invocation is accepted first and runs afterwards: wait for
        // it, so it is not charged to the next request.
        for (let i = 0; i < 200 && gw.invocations() === before; i++) await delay(10);
      }
      return { res, invoked: gw.invocations() - before };
    }

    it(`gateway: ${GATEWAY_RUNS} requests over proxy, RPC, admin, health and unknown paths`, async () => {
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(gatewayRequest, async (spec) => {
          const label = describeRequest(spec);
          const { res, invoked } = await send(gw.url, spec);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, label).toBeLessThan(500);
          if (res.status >= 400) {
            expect(invoked, label).toBe(0);
            if (spec.method !== 'HEAD') {
              const code = errorCodeOf(res);
              expect(code, `${label} → ${res.body.toString('latin1').slice(0, 200)}`).toBeDefined();
              expect(catalogueCodes.has(code ?? ''), `${label} → ${code}`).toBe(true);
              expect(res.headers['content-type'], label).toMatch(/^application\/json/);
            }
          }
        }),
        { seed: SEED, numRuns: GATEWAY_RUNS, endOnFailure: true },
      );
      // The suite exercised both sides: requests that were served and requests that were refused.
      expect(statuses.get(200) ?? 0).toBeGreaterThan(50);
      expect(
        [...statuses].filter(([status]) => status >= 400).reduce((sum, [, n]) => sum + n, 0),
      ).toBeGreaterThan(20);
    });

    it(`local host: ${LOCAL_HOST_RUNS} requests over the Invoke and control APIs`, async () => {
      const base = gw.localHost.url;
      const statuses = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(localHostRequest, async (spec) => {
          const label = describeRequest(spec);
          const { res, invoked } = await send(base, spec);
          statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
          expect(res.status, label).toBeLessThan(500);
          if (res.status >= 400) {
            expect(invoked, label).toBe(0);
            if (spec.target.startsWith('/2015-03-31/') && spec.method !== 'HEAD') {
              // Lambda's error contract: the error name in x-amzn-ErrorType, a JSON body with a message.
              expect(res.headers['x-amzn-errortype'], label).toMatch(/^[A-Za-z.]+/);
              const parsed = JSON.parse(res.body.toString('utf8')) as { message?: unknown };
              expect(typeof parsed.message, label).toBe('string');
            }
          }
        }),
        { seed: SEED, numRuns: LOCAL_HOST_RUNS, endOnFailure: true },
      );
      // Both sides were exercised: invocations that ran and requests that were refused.
      expect((statuses.get(200) ?? 0) + (statuses.get(202) ?? 0)).toBeGreaterThan(20);
      expect(
        [...statuses].filter(([status]) => status >= 400).reduce((sum, [, n]) => sum + n, 0),
      ).toBeGreaterThan(20);
    });

    it('afterwards the process is alive: /healthz 200 on the gateway, /_local/healthz 200 on the host', async () => {
      expect((await rawRequest(gw.url, { target: '/healthz' })).status).toBe(200);
      expect((await rawRequest(gw.localHost.url, { target: '/_local/healthz' })).status).toBe(200);
      const served = await rawRequest(gw.url, {
        target: '/',
        headers: [['x-affinity-key', 'after-fuzz']],
      });
      expect(served.status).toBe(200);
    });
  },
);
