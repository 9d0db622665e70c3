import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, type WarmrouteApp } from '../../src/app.js';
import { loadConfig, type Env } from '../../src/config/load-config.js';
import { createDependencies, type GatewayDependencies } from '../../src/create-dependencies.js';
import { createGateway, type Gateway } from '../../src/create-gateway.js';
import { errorCatalogue } from '../../src/errors.js';
import { STATUS_PAGE_HEADERS } from '../../src/http/routes/status.js';
import { packageRoot } from '../../src/paths.js';
import { STATUS_PAGE_DIR } from '../../src/status/status-assets.js';
import type { StatusDocument } from '../../src/status/status-document.js';
import { errorCodeOf, rawRequest, type RawResponse } from '../helpers/raw-http.js';

/**
 * The status page's HTTP side (issue 17): the page, its two assets and the
 * JSON document on the operator listener, with a restrictive CSP; nothing a
 * URL says is ever joined to a directory; the document counts real traffic
 * through the embedded local host and never names a key or a tenant.
 */

const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ADMIN_TOKEN = 'status-route-admin-token-0123456789';

/** A page folder like the build's, and a secret beside it and in it that no URL may reach. */
interface Fixture {
  readonly root: string;
  readonly pageDir: string;
  readonly files: Readonly<Record<'index.html' | 'status.js' | 'status.css', Buffer>>;
  /** Strings written into files outside the allow-list. */
  readonly secrets: readonly string[];
}

function makeFixture(): Fixture {
  const root = mkdtempSync(join(tmpdir(), 'wr-status-page-'));
  const pageDir = join(root, 'status-page');
  mkdirSync(pageDir);
  const files = {
    'index.html': Buffer.from(
      '<!doctype html><html><head><link rel="stylesheet" href="/v1/status/assets/status.css">' +
        '<script type="module" src="/v1/status/assets/status.js"></script></head><body></body></html>',
    ),
    'status.js': Buffer.from(`console.log(${JSON.stringify(randomBytes(8).toString('hex'))});`),
    'status.css': Buffer.from(`body { color: #${randomBytes(3).toString('hex')}; }`),
  };
  for (const [name, body] of Object.entries(files)) writeFileSync(join(pageDir, name), body);
  const secrets = [0, 1, 2, 3].map(() => `secret-${randomBytes(12).toString('hex')}`);
  writeFileSync(join(root, 'secret.txt'), secrets[0] ?? '');
  writeFileSync(join(pageDir, 'secret.txt'), secrets[1] ?? '');
  writeFileSync(join(pageDir, 'status.js.map'), secrets[2] ?? '');
  writeFileSync(join(root, 'status.js'), secrets[3] ?? '');
  return { root, pageDir, files, secrets };
}

interface Built {
  readonly built: WarmrouteApp;
  readonly deps: GatewayDependencies;
  close(): Promise<void>;
}

/** buildApp over an endpoint nobody listens on (nothing here invokes), with the page read from `pageDir`. */
async function buildWithPage(pageDir: string, env: Env = {}): Promise<Built> {
  const config = loadConfig({
    AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
    WARMROUTE_LOG_LEVEL: 'silent',
    ...env,
  });
  const logger = pino({ level: 'silent' });
  const deps = await createDependencies(config, { logger, endpoint: config.lambdaEndpoint });
  const built = buildApp(config, { ...deps, statusPageDir: pageDir });
  return {
    built,
    deps,
    async close() {
      await built.close();
      await deps.close();
    },
  };
}

function expectPageHeaders(headers: Record<string, unknown>, label: string): void {
  expect(headers['content-security-policy'], label).toBe(CSP);
  expect(headers['x-content-type-options'], label).toBe('nosniff');
  expect(headers['referrer-policy'], label).toBe('no-referrer');
  expect(headers['cross-origin-resource-policy'], label).toBe('same-origin');
  expect(headers['cache-control'], label).toBe('no-cache');
  expect(headers['etag'], label).toMatch(/^"[A-Za-z0-9_-]{20,}"$/);
}

function expectErrorContract(
  res: { statusCode: number; headers: Record<string, unknown>; body: string },
  code: keyof typeof errorCatalogue,
  label: string,
): void {
  expect(res.statusCode, label).toBe(errorCatalogue[code].status);
  expect(res.headers['content-type'], label).toMatch(/^application\/json/);
  const parsed = JSON.parse(res.body) as { error: { code: string; message: string } };
  expect(parsed.error.code, label).toBe(code);
  expect(typeof parsed.error.message, label).toBe('string');
}

describe('status page routes: page, assets and headers (a fixture page folder)', () => {
  let fixture: Fixture;
  let app: Built;
  /** The app on a real socket, for targets sent byte for byte. */
  let url: string;
  beforeAll(async () => {
    fixture = makeFixture();
    app = await buildWithPage(fixture.pageDir);
    url = await app.built.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app.close();
    rmSync(fixture.root, { recursive: true, force: true });
  });

  it('serves the page and both assets with their types, the CSP and the security headers', async () => {
    const cases = [
      { url: '/v1/status', file: 'index.html', type: /^text\/html; charset=utf-8$/ },
      { url: '/v1/status/assets/status.js', file: 'status.js', type: /^text\/javascript/ },
      { url: '/v1/status/assets/status.css', file: 'status.css', type: /^text\/css/ },
    ] as const;
    for (const { url, file, type } of cases) {
      // Act
      const res = await app.built.app.inject({ method: 'GET', url });

      // Assess
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type'], url).toMatch(type);
      expectPageHeaders(res.headers, url);
      expect(res.rawPayload.equals(fixture.files[file]), url).toBe(true);
    }
    expect(STATUS_PAGE_HEADERS['content-security-policy']).toBe(CSP);
  });

  it('answers If-None-Match with the current ETag by a bodiless 304, and a stale one with the file', async () => {
    for (const url of ['/v1/status', '/v1/status/assets/status.js']) {
      // Prepare
      const first = await app.built.app.inject({ method: 'GET', url });
      const etag = String(first.headers['etag']);

      // Act
      const same = await app.built.app.inject({
        method: 'GET',
        url,
        headers: { 'if-none-match': `"other", ${etag}` },
      });
      const stale = await app.built.app.inject({
        method: 'GET',
        url,
        headers: { 'if-none-match': '"not-the-current-one"' },
      });

      // Assess
      expect(same.statusCode, url).toBe(304);
      expect(same.rawPayload.length, url).toBe(0);
      expect(same.headers['etag'], url).toBe(etag);
      expect(same.headers['content-security-policy'], url).toBe(CSP);
      expect(stale.statusCode, url).toBe(200);
      expect(stale.rawPayload.equals(first.rawPayload), url).toBe(true);
    }
  });

  it('serves what it read at start-up: a file changed on disk later is not read by a request', async () => {
    // Prepare
    const before = await app.built.app.inject({ url: '/v1/status/assets/status.js' });
    writeFileSync(join(fixture.pageDir, 'status.js'), 'changed on disk');
    rmSync(join(fixture.pageDir, 'status.css'));

    // Act
    const js = await app.built.app.inject({ url: '/v1/status/assets/status.js' });
    const css = await app.built.app.inject({ url: '/v1/status/assets/status.css' });

    // Assess
    expect(js.body).toBe(before.body);
    expect(js.rawPayload.equals(fixture.files['status.js'])).toBe(true);
    expect(css.statusCode).toBe(200);
    expect(css.rawPayload.equals(fixture.files['status.css'])).toBe(true);
  });

  it('HEAD answers like GET without a body', async () => {
    for (const url of ['/v1/status', '/v1/status/assets/status.css', '/v1/status.json']) {
      // Act
      const get = await app.built.app.inject({ method: 'GET', url });
      const head = await app.built.app.inject({ method: 'HEAD', url });

      // Assess
      expect(head.statusCode, url).toBe(200);
      expect(head.body, url).toBe('');
      expect(head.headers['content-type'], url).toBe(get.headers['content-type']);
      expect(head.headers['cache-control'], url).toBe(get.headers['cache-control']);
      if (url !== '/v1/status.json') {
        expect(head.headers['etag'], url).toBe(get.headers['etag']);
        expect(head.headers['content-security-policy'], url).toBe(CSP);
      }
    }
  });

  it('other methods get the 405 JSON with Allow: GET, HEAD, and invoke nothing', async () => {
    for (const url of ['/v1/status', '/v1/status.json', '/v1/status/assets/status.js']) {
      for (const method of ['POST', 'PUT', 'DELETE', 'PATCH'] as const) {
        // Act
        const res = await app.built.app.inject({ method, url, payload: '{}' });

        // Assess
        expectErrorContract(res, 'WR_ERR_METHOD_NOT_ALLOWED', `${method} ${url}`);
        expect(String(res.headers['allow']).split(', ').sort(), `${method} ${url}`).toEqual([
          'GET',
          'HEAD',
        ]);
      }
    }
  });

  it('a name outside the allow-list is a 404 JSON, whatever the spelling of a path to another file', async () => {
    // Prepare: over a real socket, so the bytes reach the router as sent.
    const targets = [
      '/v1/status/assets/index.html',
      '/v1/status/assets/secret.txt',
      '/v1/status/assets/status.js.map',
      '/v1/status/assets/STATUS.JS',
      '/v1/status/assets/status.js%00',
      '/v1/status/assets/status.js%2f',
      '/v1/status/assets/__proto__',
      '/v1/status/assets/constructor',
      '/v1/status/assets/hasOwnProperty',
      '/v1/status/assets/..%2fsecret.txt',
      '/v1/status/assets/..%2F..%2Fsecret.txt',
      '/v1/status/assets/%2e%2e%2fsecret.txt',
      '/v1/status/assets/%2e%2e%2f%2e%2e%2fstatus.js',
      '/v1/status/assets/..%252fsecret.txt',
      '/v1/status/assets/%252e%252e%252fsecret.txt',
      '/v1/status/assets/..\\secret.txt',
      '/v1/status/assets/..%5csecret.txt',
      '/v1/status/assets/..%5c..%5cstatus.js',
      '/v1/status/assets/../secret.txt',
      '/v1/status/assets/../../status.js',
      '/v1/status/assets/./status.js',
      '/v1/status/assets//status.js',
      '/v1/status/assets/',
      '/v1/status/assets',
      '/v1/status/../status-page/secret.txt',
      '/v1/status/secret.txt',
      '/v1/status/',
    ];
    for (const target of targets) {
      // Act
      const res = await rawRequest(url, { method: 'GET', target });

      // Assess: refused with the error contract, nothing of any file but the allowed ones.
      const label = `GET ${target} → ${res.status} ${res.body.toString('utf8').slice(0, 200)}`;
      expect([400, 404], label).toContain(res.status);
      expect(errorCodeOf(res), label).toMatch(/^WR_ERR_(ROUTE_NOT_FOUND|BAD_REQUEST)$/);
      expect(res.headers['content-type'], label).toMatch(/^application\/json/);
      for (const secret of fixture.secrets)
        expect(res.body.toString('latin1'), label).not.toContain(secret);
    }
  });

  it('property: no path under /v1/status/ answers 5xx or any file outside the allow-list', async () => {
    // Prepare: segments built from the characters traversal tricks are made of.
    const piece = fc.constantFrom(
      '..',
      '.',
      '/',
      '\\',
      '%2f',
      '%2F',
      '%5c',
      '%2e',
      '%252f',
      '%25',
      '%00',
      '%',
      '~',
      'assets',
      'status.js',
      'status.css',
      'index.html',
      'secret.txt',
      'status-page',
      '?x=1',
      '#f',
      ';',
      '%E2%80%AE',
    );
    const segment = fc.oneof(
      fc.array(piece, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
      fc.string({ unit: 'grapheme-ascii', maxLength: 12 }).map((s) => encodeURIComponent(s)),
    );
    const target = fc
      .array(segment, { minLength: 0, maxLength: 4 })
      .map((segments) => `/v1/status/${segments.join('/')}`);
    const allowed = new Set(Object.values(fixture.files).map((b) => b.toString('latin1')));

    // Act / Assess
    await fc.assert(
      fc.asyncProperty(target, fc.constantFrom('GET', 'HEAD'), async (path, method) => {
        const res: RawResponse = await rawRequest(url, { method, target: path });
        const body = res.body.toString('latin1');
        const label = `${method} ${path} → ${res.status} ${body.slice(0, 120)}`;
        expect(res.status, label).toBeLessThan(500);
        for (const secret of fixture.secrets) expect(body, label).not.toContain(secret);
        if (res.status === 200 && method === 'GET') {
          expect(allowed.has(body), label).toBe(true);
        } else if (res.status >= 400 && method === 'GET') {
          expect(errorCodeOf(res), label).toBeDefined();
        }
      }),
      { numRuns: 300, seed: 17, endOnFailure: true },
    );
  });
});

describe('status page routes: without a built page', () => {
  let emptyDir: string;
  let app: Built;
  beforeAll(async () => {
    emptyDir = mkdtempSync(join(tmpdir(), 'wr-status-empty-'));
    app = await buildWithPage(emptyDir);
  });
  afterAll(async () => {
    await app.close();
    rmSync(emptyDir, { recursive: true, force: true });
  });

  it('answers the page and its assets 503 WR_ERR_STATUS_PAGE_UNAVAILABLE saying to build; status.json still works', async () => {
    for (const url of [
      '/v1/status',
      '/v1/status/assets/status.js',
      '/v1/status/assets/status.css',
    ]) {
      // Act
      const res = await app.built.app.inject({ method: 'GET', url });

      // Assess
      expectErrorContract(res, 'WR_ERR_STATUS_PAGE_UNAVAILABLE', url);
      const { message } = res.json<{ error: { message: string } }>().error;
      expect(message, url).toContain('run npm run build');
      expect(message, url).not.toContain(emptyDir); // the server's paths stay on the server
    }
    const unknown = await app.built.app.inject({ url: '/v1/status/assets/other.js' });
    expectErrorContract(unknown, 'WR_ERR_ROUTE_NOT_FOUND', 'unknown asset');
    const json = await app.built.app.inject({ url: '/v1/status.json' });
    expect(json.statusCode).toBe(200);
    expect(json.json<StatusDocument>().v).toBe(1);
  });
});

describe('status.json under a flood of polls', () => {
  let emptyDir: string;
  let app: Built;
  beforeAll(async () => {
    emptyDir = mkdtempSync(join(tmpdir(), 'wr-status-flood-'));
    app = await buildWithPage(emptyDir);
  });
  afterAll(async () => {
    await app.close();
    rmSync(emptyDir, { recursive: true, force: true });
  });

  it('answers concurrent polls from one document read, with nosniff and a JSON type', async () => {
    // Prepare: count the sampler's reads of the metrics (one per document built).
    const { invocations } = app.deps.metrics;
    const get = invocations.get.bind(invocations);
    let reads = 0;
    invocations.get = () => {
      reads += 1;
      return get();
    };
    await app.built.app.inject({ url: '/v1/status.json' }); // the sampler's baseline and a first document
    reads = 0;

    // Act
    const responses = await Promise.all(
      Array.from({ length: 300 }, () => app.built.app.inject({ url: '/v1/status.json' })),
    );

    // Assess: one build, or none when the first document is still being reused.
    expect(reads).toBeLessThanOrEqual(1);
    const bodies = new Set(responses.map((r) => r.body));
    expect(bodies.size).toBe(1);
    for (const res of responses) {
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['cache-control']).toBe('no-store');
    }
    expect(JSON.parse([...bodies][0] ?? '') as StatusDocument).toMatchObject({ v: 1 });
  });
});

describe('status page routes: placement with WARMROUTE_ADMIN_PORT', () => {
  let fixture: Fixture;
  let app: Built;
  beforeAll(async () => {
    fixture = makeFixture();
    app = await buildWithPage(fixture.pageDir, { WARMROUTE_ADMIN_PORT: '0' });
  });
  afterAll(async () => {
    await app.close();
    rmSync(fixture.root, { recursive: true, force: true });
  });

  it('serves the page, assets and JSON on the admin listener only; the public one answers 404', async () => {
    // Prepare
    const admin = app.built.admin ?? expect.fail('no admin instance with WARMROUTE_ADMIN_PORT');
    for (const url of ['/v1/status', '/v1/status/assets/status.js', '/v1/status.json']) {
      // Act
      const onAdmin = await admin.inject({ url });
      const onPublic = await app.built.app.inject({ url });

      // Assess
      expect(onAdmin.statusCode, url).toBe(200);
      expectErrorContract(onPublic, 'WR_ERR_ROUTE_NOT_FOUND', url);
    }
  });
});

interface Tally {
  hit: number;
  rehydrated: number;
  fresh: number;
  unknown: number;
}

describe('status.json after real traffic through the embedded local host', () => {
  let gateway: Gateway;
  let snapshotDir: string;
  beforeAll(async () => {
    snapshotDir = mkdtempSync(join(tmpdir(), 'wr-status-snapshots-'));
    gateway = await createGateway(
      {
        WARMROUTE_LOCAL_PORT: '0',
        WARMROUTE_LOG_LEVEL: 'silent',
        WARMROUTE_ADMIN_TOKEN: ADMIN_TOKEN,
        WARMROUTE_FUNCTIONS_FILE: join(
          packageRoot,
          'test/helpers/gateway-functions/functions.json',
        ),
        WARMROUTE_SNAPSHOT_DIR: snapshotDir,
      },
      { defaultMetrics: false },
    );
  });
  afterAll(async () => {
    await gateway.close();
    rmSync(snapshotDir, { recursive: true, force: true });
  });

  it('counts what was sent by state and function, shows the host’s environments, and names no key or tenant', async () => {
    // Prepare: random keys, so finding one in the document cannot be a coincidence.
    const keys = [0, 1, 2].map(() => `k-${randomBytes(12).toString('hex')}`);
    const failingKey = `k-${randomBytes(12).toString('hex')}`;
    const tally: Tally = { hit: 0, rehydrated: 0, fresh: 0, unknown: 0 };
    const tenants = new Set<string>();
    const send = async (fn: string, key: string): Promise<number> => {
      const res = await gateway.app.inject({
        method: 'POST',
        url: `/v1/functions/${fn}/invoke`,
        headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
        payload: '{}',
      });
      const state = String(res.headers['x-affinity-state'] ?? 'unknown') as keyof Tally;
      tally[state] += 1;
      const tenant = res.headers['x-affinity-tenant'];
      if (typeof tenant === 'string') tenants.add(tenant);
      return res.statusCode;
    };

    // Act: 1 + 2 + 3 calls of warm-counter (a fresh start per key, then hits), the last
    // key's environment evicted and called again (rehydrated from its snapshot), one failing call.
    const statuses: number[] = [];
    for (const [i, key] of keys.entries()) {
      for (let n = 0; n <= i; n++) statuses.push(await send('warm-counter', key));
    }
    const host = gateway.localHost ?? expect.fail('no embedded local host');
    const lastTenant = [...tenants].at(-1) ?? '';
    expect(host.evict({ function: 'warm-counter', tenant: lastTenant })).toBe(1);
    statuses.push(await send('warm-counter', keys[2] ?? ''));
    const failed = await send('fails', failingKey);
    // The admin route knows the key: the document must not.
    const explained = await gateway.app.inject({
      url: `/v1/keys/${keys[0] ?? ''}`,
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const res = await gateway.app.inject({ url: '/v1/status.json' });

    // Assess
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200, 200]);
    expect(failed).toBe(502);
    expect(explained.statusCode).toBe(200);
    expect(res.statusCode).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    const document = res.json<StatusDocument>();
    expect(document.v).toBe(1);
    expect(document.totals.requests).toEqual(tally);
    expect(document.totals.hitRatio).toBeCloseTo(3 / 7, 10);
    // A new environment each: three fresh keys and the rehydrated one.
    expect(document.totals.coldStarts).toBe(4);
    expect(document.totals.coldStartCostUsd).toBeGreaterThan(0);
    const warm = document.functions.find((f) => f.name === 'warm-counter');
    expect(warm?.requests).toEqual({ hit: 3, rehydrated: 1, fresh: 3, unknown: 0 });
    expect(warm?.hitRatio).toBeCloseTo(3 / 7, 10);
    expect(warm?.rehydrations).toBe(1);
    expect(warm?.errors).toBe(0);
    expect(document.functions.find((f) => f.name === 'fails')?.errors).toBe(1);
    expect(document.totals.errors).toBe(1);
    expect(document.directory).toMatchObject({ store: 'memory', status: 'ok' });
    const hostWarm = document.localHost?.functions.find((f) => f.name === 'warm-counter');
    expect(hostWarm).toEqual({ name: 'warm-counter', live: 3, idle: 3, evictions: 1 });
    // No key and no tenant ID anywhere in the document.
    const text = res.body;
    expect(tenants.size).toBeGreaterThanOrEqual(4);
    for (const secret of [...keys, failingKey, ...tenants]) expect(text).not.toContain(secret);
    for (const env of gateway.localHost?.environments() ?? []) {
      expect(text).not.toContain(env.tenant);
    }
  });
});

describe('status page routes: the page the build writes (dist/status-page)', () => {
  let app: Built;
  beforeAll(async () => {
    app = await buildWithPage(STATUS_PAGE_DIR);
  });
  afterAll(async () => {
    await app.close();
  });

  it('references only its own assets on the same origin, each served; no inline script or style', async () => {
    // Prepare
    const html = readFileSync(join(STATUS_PAGE_DIR, 'index.html'), 'utf8');

    // Act
    const page = await app.built.app.inject({ url: '/v1/status' });

    // Assess
    expect(page.statusCode, 'run npm run build first').toBe(200);
    expect(page.body).toBe(html);
    const references = [...html.matchAll(/\b(?:src|href)\s*=\s*["']?([^"'\s>]+)/gi)].map(
      (m) => m[1] ?? '',
    );
    expect(references.length).toBeGreaterThan(0);
    for (const reference of references) {
      // An inline empty icon (CSP img-src data:) spares the browser a /favicon.ico request.
      if (reference.startsWith('data:')) continue;
      const resolved = new URL(reference, 'http://gateway.test/v1/status');
      expect(resolved.origin, reference).toBe('http://gateway.test');
      expect(resolved.pathname, reference).toMatch(/^\/v1\/status\/assets\/status\.(js|css)$/);
      const asset = await app.built.app.inject({ url: resolved.pathname });
      expect(asset.statusCode, reference).toBe(200);
      expectPageHeaders(asset.headers, reference);
    }
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/i);
    expect(html).not.toMatch(/<style\b/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    expect(html).not.toMatch(/\son[a-z]+\s*=/i);
  });
});
