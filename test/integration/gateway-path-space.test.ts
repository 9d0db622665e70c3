import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface ErrorBody {
  error: { code: string; message: string };
}

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

async function call(
  url: string,
  method: Method,
  headers: Record<string, string> = {},
  body?: string,
): Promise<{ status: number; headers: Record<string, unknown>; body: ErrorBody | undefined }> {
  const res = await request(url, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    body: text === '' ? undefined : (JSON.parse(text) as ErrorBody),
  };
}

/** Invocations of every function the test gateway knows (the `/` proxy route runs `counter`). */
function totalInvocations(gw: TestGateway): number {
  return ['counter', 'warm-counter', 'workspace', 'slow', 'fails'].reduce(
    (sum, name) => sum + gw.invocations(name),
    0,
  );
}

// Issue 11, defect 7: a miss in the gateway's own space fell through to the `/` proxy route.
describe('gateway: its own path space never reaches a proxied function', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway(); // routes include `/` → counter
  });
  afterAll(async () => {
    await gw.close();
  });

  const key = { 'x-affinity-key': 'path-space' };
  const misses: { method: Method; path: string; status: 404 | 405; allow?: string }[] = [
    { method: 'GET', path: '/v1', status: 404 },
    { method: 'POST', path: '/v1/', status: 404 },
    { method: 'GET', path: '/v1/nothing/here', status: 404 },
    { method: 'POST', path: '/v1/functions/counter', status: 404 },
    { method: 'POST', path: '/v1/functions/counter/invoke/extra', status: 404 },
    { method: 'GET', path: '/v1/functions/counter/invoke', status: 405, allow: 'POST' },
    { method: 'PUT', path: '/v1/functions/counter/invoke', status: 405, allow: 'POST' },
    { method: 'DELETE', path: '/v1/functions/counter/invoke', status: 405, allow: 'POST' },
    { method: 'PATCH', path: '/v1/keys/blue', status: 405, allow: 'GET' },
    { method: 'GET', path: '/v1/keys/blue/rotate', status: 405, allow: 'POST' },
    { method: 'POST', path: '/v1/keys/blue/binding', status: 405, allow: 'PUT' },
    { method: 'POST', path: '/metrics', status: 405, allow: 'GET' },
    { method: 'DELETE', path: '/healthz', status: 405, allow: 'GET' },
    { method: 'PUT', path: '/readyz', status: 405, allow: 'GET' },
    { method: 'GET', path: '/metrics/extra', status: 404 },
    { method: 'GET', path: '/healthz/x/y', status: 404 },
  ];

  for (const m of misses) {
    it(`${m.method} ${m.path} → ${m.status}, nothing invoked`, async () => {
      // Prepare
      const before = totalInvocations(gw);
      // Act
      const res = await call(
        `${gw.url}${m.path}`,
        m.method,
        key,
        m.method === 'GET' ? undefined : '{}',
      );
      // Assess
      expect(res.status).toBe(m.status);
      expect(res.body?.error.code).toBe(
        m.status === 404 ? 'WR_ERR_ROUTE_NOT_FOUND' : 'WR_ERR_METHOD_NOT_ALLOWED',
      );
      if (m.allow !== undefined) {
        expect(String(res.headers['allow']).split(', ')).toContain(m.allow);
        expect(String(res.headers['allow']).split(', ')).not.toContain(m.method);
      }
      expect(totalInvocations(gw)).toBe(before);
    });
  }

  it('a 101-character function name reaches the RPC route (404 unknown function), not the proxy', async () => {
    const before = totalInvocations(gw);
    const res = await call(`${gw.url}/v1/functions/${'f'.repeat(101)}/invoke`, 'POST', key, '{}');
    expect(res.status).toBe(404);
    expect(res.body?.error.code).toBe('WR_ERR_FUNCTION_NOT_FOUND');
    expect(totalInvocations(gw)).toBe(before);
  });

  it('a 300-character key still reaches the admin route', async () => {
    const res = await call(`${gw.url}/v1/keys/${'k'.repeat(300)}`, 'GET', {
      authorization: `Bearer ${ADMIN_TOKEN}`,
    });
    expect(res.status).toBe(200);
  });

  it('paths outside the gateway space still reach the proxy route', async () => {
    const before = gw.invocations('counter');
    const res = await request(`${gw.url}/v1x/anything`, { headers: key });
    expect(res.statusCode).toBe(200);
    await res.body.dump();
    expect(gw.invocations('counter')).toBe(before + 1);
  });
});

describe('gateway: a separate admin listener (WARMROUTE_ADMIN_PORT)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ WARMROUTE_ADMIN_PORT: '0' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('listens on its own port', () => {
    expect(gw.gateway.admin).toBeDefined();
    expect(gw.adminUrl).not.toBe(gw.url);
  });

  it('serves health, metrics and admin on the admin port only', async () => {
    const auth = { authorization: `Bearer ${ADMIN_TOKEN}` };
    for (const [path, headers] of [
      ['/healthz', {}],
      ['/readyz', {}],
      ['/metrics', {}],
      ['/v1/keys/blue', auth],
    ] as const) {
      const onAdmin = await request(`${gw.adminUrl}${path}`, { headers });
      expect(onAdmin.statusCode, path).toBe(200);
      await onAdmin.body.dump();
      const before = totalInvocations(gw);
      const onPublic = await call(`${gw.url}${path}`, 'GET', { ...headers, 'x-affinity-key': 'k' });
      expect(onPublic.status, path).toBe(404);
      expect(onPublic.body?.error.code).toBe('WR_ERR_ROUTE_NOT_FOUND');
      expect(totalInvocations(gw)).toBe(before);
    }
  });

  it('carries function traffic on the public port only', async () => {
    const rpc = await request(`${gw.url}/v1/functions/counter/invoke`, {
      method: 'POST',
      headers: { 'x-affinity-key': 'admin-split', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(rpc.statusCode).toBe(200);
    await rpc.body.dump();
    const proxied = await request(`${gw.url}/anything`, {
      headers: { 'x-affinity-key': 'admin-split' },
    });
    expect(proxied.statusCode).toBe(200);
    await proxied.body.dump();

    const before = totalInvocations(gw);
    const rpcOnAdmin = await call(
      `${gw.adminUrl}/v1/functions/counter/invoke`,
      'POST',
      { 'x-affinity-key': 'admin-split', 'content-type': 'application/json' },
      '{}',
    );
    expect(rpcOnAdmin.status).toBe(404);
    const proxyOnAdmin = await call(`${gw.adminUrl}/anything`, 'GET', {
      'x-affinity-key': 'admin-split',
    });
    expect(proxyOnAdmin.status).toBe(404);
    expect(proxyOnAdmin.body?.error.code).toBe('WR_ERR_ROUTE_NOT_FOUND');
    expect(totalInvocations(gw)).toBe(before);
  });
});
