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

export interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/**
 * Writes `bytes` as they are to the host's port and reads the first answer
 * (status, headers, body up to content-length). Lets a test send what no
 * HTTP client would: non-Latin-1 bytes, NUL, CR/LF inside header values,
 * broken percent-encoding. `status` 0 means the connection closed unanswered.
 */
export async function rawRequest(
  port: number,
  bytes: Buffer | string,
  options: { halfClose?: boolean; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const { connect } = await import('node:net');
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${options.timeoutMs ?? 10_000} ms`));
    }, options.timeoutMs ?? 10_000);
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(parseRaw(data));
    };
    socket.on('data', (chunk: Buffer) => {
      data = Buffer.concat([data, chunk]);
      const parsed = parseRaw(data);
      const length = Number(parsed.headers['content-length'] ?? NaN);
      if (parsed.status !== 0 && Buffer.byteLength(parsed.body) >= length) finish();
    });
    socket.on('error', finish);
    socket.on('close', finish);
    socket.on('connect', () => {
      // No half-close by default: Node's server aborts a request whose client
      // has sent FIN, as most servers do.
      if (options.halfClose === true) socket.end(bytes);
      else socket.write(bytes);
    });
  });
}

function parseRaw(data: Buffer): RawResponse {
  const text = data.toString('utf8');
  const split = text.indexOf('\r\n\r\n');
  if (split < 0) return { status: 0, headers: {}, body: '' };
  const [statusLine = '', ...lines] = text.slice(0, split).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  // Only the first answer: a request split by injected CR/LF can draw a second one.
  const rest = data.subarray(Buffer.byteLength(text.slice(0, split + 4)));
  const length = Number(headers['content-length'] ?? rest.length);
  return {
    status: Number(statusLine.split(' ')[1] ?? 0),
    headers,
    body: rest.subarray(0, length).toString('utf8'),
  };
}
