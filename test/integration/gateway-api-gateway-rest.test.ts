import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../../src/create-gateway.js';
import { packageRoot } from '../../src/paths.js';
import { rawRequest } from '../helpers/raw-http.js';

/**
 * Proxy routes behave like API Gateway REST with a Lambda proxy integration
 * (issue 12): the default Content-Type, `binaryMediaTypes`, the bare
 * prefix against `{proxy+}`, and the path the prefix is cut from. End to end: a listening gateway, the embedded
 * local host, the shipped `counter` example and an echo function.
 */

// Reports the event it got, or (?mode=…) answers with bytes or a null Content-Type.
const ECHO = `
export const handler = async (event) => {
  const mode = event.queryStringParameters?.mode;
  if (mode === 'bytes') {
    const bytes = Buffer.from(event.body ?? '', event.isBase64Encoded ? 'base64' : 'utf8');
    return {
      statusCode: 200,
      headers: { 'Content-Type': 'image/png' },
      body: bytes.toString('base64'),
      isBase64Encoded: true,
    };
  }
  if (mode === 'no-type') return { statusCode: 200, headers: { 'Content-Type': null }, body: 'x' };
  if (mode === 'empty-type') return { statusCode: 200, headers: { 'Content-Type': '' }, body: 'x' };
  return {
    statusCode: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      resource: event.resource,
      path: event.path,
      pathParameters: event.pathParameters,
      body: event.body,
      isBase64Encoded: event.isBase64Encoded,
    }),
  };
};
`;

interface EchoedEvent {
  resource: string;
  path: string;
  pathParameters: Record<string, string> | null;
  body: string | null;
  isBase64Encoded: boolean;
}

const KEY = { 'x-affinity-key': 'apigw-rest' };
const NOT_UTF8 = Buffer.from([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0xff, 0xfe, 0x00, 0x80,
]);

describe('proxy routes behave like API Gateway REST (Lambda proxy integration)', () => {
  let gateway: Gateway;
  let url: string;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wr-apigw-rest-'));
    await mkdir(join(dir, 'echo'));
    await writeFile(join(dir, 'echo', 'index.mjs'), ECHO);
    const fn = (name: string, codeDir: string) => ({
      name,
      codeDir,
      tenancy: 'PER_TENANT',
      memoryMb: 128,
      timeoutSeconds: 3,
    });
    await writeFile(
      join(dir, 'functions.json'),
      JSON.stringify({
        functions: [
          fn('echo', 'echo'),
          fn('counter', join(packageRoot, 'lambda/examples/counter')),
        ],
      }),
    );
    gateway = await createGateway({
      PATH: process.env.PATH ?? '',
      WARMROUTE_LOCAL_PORT: '0',
      WARMROUTE_FUNCTIONS_FILE: join(dir, 'functions.json'),
      WARMROUTE_SECRET: 'apigw-rest-secret-0123456789abcdef',
      WARMROUTE_LOG_LEVEL: 'silent',
      WARMROUTE_ROUTES: JSON.stringify([
        { prefix: '/count', function: 'counter', mode: 'affinity' },
        { prefix: '/echo', function: 'echo', mode: 'affinity' },
        {
          prefix: '/files',
          function: 'echo',
          mode: 'affinity',
          pathTemplate: '/{proxy+}',
          binaryMediaTypes: ['image/*'],
        },
        {
          prefix: '/pk',
          function: 'echo',
          mode: 'affinity',
          pathTemplate: '/{k}/{proxy+}',
          key: { from: 'path', name: 'k' },
        },
      ]),
    });
    url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function echo(
    path: string,
    init: { method?: 'GET' | 'POST'; headers?: Record<string, string>; body?: Buffer } = {},
  ) {
    const res = await request(`${url}${path}`, { ...init, headers: { ...KEY, ...init.headers } });
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(200);
    return JSON.parse(text) as EchoedEvent;
  }

  it('a result without Content-Type goes out as application/json (the counter example)', async () => {
    const res = await request(`${url}/count`, { headers: KEY });
    expect(res.headers['content-type']).toBe('application/json');
    expect(((await res.body.json()) as { counter: number }).counter).toBe(0);
  });

  it('a Content-Type the function sets to null is not sent', async () => {
    const res = await request(`${url}/echo?mode=no-type`, { headers: KEY });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBeUndefined();
    expect(await res.body.text()).toBe('x');
  });

  it('an empty Content-Type counts as none: application/json, not application/octet-stream', async () => {
    const res = await request(`${url}/echo?mode=empty-type`, { headers: KEY });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(await res.body.text()).toBe('x');
  });

  it('without pathTemplate, the bare prefix is its own resource and {proxy+} takes the rest', async () => {
    expect(await echo('/echo')).toMatchObject({ resource: '/echo', pathParameters: null });
    expect(await echo('/echo/')).toMatchObject({ resource: '/echo', pathParameters: null });
    expect(await echo('/echo/a/b%20c')).toMatchObject({
      resource: '/echo/{proxy+}',
      pathParameters: { proxy: 'a/b c' },
    });
  });

  // The prefix was cut off the raw target, which the router does not route by:
  // `/e%63ho` gave {proxy: 'ho'}, an absolute-form target {proxy: '/127.0.0.1/echo/a'}.
  it('the prefix is cut off the path the router matched; event.path stays as sent', async () => {
    expect(await echo('/e%63ho')).toEqual({
      resource: '/echo',
      path: '/e%63ho',
      pathParameters: null,
      body: null,
      isBase64Encoded: false,
    });
    expect(await echo('/%65cho/a')).toMatchObject({
      resource: '/echo/{proxy+}',
      path: '/%65cho/a',
      pathParameters: { proxy: 'a' },
    });
    expect(await echo('/p%6B/k1/a%2Fb')).toMatchObject({
      resource: '/pk/{k}/{proxy+}',
      path: '/p%6B/k1/a%2Fb',
      pathParameters: { k: 'k1', proxy: 'a/b' },
    });
  });

  it('an absolute-form target is routed and presented by its path', async () => {
    const res = await rawRequest(url, {
      target: `${url}/echo/a?x=1`,
      headers: Object.entries(KEY),
    });
    expect(res.status, res.body.toString()).toBe(200);
    expect(JSON.parse(res.body.toString()) as EchoedEvent).toMatchObject({
      resource: '/echo/{proxy+}',
      path: '/echo/a',
      pathParameters: { proxy: 'a' },
    });
  });

  // Was {proxy: 'a#frag'} with path '/echo/a': the parameters and the path disagreed.
  it('a raw # ends the path for the parameters as for event.path', async () => {
    for (const [target, expected] of [
      [
        '/echo/a#frag',
        { resource: '/echo/{proxy+}', path: '/echo/a', pathParameters: { proxy: 'a' } },
      ],
      ['/echo#frag', { resource: '/echo', path: '/echo', pathParameters: null }],
      [
        '/pk/k1/a#/b',
        { resource: '/pk/{k}/{proxy+}', path: '/pk/k1/a', pathParameters: { k: 'k1', proxy: 'a' } },
      ],
    ] as const) {
      const res = await rawRequest(url, { target, headers: Object.entries(KEY) });
      expect(res.status, `${target}: ${res.body.toString()}`).toBe(200);
      expect(JSON.parse(res.body.toString()) as EchoedEvent, target).toMatchObject(expected);
    }
  });

  it('with pathTemplate /{proxy+}, the bare prefix has no method: 404, nothing invoked', async () => {
    const before = gateway.localHost?.stats().invocations.echo ?? 0;
    const res = await request(`${url}/files`, { headers: KEY });
    expect(res.statusCode).toBe(404);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toBe(
      'WR_ERR_ROUTE_NOT_FOUND',
    );
    // The key is checked first: without one it is the key error, as on every route.
    const keyless = await request(`${url}/files`);
    expect(keyless.statusCode).toBe(400);
    expect(((await keyless.body.json()) as { error: { code: string } }).error.code).toBe(
      'WR_ERR_KEY_MISSING',
    );
    expect(gateway.localHost?.stats().invocations.echo ?? 0).toBe(before);
  });

  it('without binary media types a UTF-8 body is text, whatever its type', async () => {
    const event = await echo('/echo/up', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: Buffer.from('plain ascii'),
    });
    expect(event).toMatchObject({ body: 'plain ascii', isBase64Encoded: false });
  });

  it('a body that is not UTF-8 arrives base64, byte for byte, even with no binary type', async () => {
    const event = await echo('/echo/up', {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: NOT_UTF8,
    });
    expect(event.isBase64Encoded).toBe(true);
    expect(Buffer.from(event.body ?? '', 'base64').equals(NOT_UTF8)).toBe(true);
  });

  it('binary media types: base64 request in, bytes out when Accept matches', async () => {
    const res = await request(`${url}/files/up?mode=bytes`, {
      method: 'POST',
      headers: { ...KEY, 'content-type': 'image/png', accept: 'image/png' },
      body: NOT_UTF8,
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('image/png');
    expect(Buffer.from(await res.body.arrayBuffer()).equals(NOT_UTF8)).toBe(true);
  });

  it('binary media types: the base64 text when the first Accept type does not match', async () => {
    const res = await request(`${url}/files/up?mode=bytes`, {
      method: 'POST',
      headers: { ...KEY, 'content-type': 'image/png', accept: 'text/html, image/png' },
      body: NOT_UTF8,
    });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe(NOT_UTF8.toString('base64'));
  });

  it('binary media types: a matching request body is base64 even when it is ASCII', async () => {
    const event = await echo('/files/up', {
      method: 'POST',
      headers: { 'content-type': 'image/svg+xml' },
      body: Buffer.from('<svg/>'),
    });
    expect(event).toMatchObject({
      body: Buffer.from('<svg/>').toString('base64'),
      isBase64Encoded: true,
    });
  });
});
