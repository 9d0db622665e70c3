import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface ErrorBody {
  error: { code: string; message: string };
}

describe('gateway: bad input gets a 4xx JSON error and invokes nothing', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  const cases: {
    name: string;
    method: 'GET' | 'POST' | 'PUT';
    path: string;
    headers?: Record<string, string>;
    body?: string | Buffer;
    status: number;
    code: string;
  }[] = [
    { name: 'no key (proxy)', method: 'GET', path: '/', status: 400, code: 'WR_ERR_KEY_MISSING' },
    {
      name: 'no key (rpc)',
      method: 'POST',
      path: '/v1/functions/counter/invoke',
      body: '{}',
      status: 400,
      code: 'WR_ERR_KEY_MISSING',
    },
    {
      name: 'oversized key',
      method: 'GET',
      path: '/',
      headers: { 'x-affinity-key': 'k'.repeat(1025) },
      status: 400,
      code: 'WR_ERR_KEY_INVALID',
    },
    {
      name: 'control character in key',
      method: 'POST',
      path: '/v1/functions/counter/invoke',
      headers: { 'x-affinity-key': 'a\tb' },
      body: '{}',
      status: 400,
      code: 'WR_ERR_KEY_INVALID',
    },
    {
      name: 'body over 6 MB',
      method: 'POST',
      path: '/v1/functions/counter/invoke',
      headers: { 'x-affinity-key': 'big', 'content-type': 'application/json' },
      body: Buffer.alloc(6 * 1024 * 1024 + 10, 0x20),
      status: 413,
      code: 'WR_ERR_PAYLOAD_TOO_LARGE',
    },
    {
      name: 'proxied body whose event exceeds 6 MB',
      method: 'POST',
      path: '/anything',
      headers: { 'x-affinity-key': 'big', 'content-type': 'application/octet-stream' },
      body: Buffer.alloc(5 * 1024 * 1024, 0xff),
      status: 413,
      code: 'WR_ERR_PAYLOAD_TOO_LARGE',
    },
    {
      name: 'malformed JSON on RPC',
      method: 'POST',
      path: '/v1/functions/counter/invoke',
      headers: { 'x-affinity-key': 'k', 'content-type': 'application/json' },
      body: '{"a":',
      status: 400,
      code: 'WR_ERR_INVALID_JSON',
    },
    {
      name: 'unknown function',
      method: 'POST',
      path: '/v1/functions/no-such-function/invoke',
      headers: { 'x-affinity-key': 'k' },
      body: '{}',
      status: 404,
      code: 'WR_ERR_FUNCTION_NOT_FOUND',
    },
    {
      name: 'admin without token',
      method: 'GET',
      path: '/v1/keys/blue',
      status: 401,
      code: 'WR_ERR_UNAUTHORIZED',
    },
    {
      name: 'admin with a wrong token',
      method: 'POST',
      path: '/v1/keys/blue/rotate',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}x` },
      status: 401,
      code: 'WR_ERR_UNAUTHORIZED',
    },
    {
      name: 'binding without target',
      method: 'PUT',
      path: '/v1/keys/blue/binding',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: '{}',
      status: 400,
      code: 'WR_ERR_BINDING_INVALID',
    },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.status} ${c.code}`, async () => {
      // Prepare
      const before = gw.invocations('counter');
      // Act
      const res = await request(`${gw.url}${c.path}`, {
        method: c.method,
        headers: c.headers ?? {},
        ...(c.body === undefined ? {} : { body: c.body }),
      });
      const text = await res.body.text();
      // Assess
      expect(res.statusCode, text).toBe(c.status);
      expect(res.headers['content-type']).toMatch(/application\/json/);
      const body = JSON.parse(text) as ErrorBody;
      expect(body.error.code).toBe(c.code);
      expect(body.error.message.length).toBeGreaterThan(0);
      expect(gw.invocations('counter')).toBe(before);
    });
  }

  it('a function error is a 502 carrying the error type', async () => {
    const res = await request(`${gw.url}/v1/functions/fails/invoke`, {
      method: 'POST',
      headers: { 'x-affinity-key': 'fails-1', 'content-type': 'application/json' },
      body: JSON.stringify({ op: 'x' }),
    });
    const body = JSON.parse(await res.body.text()) as ErrorBody & { error: { errorType?: string } };
    expect(res.statusCode).toBe(502);
    expect(body.error.code).toBe('WR_ERR_FUNCTION_ERROR');
    expect(body.error.errorType).toBe('QuotaExceededError');
    expect(res.headers['x-affinity-tenant']).toMatch(/^wr-/);
    expect(gw.invocations('fails')).toBe(1);
  });
});
