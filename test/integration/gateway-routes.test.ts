import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { startTestGateway, type TestGateway } from '../helpers/gateway.js';

interface CounterBody {
  counter: number;
  tenantId: string;
}

const routes = [
  {
    prefix: '/by-cookie',
    function: 'counter',
    mode: 'affinity',
    key: { from: 'cookie', name: 'sid' },
  },
  {
    prefix: '/notebooks',
    function: 'counter',
    mode: 'affinity',
    pathTemplate: '/{notebook}/{proxy+}',
    key: { from: 'path', name: 'notebook' },
  },
  {
    prefix: '/by-json',
    function: 'counter',
    mode: 'affinity',
    key: { from: 'json', name: 'owner.id' },
  },
  { prefix: '/pooled', function: 'counter', mode: 'pooled', poolSize: 2 },
  { prefix: '/echo', function: 'workspace', mode: 'affinity' },
];

describe('gateway: key extractors and modes per route', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ WARMROUTE_ROUTES: JSON.stringify(routes) });
  });
  afterAll(async () => {
    await gw.close();
  });

  async function counter(
    path: string,
    init: Parameters<typeof request>[1] = {},
  ): Promise<CounterBody> {
    const res = await request(`${gw.url}${path}`, init);
    const text = await res.body.text();
    expect(res.statusCode, text).toBe(200);
    return JSON.parse(text) as CounterBody;
  }

  it('takes the key from a cookie', async () => {
    const a = await counter('/by-cookie/x', { headers: { cookie: 'theme=dark; sid=alice' } });
    const b = await counter('/by-cookie/y', { headers: { cookie: 'sid=alice' } });
    const c = await counter('/by-cookie/x', { headers: { cookie: 'sid=bob' } });
    expect([a.counter, b.counter, c.counter]).toEqual([0, 1, 0]);
    expect(a.tenantId).toBe(b.tenantId);
    expect(c.tenantId).not.toBe(a.tenantId);
    const missing = await request(`${gw.url}/by-cookie/x`, { headers: { cookie: 'theme=dark' } });
    expect(missing.statusCode).toBe(400);
    expect(
      ((await missing.body.json()) as { error: { code: string; message: string } }).error.message,
    ).toContain('cookie sid');
  });

  it('takes the key from a path parameter', async () => {
    const a = await counter('/notebooks/nb-1/cells/3');
    const b = await counter('/notebooks/nb-1/run');
    const c = await counter('/notebooks/nb-2/run');
    expect([a.counter, b.counter, c.counter]).toEqual([0, 1, 0]);
    expect(a.tenantId).toBe(b.tenantId);
  });

  it('takes the key from a JSON body field', async () => {
    const post = (id: string) =>
      counter('/by-json', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ owner: { id }, data: 1 }),
      });
    expect([
      (await post('o-1')).counter,
      (await post('o-1')).counter,
      (await post('o-2')).counter,
    ]).toEqual([0, 1, 0]);
  });

  it('pooled mode spreads many keys over at most poolSize tenants', async () => {
    const tenants = new Set<string>();
    for (let i = 0; i < 12; i++) {
      tenants.add(
        (await counter('/pooled', { headers: { 'x-affinity-key': `pool-key-${i}` } })).tenantId,
      );
    }
    expect(tenants.size).toBeLessThanOrEqual(2);
  });

  it('a client cannot choose its tenant', async () => {
    const res = await counter('/by-cookie/z', {
      headers: { cookie: 'sid=carol', 'x-amz-tenant-id': 'victim', 'x-affinity-tenant': 'victim' },
    });
    expect(res.tenantId).not.toBe('victim');
    expect(res.tenantId).toMatch(/^wr-/);
  });

  it('turns requests into API Gateway events and proxy results back into responses', async () => {
    const send = async (method: 'GET' | 'POST', path: string, body?: unknown) => {
      const res = await request(`${gw.url}${path}`, {
        method,
        headers: { 'x-affinity-key': 'echo-1', 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return {
        status: res.statusCode,
        headers: res.headers,
        json: (await res.body.json()) as Record<string, unknown>,
      };
    };
    // POST with a JSON body → the function reads event.body
    const put = await send('POST', '/echo/docs?x=1&x=2', {
      op: 'put',
      id: 'readme',
      doc: { title: 'hi' },
    });
    expect(put.status).toBe(200);
    expect(put.headers['content-type']).toBe('application/json');
    expect(put.json['key']).toBe('echo-1');
    // GET /echo/docs/{id} → the function reads event.path; its 404 status is relayed as is
    const got = await send('GET', '/echo/docs/readme');
    expect(got.status).toBe(200);
    expect(got.json['doc']).toEqual({ title: 'hi' });
    const missing = await send('GET', '/echo/docs/nope');
    expect(missing.status).toBe(404);
    expect(missing.headers['x-affinity-state']).toBe('hit');
  });
});
