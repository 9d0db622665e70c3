import { createAffinityClient } from './client.js';
import { clientOptionsFromEnv } from './env-options.js';
import type { AffinityClient, AffinityResult, InvokeOptions } from './types.js';

/**
 * `affinityInvoke`: a call through a process-wide client created on first
 * use from the environment (`WARMROUTE_URL`, see env-options.ts). Services
 * that need two gateways, the embedded transport or explicit lifetimes use
 * `createAffinityClient` instead.
 */

let defaultClient: AffinityClient | undefined;

function getDefaultClient(): AffinityClient {
  defaultClient ??= createAffinityClient(clientOptionsFromEnv(process.env));
  return defaultClient;
}

export async function affinityInvoke<TResult = unknown>(
  key: string,
  payload?: unknown,
  options?: InvokeOptions,
): Promise<AffinityResult<TResult>> {
  return getDefaultClient().invoke<TResult>(key, payload, options);
}

/** Close the default client's connections (the next `affinityInvoke` creates a new one). */
export async function closeDefaultClient(): Promise<void> {
  const client = defaultClient;
  defaultClient = undefined;
  await client?.close();
}
