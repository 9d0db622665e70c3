import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createGateway,
  loadConfig,
  startLocalHost,
  WarmrouteError,
  type Gateway,
} from '../../src/index.js';
import { examplesDir } from '../../src/paths.js';

/**
 * `createGateway`, the main entry's convenience wiring (issue 11, defect 10),
 * from the sources: both argument forms, backend selection, and that
 * `close()` releases what it started and nothing it did not. Needs
 * `npm run build` (the local host's environments run dist/).
 */

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});

async function invokeCounter(gateway: Gateway, key: string): Promise<number> {
  const res = await gateway.app.inject({
    method: 'POST',
    url: '/v1/functions/counter/invoke',
    headers: { 'x-affinity-key': key, 'content-type': 'application/json' },
    payload: '{}',
  });
  expect(res.statusCode, res.body).toBe(200);
  const result = res.json<{ body: string }>();
  return (JSON.parse(result.body) as { counter: number }).counter;
}

describe('createGateway', () => {
  it('from an environment map: starts the local host with the shipped examples, adds no demo routes, and close() stops it once', async () => {
    // Act
    const gateway = await createGateway({
      WARMROUTE_LOCAL_PORT: '0',
      WARMROUTE_LOG_LEVEL: 'silent',
    });
    cleanups.push(() => gateway.close());
    // Assess
    const host = gateway.localHost;
    expect(host).toBeDefined();
    expect(host?.functions.map((f) => f.name)).toEqual(
      expect.arrayContaining(['counter', 'warm-counter', 'workspace']),
    );
    // The gateway knows the functions' settings from the same file (warm-counter: 10 s there).
    expect(gateway.config.functions['warm-counter']?.timeoutSeconds).toBe(10);
    expect(Object.isFrozen(gateway.config)).toBe(true);
    expect([await invokeCounter(gateway, 'blue'), await invokeCounter(gateway, 'blue')]).toEqual([
      0, 1,
    ]);
    // No demo routes: `/` is not proxied to counter as `warmroute start` does.
    const root = await gateway.app.inject({ url: '/', headers: { 'x-affinity-key': 'blue' } });
    expect(root.statusCode).toBe(404);
    expect(host?.stats().invocations['counter'] ?? 0).toBe(2);

    // Act: close twice
    const first = gateway.close();
    const second = gateway.close();
    // Assess
    expect(second).toBe(first);
    await first;
    await expect(fetch(`${host?.url ?? ''}/_local/healthz`)).rejects.toThrow();
  });

  it('from a config: uses its endpoint, starts no local host, and leaves that endpoint running on close()', async () => {
    // Prepare: a local host the test owns, named by the config's endpoint.
    const host = await startLocalHost({
      port: 0,
      functionsFile: join(examplesDir, 'functions.json'),
    });
    cleanups.push(() => host.close());
    const config = loadConfig({ AWS_ENDPOINT_URL_LAMBDA: host.url, WARMROUTE_LOG_LEVEL: 'silent' });
    // Act
    const gateway = await createGateway(config);
    cleanups.push(() => gateway.close());
    const counters = [await invokeCounter(gateway, 'green'), await invokeCounter(gateway, 'green')];
    await gateway.close();
    // Assess
    expect(gateway.localHost).toBeUndefined();
    expect(gateway.config).toBe(config);
    expect(counters).toEqual([0, 1]);
    expect(host.stats().invocations['counter']).toBe(2);
    expect((await fetch(`${host.url}/_local/healthz`)).status).toBe(200);
  });

  it('with WARMROUTE_ADMIN_PORT: health and metrics on `admin`, not on `app`; close() closes both', async () => {
    // Prepare
    const host = await startLocalHost({
      port: 0,
      functionsFile: join(examplesDir, 'functions.json'),
    });
    cleanups.push(() => host.close());
    // Act
    const gateway = await createGateway({
      AWS_ENDPOINT_URL_LAMBDA: host.url,
      WARMROUTE_ADMIN_PORT: '0',
      WARMROUTE_LOG_LEVEL: 'silent',
    });
    cleanups.push(() => gateway.close());
    // Assess
    const admin = gateway.admin;
    expect(admin).toBeDefined();
    expect((await admin?.inject({ url: '/healthz' }))?.statusCode).toBe(200);
    expect((await gateway.app.inject({ url: '/healthz' })).statusCode).toBe(404);
    await admin?.listen({ host: '127.0.0.1', port: 0 });
    await gateway.close();
    expect(admin?.server.listening).toBe(false);
  });

  it('reports every bad setting in one WR_ERR_CONFIG error and starts nothing', async () => {
    // Act
    const attempt = createGateway({ PORT: 'eighty', WARMROUTE_LOG_LEVEL: 'loud' });
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(WarmrouteError);
    await expect(attempt).rejects.toMatchObject({
      code: 'WR_ERR_CONFIG',
      message: expect.stringMatching(/PORT[\s\S]*WARMROUTE_LOG_LEVEL/) as unknown,
    });
  });

  it('refuses a route to a function the functions file does not declare in the config report, before the local host starts', async () => {
    // Arrange
    const env = {
      WARMROUTE_LOCAL_PORT: '0',
      WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/x', function: 'nope', mode: 'affinity' }]),
      WARMROUTE_LOG_LEVEL: 'silent',
    };
    // Act
    const attempt = createGateway(env);
    // Assess
    await expect(attempt).rejects.toMatchObject({
      code: 'WR_ERR_CONFIG',
      message: expect.stringMatching(/routes \(\/x\): function nope is not among/) as unknown,
    });
  });
});
