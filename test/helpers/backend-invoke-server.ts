import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A minimal real HTTP server speaking the Lambda Invoke API's wire shape, for
 * FAULT INJECTION only (a 429 on the first two attempts then success, a slow
 * answer, a 500): things the local host cannot produce on demand. Normal
 * invokes are tested against the real local host.
 */

export interface RecordedInvoke {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly at: number;
}

export interface ScriptedResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string | Uint8Array;
  /** Wait before answering, ms. */
  readonly delayMs?: number;
}

export interface InvokeServer {
  readonly url: string;
  readonly requests: RecordedInvoke[];
  close(): Promise<void>;
}

export function ok(body: unknown, headers: Record<string, string> = {}): ScriptedResponse {
  return {
    status: 200,
    headers: {
      'content-type': 'application/json',
      'x-amz-executed-version': '$LATEST',
      ...headers,
    },
    body: JSON.stringify(body),
  };
}

/** Lambda's error answer: JSON body and `x-amzn-ErrorType` so the SDK builds the exception class. */
export function lambdaError(
  status: number,
  errorType: string,
  message: string,
  headers: Record<string, string> = {},
): ScriptedResponse {
  return {
    status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': errorType, ...headers },
    body: JSON.stringify({ Type: status >= 500 ? 'Service' : 'User', message }),
  };
}

export function throttled(retryAfterSeconds?: number): ScriptedResponse {
  return lambdaError(
    429,
    'TooManyRequestsException',
    'Rate exceeded',
    retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
  );
}

export async function startInvokeServer(
  respond: (request: RecordedInvoke, index: number) => ScriptedResponse,
): Promise<InvokeServer> {
  const requests: RecordedInvoke[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const recorded: RecordedInvoke = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        at: Date.now(),
      };
      const index = requests.length;
      requests.push(recorded);
      const answer = respond(recorded, index);
      const send = (): void => {
        res.writeHead(answer.status, answer.headers);
        res.end(answer.body);
      };
      if (answer.delayMs === undefined) send();
      else {
        const t = setTimeout(() => {
          timers.delete(t);
          if (!res.destroyed) send();
        }, answer.delayMs);
        timers.add(t);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${String(port)}`,
    requests,
    async close() {
      for (const t of timers) clearTimeout(t);
      server.closeAllConnections();
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
