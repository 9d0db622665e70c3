import { functionSettingsOf } from '../../src/config/function-settings.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadFunctionsFile, startLocalHost, type LocalHost } from '../../src/localhost/index.js';
import { createAffinityClient, type AffinityClientOptions } from '../../src/sdk/client.js';
import type { RetryOptions } from '../../src/sdk/retry-loop.js';
import type { AffinityClient } from '../../src/sdk/types.js';
import { startTestGateway, type TestGateway } from './gateway.js';

/**
 * The two ways the SDK reaches a function, set up for the shared transport
 * suite: the HTTP transport against a real gateway in front of a real local
 * host, and the embedded transport against the local host directly. Both use
 * the SDK test functions (test/helpers/sdk-functions) next to the classic
 * `counter` and `warm-counter` examples.
 */

export const sdkFunctionsFile = fileURLToPath(
  new URL('./sdk-functions/functions.json', import.meta.url),
);

export const SECRET = 'sdk-test-secret-0123456789abcdef';

export interface SdkTarget {
  readonly transport: 'http' | 'embedded';
  readonly localHost: LocalHost;
  /** A new client on this target (each with its own connections / in-process state). */
  client(options?: {
    functionName?: string;
    timeoutMs?: number;
    retry?: RetryOptions;
  }): AffinityClient;
  /** Requests that reached anything: gateway connections accepted (HTTP) + the host's invocations and rejections. */
  activity(): number;
  /** Whether FunctionError carries the function's own errorMessage on this transport. */
  readonly forwardsErrorMessage: boolean;
  close(): Promise<void>;
}

interface Shared {
  readonly localHost: LocalHost;
  readonly workDir: string;
  /** Gateway/embedded config file declaring the SDK test functions. */
  readonly configFile: string;
  hostActivity(): number;
  close(): Promise<void>;
}

/** Settings both targets share: per-key serialization with no queue, so a busy key answers 429 at once. */
const COMMON_ENV = {
  WARMROUTE_SECRET: SECRET,
  WARMROUTE_LOG_LEVEL: 'silent',
  WARMROUTE_MAX_QUEUE_PER_KEY: '0',
} as const;

async function startShared(): Promise<Shared> {
  const workDir = mkdtempSync(join(tmpdir(), 'warmroute-sdk-'));
  const env = { ...process.env, WARMROUTE_SNAPSHOT_DIR: join(workDir, 'snapshots') };
  const localHost = await startLocalHost({ port: 0, functionsFile: sdkFunctionsFile, env });
  const functions = functionSettingsOf(loadFunctionsFile(sdkFunctionsFile, env));
  const configFile = join(workDir, 'config.json');
  writeFileSync(configFile, JSON.stringify({ functions }));
  return {
    localHost,
    workDir,
    configFile,
    hostActivity() {
      const stats = localHost.stats();
      return Object.values(stats.functions).reduce(
        (sum, f) => sum + f.invocations + f.rejected + f.throttles,
        0,
      );
    },
    async close() {
      await localHost.close();
      rmSync(workDir, { recursive: true, force: true });
    },
  };
}

function trackClients() {
  const clients: AffinityClient[] = [];
  return {
    add(client: AffinityClient): AffinityClient {
      clients.push(client);
      return client;
    },
    async closeAll(): Promise<void> {
      await Promise.all(clients.map((c) => c.close()));
    },
  };
}

export async function startHttpTarget(): Promise<SdkTarget> {
  const shared = await startShared();
  let gateway: TestGateway;
  try {
    gateway = await startTestGateway(
      { ...COMMON_ENV, WARMROUTE_CONFIG: shared.configFile },
      { localHost: shared.localHost },
    );
  } catch (err) {
    await shared.close();
    throw err;
  }
  let connections = 0;
  gateway.app.server.on('connection', () => {
    connections++;
  });
  const clients = trackClients();
  return {
    transport: 'http',
    localHost: shared.localHost,
    forwardsErrorMessage: false,
    client(options = {}) {
      const opts: AffinityClientOptions = { transport: 'http', url: gateway.url, ...options };
      return clients.add(createAffinityClient(opts));
    },
    activity: () => connections + shared.hostActivity(),
    async close() {
      await clients.closeAll();
      await gateway.close();
      await shared.close();
    },
  };
}

export async function startEmbeddedTarget(): Promise<SdkTarget> {
  const shared = await startShared();
  const clients = trackClients();
  return {
    transport: 'embedded',
    localHost: shared.localHost,
    forwardsErrorMessage: true,
    client(options = {}) {
      const opts: AffinityClientOptions = {
        transport: 'embedded',
        // An environment-like record, as a service would pass its own env.
        config: {
          ...COMMON_ENV,
          WARMROUTE_CONFIG: shared.configFile,
          AWS_ENDPOINT_URL_LAMBDA: shared.localHost.url,
        },
        ...options,
      };
      return clients.add(createAffinityClient(opts));
    },
    activity: () => shared.hostActivity(),
    async close() {
      await clients.closeAll();
      await shared.close();
    },
  };
}
