import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface CounterBody {
  counter: number;
  tenantId: string;
}

async function call(
  gw: TestGateway,
  key: string,
  path = '/',
): Promise<{ status: number; body: CounterBody; headers: Record<string, unknown> }> {
  const res = await request(`${gw.url}${path}`, { headers: { 'x-affinity-key': key } });
  const text = await res.body.text();
  expect(res.statusCode, text).toBe(200);
  return { status: res.statusCode, body: JSON.parse(text) as CounterBody, headers: res.headers };
}

async function admin(
  gw: TestGateway,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
) {
  const res = await request(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    json: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

describe('gateway: the classic experiment through curl-like requests', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  it('keeps one counter per key, isolates keys, and rotate/bind/fresh behave', async () => {
    // Act + Assess: blue ×3 → 0,1,2
    const blue = [await call(gw, 'blue'), await call(gw, 'blue'), await call(gw, 'blue')];
    expect(blue.map((r) => r.body.counter)).toEqual([0, 1, 2]);
    const blueTenant = blue[0]!.headers['x-affinity-tenant'];
    expect(typeof blueTenant).toBe('string');
    expect(blue.every((r) => r.body.tenantId === blueTenant)).toBe(true);
    // The tenant ID is derived, never the key itself.
    expect(blueTenant).not.toContain('blue');

    // green ×2 → 0,1 in its own environment
    const green = [await call(gw, 'green'), await call(gw, 'green')];
    expect(green.map((r) => r.body.counter)).toEqual([0, 1]);
    expect(green[0]!.body.tenantId).not.toBe(blueTenant);

    // blue again → 3
    expect((await call(gw, 'blue')).body.counter).toBe(3);

    // rotate blue → brand-new environment, counter 0
    const rotated = await admin(gw, 'POST', '/v1/keys/blue/rotate');
    expect(rotated.status).toBe(200);
    const afterRotate = await call(gw, 'blue');
    expect(afterRotate.body.counter).toBe(0);
    expect(afterRotate.body.tenantId).not.toBe(blueTenant);

    // session-1 bound to blue shares blue's environment and counter
    const bound = await admin(gw, 'PUT', '/v1/keys/session-1/binding', { target: 'blue' });
    expect(bound.status).toBe(200);
    const session = await call(gw, 'session-1');
    expect(session.body.tenantId).toBe(afterRotate.body.tenantId);
    expect(session.body.counter).toBe(1);
    expect((await call(gw, 'blue')).body.counter).toBe(2);

    // explain shows the binding and generation
    const explained = await admin(gw, 'GET', '/v1/keys/session-1');
    expect(explained.status).toBe(200);
    expect(JSON.stringify(explained.json)).toContain('blue');

    // a fresh route → a clean environment every time
    const fresh = [
      await call(gw, 'blue', '/fresh'),
      await call(gw, 'blue', '/fresh'),
      await call(gw, 'blue', '/fresh'),
    ];
    expect(fresh.map((r) => r.body.counter)).toEqual([0, 0, 0]);
    expect(new Set(fresh.map((r) => r.body.tenantId)).size).toBe(3);
  });

  it('serializes concurrent requests for one key into one environment', async () => {
    const key = `serial-${Date.now()}`;
    const results = await Promise.all(Array.from({ length: 8 }, () => call(gw, key)));
    expect(results.map((r) => r.body.counter).sort((a, b) => a - b)).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7,
    ]);
    const tenant = results[0]!.body.tenantId;
    const envs = gw.localHost.environments().filter((e) => e.tenant === tenant);
    expect(envs).toHaveLength(1);
  });

  it('reports hit/fresh state and exposes Prometheus metrics', async () => {
    const first = await request(`${gw.url}/warm`, {
      headers: { 'x-affinity-key': `m-${Date.now()}` },
    });
    await first.body.text();
    expect(first.statusCode).toBe(200);
    expect(first.headers['x-affinity-state']).toBe('fresh');
    expect(typeof first.headers['x-affinity-env']).toBe('string');

    const metrics = await request(`${gw.url}/metrics`);
    const text = await metrics.body.text();
    expect(text).toMatch(
      /warmroute_invocations_total\{[^}]*function="counter"[^}]*state="unknown"[^}]*\} \d+/,
    );
    expect(text).toMatch(
      /warmroute_invocations_total\{[^}]*function="warm-counter"[^}]*state="fresh"[^}]*\} 1/,
    );
    expect(text).toContain('warmroute_l1_hits_total');
  });
});
