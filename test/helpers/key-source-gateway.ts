import { join } from 'node:path';
import { pino } from 'pino';
import { buildApp } from '../../src/app.js';
import { functionSettingsOf } from '../../src/config/function-settings.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { RouteConfig } from '../../src/config/schema.js';
import { createDependencies } from '../../src/create-dependencies.js';
import { loadFunctionsFile, startLocalHost, type LocalHost } from '../../src/localhost/index.js';
import { packageRoot } from '../../src/paths.js';
import { ADMIN_TOKEN } from './gateway.js';

/**
 * One route per key source, all to `counter` in affinity mode, so a test can
 * send one key through every source and compare the tenants it lands on.
 * Gateway and local host run in this process, as `npm start` runs them: an
 * exception that escapes either ends the test worker.
 */
export const KEY_SOURCE_ROUTES: readonly RouteConfig[] = [
  { prefix: '/ck', function: 'counter', mode: 'affinity', key: { from: 'cookie', name: 'sid' } },
  {
    prefix: '/p',
    function: 'counter',
    mode: 'affinity',
    pathTemplate: '/{k}/{proxy+}',
    key: { from: 'path', name: 'k' },
  },
  { prefix: '/j', function: 'counter', mode: 'affinity', key: { from: 'json', name: 'doc.k' } },
  { prefix: '/', function: 'counter', mode: 'affinity' },
];

export interface KeySourceGateway {
  readonly url: string;
  readonly localHost: LocalHost;
  /** Every invocation the local host has received, all functions. */
  invocations(): number;
  close(): Promise<void>;
}

export async function startKeySourceGateway(
  routes: readonly RouteConfig[] = KEY_SOURCE_ROUTES,
): Promise<KeySourceGateway> {
  const functionsFile = join(packageRoot, 'test/helpers/gateway-functions/functions.json');
  const localHost = await startLocalHost({ port: 0, functionsFile, maxEnvironments: 16 });
  const config = loadConfig(
    {
      WARMROUTE_SECRET: 'test-secret-0123456789abcdef',
      WARMROUTE_ADMIN_TOKEN: ADMIN_TOKEN,
      AWS_ENDPOINT_URL_LAMBDA: localHost.url,
      PORT: '0',
      WARMROUTE_LOG_LEVEL: process.env.FUZZ_LOG ?? 'silent',
    },
    {
      overrides: {
        functions: functionSettingsOf(loadFunctionsFile(functionsFile)),
        routes: routes.map((r) => ({ ...r })),
      },
    },
  );
  const logger = pino({ level: process.env.FUZZ_LOG ?? 'silent' });
  const deps = await createDependencies(config, {
    logger,
    endpoint: localHost.url,
    defaultMetrics: false,
  });
  const { app } = buildApp(config, { ...deps, logger });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    localHost,
    invocations: () => Object.values(localHost.stats().invocations).reduce((a, b) => a + b, 0),
    async close() {
      await app.close();
      await deps.close();
      await localHost.close();
    },
  };
}
