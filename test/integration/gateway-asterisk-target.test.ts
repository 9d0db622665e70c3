import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { RuntimeApi, type RuntimeListener } from '../../src/localhost/runtime-api.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from '../helpers/gateway.js';
import { startTestHost } from '../helpers/localhost-host.js';
import { errorCodeOf, rawRequest, type RawResponse } from '../helpers/raw-http.js';

/**
 * Request targets that are neither origin-form (`/…`) nor http(s)
 * absolute-form. Node's parser lets `*` (and anything starting with it) and
 * other schemes' absolute-form through; the router read the first character
 * as `/` without looking, so `OPTIONS *` and `GET **` invoked the function
 * of the `/` route with an `event.path` not starting with `/`, `GET *healthz`
 * answered 200 and `*v1/keys/k` reached the admin route. The gateway answers
 * them 400 before routing, on both listeners (src/app.ts). Issue 12, review
 * round 2 finding 1.
 */
const ODD_TARGETS: readonly (readonly [string, string])[] = [
  ['OPTIONS', '*'],
  ['GET', '*'],
  ['GET', '*/x'],
  ['GET', '**'],
  ['GET', '*?a=1'],
  ['POST', '*/x'],
  ['GET', '*healthz'],
  ['GET', '*metrics'],
  ['GET', '*v1/keys/blue'],
  ['DELETE', '*v1/keys/blue'],
  ['GET', 'ftp://h/x'],
  ['GET', 'a://b/'],
];

function totalInvocations(gw: TestGateway): number {
  return Object.values(gw.localHost.stats().invocations).reduce((sum, n) => sum + n, 0);
}

async function expectBadRequest(gw: TestGateway, url: string): Promise<void> {
  for (const [method, target] of ODD_TARGETS) {
    const before = totalInvocations(gw);
    const res = await rawRequest(url, {
      method,
      target,
      headers: [
        ['x-affinity-key', 'asterisk'],
        ['authorization', `Bearer ${ADMIN_TOKEN}`],
      ],
    });
    const what = `${method} ${target}: ${res.body.toString()}`;
    expect(res.status, what).toBe(400);
    expect(errorCodeOf(res), what).toBe('WR_ERR_BAD_REQUEST');
    expect(totalInvocations(gw), what).toBe(before);
  }
}

describe('gateway: targets that are not origin-form or absolute-form', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    // Has a proxy route on `/` (function `counter`) that takes every method.
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw.close();
  });

  it('answers 400 WR_ERR_BAD_REQUEST and invokes nothing', async () => {
    await expectBadRequest(gw, gw.url);
  });

  it('still serves origin-form and absolute-form targets', async () => {
    const before = gw.invocations('counter');
    const origin = await rawRequest(gw.url, {
      target: '/x',
      headers: [['x-affinity-key', 'asterisk']],
    });
    const absolute = await rawRequest(gw.url, {
      target: `${gw.url}/x`,
      headers: [['x-affinity-key', 'asterisk']],
    });
    expect(origin.status).toBe(200);
    expect(absolute.status).toBe(200);
    expect(gw.invocations('counter')).toBe(before + 2);
  });
});

describe('gateway with a separate admin listener: the same on both', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ WARMROUTE_ADMIN_PORT: '0' });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('answers 400 on the public listener', async () => {
    await expectBadRequest(gw, gw.url);
  });

  it('answers 400 on the admin listener', async () => {
    expect(gw.adminUrl).not.toBe(gw.url);
    await expectBadRequest(gw, gw.adminUrl);
  });
});

/** A Lambda-style error: a 4xx with a JSON body naming the error type. */
function expectLambda4xx(res: RawResponse, what: string): void {
  expect(res.status, what).toBeGreaterThanOrEqual(400);
  expect(res.status, what).toBeLessThan(500);
  expect(res.headers['content-type'], what).toMatch(/^application\/json/);
  expect(() => JSON.parse(res.body.toString()) as unknown, what).not.toThrow();
}

describe('local host: the same targets get a Lambda-style 4xx', () => {
  it('on the Invoke API and control API port', async () => {
    const host = await startTestHost();
    const targets = [...ODD_TARGETS, ['GET', '*_local/stats'] as const];
    for (const [method, target] of targets) {
      const res = await rawRequest(host.url, { method, target });
      const what = `${method} ${target}: ${res.body.toString()}`;
      expectLambda4xx(res, what);
      expect(res.headers['x-amzn-errortype'], what).toBe('ResourceNotFoundException');
    }
    expect(host.stats().invocations).toEqual({});
  });

  it('on a Runtime API server', async () => {
    const problems: string[] = [];
    const listener: RuntimeListener = {
      onNext: () => undefined,
      onResponse: () => undefined,
      onError: () => undefined,
      onInitError: () => undefined,
      onProblem: (_err, what) => {
        problems.push(what);
      },
    };
    const api = await RuntimeApi.start(listener);
    onTestFinished(() => api.close());
    for (const [method, target] of [...ODD_TARGETS, ['POST', '*2018-06-01/runtime/init/error']]) {
      const res = await rawRequest(`http://${api.address}`, { method, target });
      const what = `${method} ${target}: ${res.body.toString()}`;
      expectLambda4xx(res, what);
      expect(JSON.parse(res.body.toString()), what).toMatchObject({ errorType: 'InvalidRequest' });
    }
    expect(problems).toEqual([]);
  });
});
