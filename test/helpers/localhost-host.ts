import {
  InvokeCommand,
  LambdaClient,
  type InvokeCommandInput,
  type InvokeCommandOutput,
} from '@aws-sdk/client-lambda';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import {
  startLocalHost,
  type LocalHost,
  type LocalHostOptions,
} from '../../src/localhost/index.js';
import { packageRoot } from '../../src/paths.js';

/** The test-only functions (test/helpers/localhost-functions/functions.json). */
export const testFunctionsFile = join(
  packageRoot,
  'test',
  'helpers',
  'localhost-functions',
  'functions.json',
);

/** A local host on a free port with the test functions, closed when the test ends. */
export async function startTestHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const host = await startLocalHost({ port: 0, functionsFile: testFunctionsFile, ...options });
  onTestFinished(() => host.close());
  return host;
}

/** The unmodified SDK client pointed at the host; no retries, so throttles surface. */
export function lambdaClient(host: LocalHost): LambdaClient {
  const client = new LambdaClient({
    endpoint: host.url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    maxAttempts: 1,
  });
  onTestFinished(() => {
    client.destroy();
  });
  return client;
}

export async function invoke(
  client: LambdaClient,
  input: InvokeCommandInput,
): Promise<InvokeCommandOutput> {
  return client.send(new InvokeCommand(input));
}

export function json(output: InvokeCommandOutput): unknown {
  return JSON.parse(new TextDecoder().decode(output.Payload)) as unknown;
}

/** The counter example's response body, parsed. */
export function counterOf(output: InvokeCommandOutput): { counter: number; tenantId?: string } {
  const result = json(output) as { body: string };
  return JSON.parse(result.body) as { counter: number; tenantId?: string };
}

export function logTail(output: InvokeCommandOutput): string {
  return Buffer.from(output.LogResult ?? '', 'base64').toString('utf8');
}

/** The SDK error thrown by a call (fails the test if the call succeeds). */
export async function sdkError(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to fail');
}

/** True while the process exists and is not a zombie waiting to be reaped. */
export function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self');
  }
}

/** Polls (bounded) until `check` holds; returns whether it did. */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  attempts = 100,
  everyMs = 50,
): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
  return false;
}
