import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { functionSettingsOf } from '../../src/config/function-settings.js';
import { loadConfig } from '../../src/config/load-config.js';
import type { Config } from '../../src/config/schema.js';
import type { GatewayDependencies } from '../../src/create-dependencies.js';
import { createGateway, type Gateway } from '../../src/create-gateway.js';
import { loadFunctionsFile, startLocalHost, type LocalHost } from '../../src/localhost/index.js';
import { packageRoot } from '../../src/paths.js';

export const ADMIN_TOKEN = 'test-admin-token-0123456789';

export interface TestGateway {
  readonly url: string;
  /** The admin listener's URL when `WARMROUTE_ADMIN_PORT` is set, else the public URL. */
  readonly adminUrl: string;
  readonly config: Config;
  readonly localHost: LocalHost;
  readonly deps: GatewayDependencies;
  readonly app: FastifyInstance;
  readonly gateway: Gateway;
  /** Invocations the local host has received for a function (asserts "nothing was invoked"). */
  invocations(functionName: string): number;
  close(): Promise<void>;
}

/**
 * A real gateway (listening on a free port) in front of a real local Lambda
 * host running the shipped example functions (`counter`, `warm-counter`,
 * `workspace`), `fails`, which always throws, and `slow`, which sleeps for
 * the payload's `sleepMs`.
 */
export async function startTestGateway(
  env: Record<string, string> = {},
  options: { localHost?: LocalHost } = {},
): Promise<TestGateway> {
  const functionsFile = join(packageRoot, 'test/helpers/gateway-functions/functions.json');
  const ownHost = options.localHost === undefined;
  const localHost = options.localHost ?? (await startLocalHost({ port: 0, functionsFile }));
  const functions = functionSettingsOf(loadFunctionsFile(functionsFile));
  const config = loadConfig(
    {
      WARMROUTE_SECRET: 'test-secret-0123456789abcdef',
      WARMROUTE_ADMIN_TOKEN: ADMIN_TOKEN,
      AWS_ENDPOINT_URL_LAMBDA: localHost.url,
      PORT: '0',
      WARMROUTE_LOG_LEVEL: 'silent',
      ...env,
    },
    {
      overrides: {
        functions,
        routes: [
          { prefix: '/fresh', function: 'counter', mode: 'fresh' },
          { prefix: '/warm', function: 'warm-counter', mode: 'affinity' },
          { prefix: '/workspace', function: 'workspace', mode: 'affinity' },
          { prefix: '/', function: 'counter', mode: 'affinity' },
        ],
      },
    },
  );
  // The one factory `warmroute start` uses too (the endpoint backend: the local host above).
  const gateway = await createGateway(config, { defaultMetrics: false });
  const { app, dependencies: deps } = gateway;
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const adminUrl = (await gateway.admin?.listen({ host: '127.0.0.1', port: 0 })) ?? url;
  return {
    url,
    adminUrl,
    gateway,
    config,
    localHost,
    deps,
    app,
    invocations: (functionName) => {
      const counts = localHost.stats().invocations;
      return Object.hasOwn(counts, functionName) ? (counts[functionName] ?? 0) : 0;
    },
    async close() {
      await gateway.close();
      if (ownHost) await localHost.close();
    },
  };
}
