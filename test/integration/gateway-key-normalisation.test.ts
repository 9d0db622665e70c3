import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { normalizeKey, readKey } from '../../src/directory/validate-key.js';
import { startKeySourceGateway, type KeySourceGateway } from '../helpers/key-source-gateway.js';
import { errorCodeOf, rawRequest, type RawResponse } from '../helpers/raw-http.js';

/**
 * One key normalisation for every key source (src/directory/validate-key.ts):
 * the same text sent in a header (as UTF-8 bytes), a cookie (percent-encoded
 * or raw UTF-8), a path parameter or a JSON field is the same key, lands on
 * the same tenant, and a key the rules refuse is refused by every source
 * without invoking anything.
 */

// Control bytes Node's HTTP parser refuses in a header value (HTAB is allowed).
// eslint-disable-next-line no-control-regex
const HEADER_PARSER_REFUSES = /[\x00-\x08\x0a-\x1f\x7f]/;

type Source = 'header' | 'cookie' | 'cookie-raw' | 'path' | 'json';

function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

async function send(gw: KeySourceGateway, source: Source, key: string): Promise<RawResponse> {
  switch (source) {
    case 'header':
      return rawRequest(gw.url, { target: '/', headers: [['x-affinity-key', utf8(key)]] });
    case 'cookie':
      return rawRequest(gw.url, {
        target: '/ck/x',
        headers: [['cookie', `other=1; sid=${encodeURIComponent(key)}; z=2`]],
      });
    case 'cookie-raw':
      return rawRequest(gw.url, {
        target: '/ck/x',
        headers: [['cookie', Buffer.concat([utf8('sid='), utf8(key)])]],
      });
    case 'path':
      return rawRequest(gw.url, { target: `/p/${encodeURIComponent(key)}/x` });
    case 'json':
      return rawRequest(gw.url, {
        method: 'POST',
        target: '/j/x',
        headers: [['content-type', 'application/json']],
        body: JSON.stringify({ doc: { k: key } }),
      });
  }
}

/**
 * Which sources can carry `text` at all: a header line cannot hold CR, LF or
 * NUL; a raw cookie value no `;`, `,` or quote.
 */
function sourcesFor(text: string): Source[] {
  // A lone surrogate has no UTF-8 bytes: only JSON (as a \u escape) can carry one.
  if (/\p{Cs}/u.test(text)) return ['json'];
  const sources: Source[] = ['path', 'json', 'cookie'];
  if (!/[\r\n\0]/.test(text)) sources.push('header');
  if (!/[\r\n\0;,"]/.test(text) && text.trim() === text) sources.push('cookie-raw');
  return sources;
}

function expectation(text: string): { key: string } | { code: string } {
  try {
    return { key: readKey(text, 'test') };
  } catch (err) {
    return { code: (err as { code: string }).code };
  }
}

describe('gateway: one key normalisation for every key source', () => {
  let gw: KeySourceGateway;
  beforeAll(async () => {
    gw = await startKeySourceGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  async function tenantsOf(text: string): Promise<Map<Source, RawResponse>> {
    const out = new Map<Source, RawResponse>();
    for (const source of sourcesFor(text)) out.set(source, await send(gw, source, text));
    return out;
  }

  it('"victim " and "victim" are one key from every source; so are NFC and NFD spellings', async () => {
    const tenants = new Set<string>();
    for (const text of ['victim', 'victim ', ' victim', ' victim  ']) {
      for (const [source, res] of await tenantsOf(text)) {
        expect(res.status, `${source} ${JSON.stringify(text)}`).toBe(200);
        tenants.add(res.headers['x-affinity-tenant'] ?? 'none');
      }
    }
    expect(tenants.size).toBe(1);

    const accented = new Set<string>();
    for (const text of ['caf\u00e9 \u20ac', 'cafe\u0301 \u20ac']) {
      for (const [source, res] of await tenantsOf(text)) {
        expect(res.status, `${source} ${JSON.stringify(text)}`).toBe(200);
        accented.add(res.headers['x-affinity-tenant'] ?? 'none');
      }
    }
    expect(accented.size).toBe(1);
    expect([...accented][0]).not.toBe([...tenants][0]);
  });

  it('a cookie key above U+00FF (the crash report: sid=%E2%82%AC) is served, and equals the header key', async () => {
    const viaCookie = await send(gw, 'cookie', '\u20ac');
    const viaHeader = await send(gw, 'header', '\u20ac');
    expect(viaCookie.status).toBe(200);
    expect(viaCookie.headers['x-affinity-tenant']).toBe(viaHeader.headers['x-affinity-tenant']);
  });

  it('two key headers are refused (Node would join them into the key "a, b"); one key "a, b" is a key', async () => {
    const before = gw.invocations();
    const twice = await rawRequest(gw.url, {
      target: '/',
      headers: [
        ['x-affinity-key', 'a'],
        ['X-Affinity-Key', 'b'],
      ],
    });
    expect(twice.status).toBe(400);
    expect(errorCodeOf(twice)).toBe('WR_ERR_KEY_INVALID');
    expect(gw.invocations()).toBe(before);
    const once = await rawRequest(gw.url, { target: '/', headers: [['x-affinity-key', 'a, b']] });
    expect(once.status).toBe(200);
  });

  it('a JSON-field route answers a body that is not JSON with WR_ERR_INVALID_JSON, and an empty one with WR_ERR_KEY_MISSING', async () => {
    const before = gw.invocations();
    const broken = await rawRequest(gw.url, {
      method: 'POST',
      target: '/j/x',
      headers: [['content-type', 'application/json']],
      body: '{"doc":',
    });
    expect(broken.status).toBe(400);
    expect(errorCodeOf(broken)).toBe('WR_ERR_INVALID_JSON');
    const empty = await rawRequest(gw.url, { method: 'POST', target: '/j/x', body: '' });
    expect(empty.status).toBe(400);
    expect(errorCodeOf(empty)).toBe('WR_ERR_KEY_MISSING');
    const noField = await rawRequest(gw.url, {
      method: 'POST',
      target: '/j/x',
      body: '{"doc":{}}',
    });
    expect(errorCodeOf(noField)).toBe('WR_ERR_KEY_MISSING');
    expect(gw.invocations()).toBe(before);
  });

  it('header bytes that are not UTF-8 are refused with WR_ERR_KEY_INVALID and invoke nothing', async () => {
    const before = gw.invocations();
    for (const bytes of [[0xff], [0x61, 0xe9, 0x62], [0xc3], [0xed, 0xa0, 0x80]]) {
      const res = await rawRequest(gw.url, {
        target: '/',
        headers: [['x-affinity-key', Buffer.from(bytes)]],
      });
      expect(res.status).toBe(400);
      expect(errorCodeOf(res)).toBe('WR_ERR_KEY_INVALID');
    }
    expect(gw.invocations()).toBe(before);
  });

  it('property: every source agrees on each text — same tenant when valid, same 4xx code when not, nothing invoked on a 4xx', async () => {
    const text = fc.oneof(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }),
      fc.string({ unit: 'binary', minLength: 0, maxLength: 12 }),
      fc
        .tuple(
          fc.constantFrom('', ' ', '  ', '\t'),
          fc.string({ unit: 'grapheme-composite', minLength: 1, maxLength: 6 }),
          fc.constantFrom('', ' ', '\t '),
        )
        .map(([a, b, c]) => a + b.normalize('NFD') + c),
      fc.constantFrom('\u0000', 'a\r\nb', '\u0085', '\ud800', 'x\udfff', 'é'.repeat(513)),
    );
    await fc.assert(
      fc.asyncProperty(text, async (t) => {
        const expected = expectation(t);
        const tenants = new Set<string>();
        for (const [source, res] of await tenantsOf(t)) {
          const label = `${source} ${JSON.stringify(t)}`;
          if ('key' in expected) {
            expect(res.status, label).toBe(200);
            tenants.add(res.headers['x-affinity-tenant'] ?? 'none');
          } else {
            const before = gw.invocations();
            expect(res.status, label).toBeGreaterThanOrEqual(400);
            expect(res.status, label).toBeLessThan(500);
            // A control byte in a header line is refused by the HTTP parser
            // itself, before any route runs: a bad request, not a bad key.
            const parserRefuses =
              (source === 'header' || source === 'cookie-raw') && HEADER_PARSER_REFUSES.test(t);
            expect(errorCodeOf(res), label).toMatch(
              parserRefuses ? /^WR_ERR_/ : /^WR_ERR_KEY_(INVALID|MISSING)$/,
            );
            expect(gw.invocations(), label).toBe(before);
          }
        }
        if ('key' in expected) {
          expect(tenants.size, JSON.stringify(t)).toBe(1);
          expect(normalizeKey(expected.key)).toBe(expected.key);
        }
      }),
      { seed: 20261204, numRuns: 60 },
    );
  });
});
