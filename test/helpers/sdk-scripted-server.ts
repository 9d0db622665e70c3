import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real HTTP server standing in for a gateway in HTTP-transport fault tests:
 * answers each request with the next scripted step (the last one repeats),
 * and counts requests and TCP connections.
 */

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

export type Step = (req: IncomingMessage, res: ServerResponse) => void;

export interface ScriptedServer {
  readonly url: string;
  readonly port: number;
  readonly requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  close(): Promise<void>;
}

export function respond(status: number, body: unknown, headers: Record<string, string> = {}): Step {
  return (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };
}

/** A successful gateway answer for `result`. */
export function ok(result: unknown, state = 'hit'): Step {
  return respond(200, result, {
    'x-affinity-tenant': 'wr-test',
    'x-affinity-state': state,
    'x-affinity-env': 'env-1',
  });
}

export function gatewayError(
  status: number,
  code: string,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {},
): Step {
  return respond(
    status,
    { error: { code, message: `${code} from the scripted gateway`, ...extra } },
    headers,
  );
}

/** Drops the connection after reading the request: the function may have run. */
export const resetAfterRequest: Step = (req) => {
  req.socket.destroy();
};

/** Never answers (the socket stays open until the client gives up). */
export const hang: Step = () => undefined;

export async function startScriptedServer(
  steps: readonly Step[],
  options: { port?: number } = {},
): Promise<ScriptedServer> {
  const requests: SeenRequest[] = [];
  const state = { connections: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = Math.min(requests.length, steps.length - 1);
      requests.push({
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      const step = steps[index];
      if (step === undefined) throw new Error('scripted server has no steps');
      step(req, res);
    });
  });
  server.on('connection', () => {
    state.connections++;
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    connections: () => state.connections,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
