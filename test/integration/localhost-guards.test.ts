import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ControlApi } from '../../src/localhost/control-api.js';
import type { Environment } from '../../src/localhost/environment.js';
import type { FunctionDefinition } from '../../src/localhost/function-registry.js';
import { InvokeApi } from '../../src/localhost/invoke-api.js';
import { DEFAULT_BODY_TIMEOUT_MS } from '../../src/localhost/local-host.js';
import type { EnvironmentPool } from '../../src/localhost/pool.js';
import { RuntimeApi, type RuntimeListener } from '../../src/localhost/runtime-api.js';
import { HostStats } from '../../src/localhost/stats.js';

/**
 * A bug inside one request's handler (here: a pool or listener that throws)
 * must end as a 500 for that request, with the server still serving.
 */

const echo: FunctionDefinition = {
  name: 'echo',
  codeDir: '/nonexistent',
  handler: 'index.handler',
  tenancy: 'NONE',
  memoryMb: 128,
  timeoutSeconds: 3,
  reservedConcurrency: undefined,
  environment: {},
};

/** A pool whose every method throws, as a bug would. */
const brokenPool = new Proxy(
  {},
  {
    get: () => () => {
      throw new Error('pool bug');
    },
  },
) as unknown as EnvironmentPool<Environment>;

async function serve(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('local host: an error inside a request handler stays inside that request', () => {
  it('Invoke API: answers 500 ServiceException and keeps serving', async () => {
    const api = new InvokeApi({
      functions: new Map([['echo', echo]]),
      pool: brokenPool,
      stats: new HostStats(),
      region: 'us-east-1',
      accountId: '000000000000',
      logger: pino({ level: 'silent' }),
      bodyTimeoutMs: 1000,
    });
    const url = await serve((req, res) => {
      api.handle(req, res);
    });

    const first = await fetch(`${url}/2015-03-31/functions/echo/invocations`, {
      method: 'POST',
      body: '{}',
    });
    const second = await fetch(`${url}/2015-03-31/functions/echo/invocations`, {
      method: 'POST',
      body: '{}',
    });

    expect(first.status).toBe(500);
    expect(first.headers.get('x-amzn-errortype')).toBe('ServiceException');
    expect(await first.json()).toEqual({
      Type: 'Service',
      message: 'Internal error in the local Lambda host',
    });
    expect(second.status).toBe(500);
  });

  it('control API: answers 500 WR_ERR_INTERNAL and keeps serving', async () => {
    const api = new ControlApi({
      pool: brokenPool,
      stats: new HostStats(),
      functions: new Map(),
      logger: pino({ level: 'silent' }),
      bodyTimeoutMs: DEFAULT_BODY_TIMEOUT_MS,
    });
    const url = await serve((req, res) => {
      api.handle(req, res);
    });

    const first = await fetch(`${url}/_local/environments`);
    const health = await fetch(`${url}/_local/functions`);

    expect(first.status).toBe(500);
    expect(await first.json()).toMatchObject({ error: { code: 'WR_ERR_INTERNAL' } });
    expect(health.status).toBe(200);
  });

  it('Runtime API: a listener that throws answers that runtime request with 500', async () => {
    const problems: string[] = [];
    const listener: RuntimeListener = {
      onNext: () => {
        throw new Error('listener bug');
      },
      onResponse: () => undefined,
      onError: () => undefined,
      onInitError: () => undefined,
      onProblem: (_err, what) => {
        problems.push(what);
      },
    };
    const api = await RuntimeApi.start(listener);
    onTestFinished(() => api.close());

    const next = await fetch(`http://${api.address}/2018-06-01/runtime/invocation/next`);
    const badId = await fetch(
      `http://${api.address}/2018-06-01/runtime/invocation/%E0%A4%A/response`,
      { method: 'POST', body: '{}' },
    );

    expect(next.status).toBe(500);
    expect(badId.status).toBe(400);
    expect(await badId.json()).toMatchObject({ errorType: 'InvalidRequestID' });
    expect(problems).toHaveLength(1);
  });
});
