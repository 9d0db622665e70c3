import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  MAX_RESPONSE_BYTES,
  RESPONSE_TOO_LARGE,
  RUNTIME_PREFIX,
  RuntimeHeader,
} from './runtime-protocol.js';
import { safeHeaders } from './header-value.js';
import { readBody } from './read-body.js';

/** An invocation handed to the runtime on `GET /invocation/next`. */
export interface RuntimeEvent {
  readonly requestId: string;
  readonly payload: Buffer;
  /** `Lambda-Runtime-*` headers (request id, deadline, ARN, trace, client context, tenant). */
  readonly headers: Readonly<Record<string, string>>;
}

/** What the runtime reports; the environment turns it into the invoke's outcome. */
export interface RuntimeListener {
  /**
   * The runtime asked for work (its first call ends the init phase): the
   * invocation to run now, or undefined to park the request until `deliver`.
   */
  onNext(): RuntimeEvent | undefined;
  onResponse(requestId: string, payload: Buffer, maxMemoryMb: number): void;
  onError(requestId: string, payload: Buffer, errorType: string, maxMemoryMb: number): void;
  onInitError(payload: Buffer, errorType: string): void;
  /** Something the runtime sent (or a bug) failed inside the host; for the host's log only. */
  onProblem?(err: unknown, what: string): void;
}

const OK = JSON.stringify({ status: 'OK' });
/**
 * Result and init-error bodies read at once. Each may hold up to
 * MAX_RESPONSE_BYTES in the host until it ends: without a bound, a function
 * opening many connections that post bodies and never finish them would put
 * any amount of memory on the host, outside its own memory limit. A runtime
 * posts one at a time.
 */
const MAX_BODIES_IN_FLIGHT = 2;
const NEXT_PATH = `${RUNTIME_PREFIX}/invocation/next`;
const INVOCATION_PREFIX = `${RUNTIME_PREFIX}/invocation/`;
const INIT_ERROR_PATH = `${RUNTIME_PREFIX}/init/error`;

function reply(res: ServerResponse, status: number, body: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

function runtimeError(
  res: ServerResponse,
  status: number,
  errorType: string,
  errorMessage: string,
): void {
  reply(res, status, JSON.stringify({ errorMessage, errorType }));
}

function maxMemory(req: IncomingMessage): number {
  const v = Number(req.headers[RuntimeHeader.maxMemoryMb]);
  return Number.isFinite(v) ? v : 0;
}

/**
 * The Lambda Runtime API for ONE execution environment, on its own loopback
 * port: `AWS_LAMBDA_RUNTIME_API` is `host:port` and official runtime clients
 * build URLs from it without a path, so a per-environment server is what
 * any runtime accepts. It holds at most one invocation; the environment
 * decides everything else.
 */
export class RuntimeApi {
  private pendingNext: ServerResponse | undefined;
  /** Request id the runtime may answer (delivered, not yet answered). */
  private open: string | undefined;
  private readonly answered = new Set<string>();
  private bodiesInFlight = 0;

  private constructor(
    private readonly server: Server,
    private readonly listener: RuntimeListener,
  ) {}

  static async start(listener: RuntimeListener): Promise<RuntimeApi> {
    const server = createServer();
    // The runtime long-polls `next` and keeps one socket for its whole life:
    // no request or keep-alive timeouts may cut it.
    server.requestTimeout = 0;
    server.headersTimeout = 0;
    server.keepAliveTimeout = 0;
    server.timeout = 0;
    const api = new RuntimeApi(server, listener);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      api.guard(req, res);
    });
    // A runtime that writes a request Node cannot parse (bad header bytes,
    // garbage) loses that connection, nothing more.
    server.on('clientError', (err: Error, socket) => {
      listener.onProblem?.(err, 'unparseable Runtime API request');
      if (!socket.writable) {
        socket.destroy();
        return;
      }
      const body = JSON.stringify({
        errorMessage: 'Malformed Runtime API request',
        errorType: 'InvalidRequest',
      });
      socket.end(
        `HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\nconnection: close\r\n\r\n${body}`,
      );
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    // After listen, a server error is this environment's problem, never the process's.
    server.on('error', (err) => {
      listener.onProblem?.(err, 'Runtime API server error');
    });
    return api;
  }

  /** `host:port`, the value of AWS_LAMBDA_RUNTIME_API. */
  get address(): string {
    const { port } = this.server.address() as AddressInfo;
    return `127.0.0.1:${port}`;
  }

  /** True while the runtime's `next` is parked: `deliver` may answer it. */
  get waiting(): boolean {
    return this.pendingNext !== undefined && !this.pendingNext.destroyed;
  }

  /** Answers the parked `next` with an invocation; false if the runtime is not waiting. */
  deliver(event: RuntimeEvent): boolean {
    const res = this.pendingNext;
    if (res === undefined || res.destroyed) return false;
    this.pendingNext = undefined;
    this.send(res, event);
    return true;
  }

  async close(): Promise<void> {
    this.pendingNext?.destroy();
    this.pendingNext = undefined;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) =>
      this.server.close(() => {
        resolve();
      }),
    );
  }

  /**
   * The invocation was handed to the runtime through another channel (the
   * bootstrap's private one): a result for it posted here is still accepted,
   * once, as when it was delivered here.
   */
  expect(requestId: string): void {
    this.open = requestId;
  }

  /**
   * Takes the right to answer `requestId`: `ok` once for the delivered
   * invocation, `answered` after that, `unknown` for any other id. Every
   * channel a result can come through asks here, so it is accepted once.
   */
  claim(requestId: string): 'ok' | 'answered' | 'unknown' {
    if (this.open !== requestId) return this.answered.has(requestId) ? 'answered' : 'unknown';
    this.open = undefined;
    // Only the last id matters for the 403 check; keep the set tiny.
    this.answered.clear();
    this.answered.add(requestId);
    return 'ok';
  }

  private send(res: ServerResponse, event: RuntimeEvent): void {
    this.open = event.requestId;
    // The environment builds these from validated or ASCII-encoded values;
    // dropping one Node would refuse keeps a mistake from ever throwing here.
    const { headers, dropped } = safeHeaders(event.headers);
    if (dropped.length > 0)
      this.listener.onProblem?.(
        new Error(`header values not writable: ${dropped.join(', ')}`),
        'runtime event headers dropped',
      );
    try {
      res.writeHead(200, {
        ...headers,
        'content-type': 'application/json',
        'content-length': event.payload.length,
      });
      res.end(event.payload);
    } catch (err) {
      // The runtime loses this `next` and will see its socket close; the
      // invocation then ends through the environment's exit or timeout.
      this.listener.onProblem?.(err, 'cannot deliver the invocation');
      res.destroy();
    }
  }

  /** Any error while serving one runtime request answers that request with a 500, and nothing else. */
  private guard(req: IncomingMessage, res: ServerResponse): void {
    const fail = (err: unknown): void => {
      this.listener.onProblem?.(err, `Runtime API ${req.method ?? ''} failed`);
      try {
        runtimeError(res, 500, 'ServiceException', 'Internal error in the local Runtime API');
      } catch {
        res.destroy();
      }
    };
    try {
      this.handle(req, res, fail);
    } catch (err) {
      fail(err);
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse, fail: (err: unknown) => void): void {
    const url = req.url ?? '';
    if (req.method === 'POST' && this.bodiesInFlight >= MAX_BODIES_IN_FLIGHT) {
      req.resume();
      runtimeError(
        res,
        429,
        'TooManyRequestsException',
        `At most ${MAX_BODIES_IN_FLIGHT} Runtime API requests with a body at once`,
      );
      return;
    }
    if (req.method === 'GET' && url === NEXT_PATH) {
      const event = this.listener.onNext();
      if (event !== undefined) {
        this.send(res, event);
      } else {
        this.pendingNext?.destroy();
        this.pendingNext = res;
        // A parked `next` whose connection went away is no runtime waiting:
        // an invocation delivered to it would be lost and run into its timeout.
        res.on('close', () => {
          if (this.pendingNext === res) this.pendingNext = undefined;
        });
      }
      return;
    }
    if (req.method === 'POST' && url.startsWith(INVOCATION_PREFIX)) {
      const rest = url.slice(INVOCATION_PREFIX.length);
      const slash = rest.indexOf('/');
      const kind = rest.slice(slash + 1);
      if (slash > 0 && (kind === 'response' || kind === 'error')) {
        let requestId: string;
        try {
          requestId = decodeURIComponent(rest.slice(0, slash));
        } catch {
          req.resume();
          runtimeError(res, 400, 'InvalidRequestID', 'Invalid request ID: bad percent-encoding');
          return;
        }
        this.handleResult(req, res, requestId, kind).catch(fail);
        return;
      }
    }
    if (req.method === 'POST' && url === INIT_ERROR_PATH) {
      this.handleInitError(req, res).catch(fail);
      return;
    }
    req.resume();
    runtimeError(
      res,
      404,
      'InvalidRequest',
      `No such Runtime API route: ${req.method ?? ''} ${url.length > 300 ? `${url.slice(0, 300)}…` : url}`,
    );
  }

  private async handleResult(
    req: IncomingMessage,
    res: ServerResponse,
    requestId: string,
    kind: 'response' | 'error',
  ): Promise<void> {
    const body = await this.readResultBody(req);
    if (body === 'incomplete') {
      res.destroy();
      return;
    }
    const claim = this.claim(requestId);
    if (claim !== 'ok') {
      if (claim === 'answered') {
        runtimeError(
          res,
          403,
          'InvalidStateTransition',
          `Invocation ${requestId} was already answered`,
        );
      } else {
        runtimeError(
          res,
          400,
          'InvalidRequestID',
          `Invalid request ID: ${requestId.length > 300 ? `${requestId.slice(0, 300)}…` : requestId}`,
        );
      }
      return;
    }
    if (body === undefined) {
      runtimeError(
        res,
        413,
        'RequestEntityTooLarge',
        `Exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
      );
      this.listener.onError(
        requestId,
        RESPONSE_TOO_LARGE.body,
        RESPONSE_TOO_LARGE.errorType,
        maxMemory(req),
      );
      return;
    }
    reply(res, 202, OK);
    if (kind === 'response') {
      this.listener.onResponse(requestId, body, maxMemory(req));
    } else {
      const type = req.headers[RuntimeHeader.errorType];
      this.listener.onError(
        requestId,
        body,
        typeof type === 'string' ? type : 'Unhandled',
        maxMemory(req),
      );
    }
  }

  /**
   * A posted body; undefined when it is too large; `incomplete` when the
   * connection ended before the body did: no answer was given, whatever
   * part of one arrived. Counted against MAX_BODIES_IN_FLIGHT meanwhile.
   */
  private async readResultBody(req: IncomingMessage): Promise<Buffer | undefined | 'incomplete'> {
    this.bodiesInFlight++;
    try {
      return await readBody(req, MAX_RESPONSE_BYTES);
    } catch {
      return 'incomplete';
    } finally {
      this.bodiesInFlight--;
    }
  }

  private async handleInitError(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const read = await this.readResultBody(req);
    if (read === 'incomplete') {
      res.destroy();
      return;
    }
    const body = read ?? Buffer.from('{}');
    reply(res, 202, OK);
    const type = req.headers[RuntimeHeader.errorType];
    this.listener.onInitError(body, typeof type === 'string' ? type : 'Runtime.Unknown');
  }
}
