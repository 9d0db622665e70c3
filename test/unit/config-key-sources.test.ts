import fc from 'fast-check';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Env } from '../../src/config/load-config.js';
import type { Config, RouteConfig } from '../../src/config/schema.js';
import { isWarmrouteError } from '../../src/errors.js';
import { createKeyExtractor, type KeyExtractorSpec } from '../../src/http/key-extractors.js';
import { configError } from '../helpers/config-error.js';

/**
 * Review finding 5: a key source's name must be one a request can carry.
 * Before, `{"from":"cookie","name":"a=b"}` or a header `x k` loaded, and
 * every request to the route was then a 400. The loader now refuses such
 * names in its one WR_ERR_CONFIG message, and every name it accepts is found
 * by the route's extractor.
 */

type KeySource = NonNullable<RouteConfig['key']>;

function envWithKey(key: KeySource): Env {
  return {
    WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/r', function: 'f', mode: 'affinity', key }]),
  };
}

/** `a.b` and `k` → `{"a":{"b":"k"}}`, as a client would send a key at that field path. */
function jsonBodyFor(path: string, key: string): string {
  let value: unknown = key;
  for (const part of path.split('.').reverse()) value = { [part]: value };
  return JSON.stringify(value);
}

describe('config: key source names a request can carry', () => {
  it.each([
    { source: { from: 'cookie', name: 'a=b' }, mentions: 'key cookie "a=b" is not a cookie name' },
    { source: { from: 'cookie', name: 's;id' }, mentions: 'key cookie "s;id"' },
    { source: { from: 'cookie', name: 'sé' }, mentions: 'key cookie "sé" is not a cookie name' },
    { source: { from: 'cookie', name: ' sid' }, mentions: 'starts or ends with a space or tab' },
    { source: { from: 'cookie', name: 'sid\t' }, mentions: 'starts or ends with a space or tab' },
    { source: { from: 'cookie', name: 's\u0001id' }, mentions: 'printable ASCII only' },
    { source: { from: 'cookie', name: 's\u007fid' }, mentions: 'printable ASCII only' },
    { source: { from: 'header', name: 'x k' }, mentions: 'key header "x k" must match' },
    { source: { from: 'header', name: 'x:k' }, mentions: 'key header "x:k"' },
    { source: { from: 'header', name: 'X-Key' }, mentions: 'must be written in lower case' },
    { source: { from: 'header', name: 'X-Key' }, mentions: '(write "x-key")' },
    { source: { from: 'header', name: 'x_key' }, mentions: 'nginx and many other proxies drop' },
    { source: { from: 'header', name: 'X_Key' }, mentions: '(write "x-key")' },
    { source: { from: 'header', name: 'content-length' }, mentions: 'frames the HTTP message' },
    { source: { from: 'header', name: 'transfer-encoding' }, mentions: 'frames the HTTP message' },
    { source: { from: 'json', name: 'a..b' }, mentions: 'key JSON field path "a..b"' },
    { source: { from: 'json', name: '.a' }, mentions: 'key JSON field path ".a"' },
    { source: { from: 'json', name: 'a.' }, mentions: 'key JSON field path "a."' },
    { source: { from: 'json', name: '.' }, mentions: 'has an empty part' },
  ] as const)('refuses $source.from name $source.name', ({ source, mentions }) => {
    const err = configError(() => loadConfig(envWithKey(source)));
    expect(err.code).toBe('WR_ERR_CONFIG');
    expect(err.message).toContain('routes (/r): key ');
    expect(err.message).toContain(mentions);
  });

  it('reports every bad key source in the one message, with the other problems', () => {
    const err = configError(() =>
      loadConfig({
        WARMROUTE_MAX_QUEUE_WAIT_MS: '0',
        WARMROUTE_ROUTES: JSON.stringify([
          { prefix: '/c', function: 'f', mode: 'affinity', key: { from: 'cookie', name: 'a=b' } },
          { prefix: '/h', function: 'f', mode: 'affinity', key: { from: 'header', name: 'x k' } },
          { prefix: '/j', function: 'f', mode: 'affinity', key: { from: 'json', name: 'a..b' } },
        ]),
      }),
    );
    for (const part of [
      'WARMROUTE_MAX_QUEUE_WAIT_MS',
      'routes (/c)',
      'routes (/h)',
      'routes (/j)',
    ]) {
      expect(err.message).toContain(part);
    }
  });

  it.each([
    { from: 'cookie', name: "s'id" },
    { from: 'cookie', name: '__Host-SID' },
    // PHP-style and other names browsers send although RFC 6265 §4.1.1 forbids them.
    { from: 'cookie', name: 'user[id]' },
    { from: 'cookie', name: 's id' },
    { from: 'cookie', name: 'a,b' },
    { from: 'cookie', name: '"sid"' },
    { from: 'cookie', name: '(s)@{x}/?:\\' },
    { from: 'header', name: 'x-k' },
    { from: 'header', name: 'host' },
    { from: 'json', name: 'a.b' },
    { from: 'json', name: 'items.0' },
    { from: 'json', name: 'a b' },
    { from: 'path', name: 'proxy' },
  ] as const)('accepts $from name $name', (source) => {
    expect(loadConfig(envWithKey(source)).routes[0]?.key).toEqual(source);
  });
});

describe('config: WARMROUTE_KEY_HEADER follows the key header rule (review round 2 finding 3)', () => {
  // Before, only routes' key headers were checked: content-length loaded, and
  // every bodiless request then had the key "0" (its body length).
  it.each([
    { value: 'content-length', mentions: 'frames the HTTP message' },
    { value: 'transfer-encoding', mentions: 'frames the HTTP message' },
    { value: 'connection', mentions: 'frames the HTTP message' },
    { value: 'X-Session-Id', mentions: '(write "x-session-id")' },
    { value: 'x_session_id', mentions: 'nginx and many other proxies drop' },
  ])('refuses $value, saying why', ({ value, mentions }) => {
    const err = configError(() => loadConfig({ WARMROUTE_KEY_HEADER: value }));
    expect(err.code).toBe('WR_ERR_CONFIG');
    expect(err.message).toContain(`WARMROUTE_KEY_HEADER: key header ${JSON.stringify(value)}`);
    expect(err.message).toContain(mentions);
  });

  it('reports it with the other problems, in the one message', () => {
    const err = configError(() =>
      loadConfig({ WARMROUTE_KEY_HEADER: 'content-length', WARMROUTE_MAX_QUEUE_WAIT_MS: '0' }),
    );
    expect(err.message).toContain('WARMROUTE_KEY_HEADER: key header "content-length"');
    expect(err.message).toContain('WARMROUTE_MAX_QUEUE_WAIT_MS');
  });

  it('accepts the names a route key header may have', () => {
    for (const value of ['x-session-id', 'host', 'x-affinity-key']) {
      expect(loadConfig({ WARMROUTE_KEY_HEADER: value }).keyHeader).toBe(value);
    }
  });
});

describe('config and extractors agree: every key source name the loader accepts is found', () => {
  let app: FastifyInstance;
  let spec: KeyExtractorSpec | undefined;

  beforeAll(async () => {
    app = Fastify();
    // The body as the proxy routes see it: raw bytes, whatever the type.
    app.removeAllContentTypeParsers();
    app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
      done(null, body);
    });
    app.post('/r', (request) => {
      try {
        return { key: spec?.extractor(request, null) ?? null };
      } catch (err) {
        return { error: isWarmrouteError(err) ? err.code : String(err) };
      }
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
  });

  async function carried(
    config: Config,
    source: KeySource,
    key: string,
    headerNameCase: (name: string) => string,
  ): Promise<unknown> {
    spec = createKeyExtractor(config.routes[0]?.key, config.keyHeader);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    let payload = '{}';
    if (source.from === 'header') headers[headerNameCase(source.name)] = key;
    if (source.from === 'cookie') headers['cookie'] = `${source.name}=${key}; other=1`;
    if (source.from === 'json') payload = jsonBodyFor(source.name, key);
    const res = await app.inject({ method: 'POST', url: '/r', headers, payload });
    return res.json();
  }

  // Names drawn mostly from the characters that matter: token characters, both
  // cases, the separators each rule refuses, and some non-ASCII.
  const nameChar = fc.constantFrom(
    ...'abcxyz019-_.!#$%&\'*+^`|~ABCXYZ =;:,"()/\\?@[]{}\té_'.split(''),
  );
  const source = fc.record({
    from: fc.constantFrom('header' as const, 'cookie' as const, 'json' as const),
    name: fc.oneof(
      fc.string({ unit: nameChar, minLength: 1, maxLength: 12 }),
      fc.stringMatching(/^[a-z0-9-]{1,20}$/),
      fc.stringMatching(/^[a-z_]{1,6}(\.[a-z0-9_]{1,6}){0,3}$/),
      fc.constantFrom('constructor.name', '__proto__', 'toString', 'a.__proto__.b'),
    ),
  });

  it('a request carrying the header, cookie or JSON field yields the key; a refused name is reported', async () => {
    let accepted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(
        source,
        fc.stringMatching(/^[A-Za-z0-9]{1,16}$/),
        fc.func(fc.boolean()),
        async (drawn, key, upper) => {
          let config: Config;
          try {
            config = loadConfig(envWithKey(drawn));
          } catch (err) {
            // Refused: in the one config message, naming the route and the key source.
            if (!isWarmrouteError(err) || err.code !== 'WR_ERR_CONFIG') throw err;
            expect(err.message).toContain(`routes (/r): key `);
            refused++;
            return;
          }
          accepted++;
          // Clients may write a header name in any case.
          const anyCase = (name: string): string =>
            name.replace(/[a-z]/g, (c, at: number) => (upper(at) ? c.toUpperCase() : c));
          expect(await carried(config, drawn, key, anyCase)).toEqual({ key });
        },
      ),
      { numRuns: 300, seed: 5_2026 },
    );
    // Both branches must have been exercised for the property to say anything.
    expect(accepted).toBeGreaterThan(50);
    expect(refused).toBeGreaterThan(20);
  });

  it('a request carrying the WARMROUTE_KEY_HEADER the loader accepts yields the key', async () => {
    let accepted = 0;
    await fc.assert(
      fc.asyncProperty(
        source.map((drawn) => drawn.name),
        fc.stringMatching(/^[A-Za-z0-9]{1,16}$/),
        async (name, key) => {
          let config: Config;
          try {
            config = loadConfig({ WARMROUTE_KEY_HEADER: name });
          } catch (err) {
            if (!isWarmrouteError(err) || err.code !== 'WR_ERR_CONFIG') throw err;
            expect(err.message).toContain('WARMROUTE_KEY_HEADER');
            return;
          }
          accepted++;
          // No route key: the route reads the default key header.
          const routeConfig = loadConfig({
            WARMROUTE_KEY_HEADER: name,
            WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/r', function: 'f', mode: 'affinity' }]),
          });
          expect(routeConfig.keyHeader).toBe(config.keyHeader);
          const drawn: KeySource = { from: 'header', name };
          expect(await carried(routeConfig, drawn, key, (n) => n.toUpperCase())).toEqual({ key });
        },
      ),
      { numRuns: 200, seed: 12_2026 },
    );
    expect(accepted).toBeGreaterThan(30);
  });

  // Pins what the extractor already does: inherited members are functions or
  // objects, never the string or number a key must be.
  it('a JSON field path finds own fields only, not what every object inherits', async () => {
    const config = loadConfig(envWithKey({ from: 'json', name: 'constructor.name' }));
    spec = createKeyExtractor(config.routes[0]?.key, config.keyHeader);
    const headers = { 'content-type': 'application/json' };
    const missing = await app.inject({ method: 'POST', url: '/r', headers, payload: '{}' });
    expect(missing.json()).toEqual({ key: null });
    const present = await app.inject({
      method: 'POST',
      url: '/r',
      headers,
      payload: '{"constructor":{"name":"k1"}}',
    });
    expect(present.json()).toEqual({ key: 'k1' });
  });
});
