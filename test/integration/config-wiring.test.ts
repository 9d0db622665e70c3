import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { describe, expect, it, onTestFinished } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config/load-config.js';
import { createDependencies } from '../../src/create-dependencies.js';
import { createGateway } from '../../src/create-gateway.js';

/**
 * Settings that must reach the component they configure (issue 12 review):
 * each of these was once dropped on the way and replaced by the component's
 * own default. Each test proves it by behaviour:
 * - WARMROUTE_GLOBAL_CONCURRENCY: that many Invokes are on the wire at once
 *   (no smaller connection pool). Not that no more can be: only that many
 *   calls are made.
 * - AWS_REGION: the embedded local host answers with ARNs in that region.
 * - WARMROUTE_QUEUE_RETRY_AFTER_SECONDS: the Retry-After of a refusal during
 *   shutdown (the scheduler's 429s are in
 *   test/integration/config-single-source.test.ts).
 * - createGateway(env): `${VAR}` in the functions file is filled from that
 *   map, not from process.env.
 * Needs `npm run build` (the local host's environments run dist/).
 */

const silent = pino({ level: 'silent' });

describe('config → components', () => {
  it('the backend lets WARMROUTE_GLOBAL_CONCURRENCY Invokes be on the wire at once (no smaller hidden pool)', async () => {
    // Prepare: an Invoke endpoint that holds every call 300 ms and counts how many it holds at once.
    let open = 0;
    let most = 0;
    const server = createServer((req, res) => {
      open++;
      most = Math.max(most, open);
      req.resume();
      setTimeout(() => {
        open--;
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      }, 300);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onTestFinished(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => {
            resolve();
          });
        }),
    );
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const config = loadConfig({
      AWS_ENDPOINT_URL_LAMBDA: url,
      WARMROUTE_GLOBAL_CONCURRENCY: '128',
    });
    const deps = await createDependencies(config, {
      logger: silent,
      endpoint: config.lambdaEndpoint,
      defaultMetrics: false,
    });
    onTestFinished(() => deps.close());

    // Act: as many calls at once as the global cap admits, each for its own tenant.
    const deadline = Date.now() + 20_000;
    await Promise.all(
      Array.from({ length: config.globalConcurrency }, (_, i) =>
        deps.backend.invoke({
          functionName: 'f',
          tenantId: `t-${i}`,
          payload: new TextEncoder().encode('{}'),
          deadline,
        }),
      ),
    );

    // Assess
    expect(deps.backend.settings.connections).toBe(128);
    expect(most).toBe(128);
  });

  it('the embedded local host runs in AWS_REGION (its ARNs and environments)', async () => {
    // Prepare
    const config = loadConfig({ AWS_REGION: 'eu-west-1', WARMROUTE_LOCAL_PORT: '0' });
    const gateway = await createGateway(config, { logger: silent, defaultMetrics: false });
    onTestFinished(() => gateway.close());

    // Act: an unknown function, answered with the ARN it would have.
    const res = await fetch(
      `${gateway.localHost?.url ?? ''}/2015-03-31/functions/no-such-fn/invocations`,
      { method: 'POST', body: '{}' },
    );

    // Assess
    expect(res.status).toBe(404);
    expect(await res.text()).toContain('arn:aws:lambda:eu-west-1:');
    expect(gateway.localHost?.settings.region).toBe('eu-west-1');
  });

  it('a request refused during shutdown carries WARMROUTE_QUEUE_RETRY_AFTER_SECONDS', async () => {
    // Prepare: Retry-After 7, and a job that keeps the drain waiting.
    const config = loadConfig({
      AWS_ENDPOINT_URL_LAMBDA: 'http://127.0.0.1:9',
      WARMROUTE_QUEUE_RETRY_AFTER_SECONDS: '7',
      WARMROUTE_SHUTDOWN_GRACE_MS: '2000',
    });
    const deps = await createDependencies(config, { logger: silent, defaultMetrics: false });
    onTestFinished(() => deps.close());
    const built = buildApp(config, deps);
    let release = (): void => undefined;
    const held = deps.scheduler.run(
      { key: 'held', tenantId: 't', deadline: Date.now() + 10_000 },
      () =>
        new Promise<void>((resolve) => {
          release = resolve;
        }),
    );

    // Act: shutdown starts (the drain waits for the held job), then a request arrives.
    const closing = built.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const res = await built.app.inject({
      method: 'POST',
      url: '/v1/functions/f/invoke',
      headers: { 'x-affinity-key': 'k', 'content-type': 'application/json' },
      payload: '{}',
    });
    release();
    // Whether it ended or the drain's grace cut it (503 too) is not what this test is about.
    await held.catch(() => undefined);
    await closing;

    // Assess
    expect(res.statusCode).toBe(503);
    expect(res.json<{ error: { code: string } }>().error.code).toBe('WR_ERR_SHUTTING_DOWN');
    expect(res.headers['retry-after']).toBe('7');
  });

  it('createGateway(env) fills ${VAR} in the functions file from that env, not process.env', async () => {
    // Prepare: a variable only the map has (the shipped warm-counter declares
    // WARMROUTE_SNAPSHOT_REDIS_URL=${WARMROUTE_SNAPSHOT_REDIS_URL}).
    expect(process.env['WARMROUTE_SNAPSHOT_REDIS_URL']).toBeUndefined();
    const env = {
      WARMROUTE_LOCAL_PORT: '0',
      WARMROUTE_SNAPSHOT_REDIS_URL: 'redis://127.0.0.1:6379/5',
    };

    // Act
    const gateway = await createGateway(env, { logger: silent, defaultMetrics: false });
    onTestFinished(() => gateway.close());

    // Assess
    const warm = gateway.localHost?.functions.find((f) => f.name === 'warm-counter');
    expect(warm?.environment['WARMROUTE_SNAPSHOT_REDIS_URL']).toBe('redis://127.0.0.1:6379/5');
  });
});
