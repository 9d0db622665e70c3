import { connect, type Socket } from 'node:net';

/**
 * HTTP/1.1 at the byte level, for what no HTTP client will send (bytes that
 * are not UTF-8, raw non-ASCII or CR/LF in headers, malformed request lines)
 * and for connections a test holds open (partial requests that stall).
 *
 * - `openSocket` + `collect`: the socket-level primitives. Open a connection,
 *   write whatever bytes (partial or not) whenever the test wants, and collect
 *   what comes back until the server closes the connection or a limit passes.
 * - `rawExchange`: send bytes as they are on a new connection and return the
 *   answer (read to the end of the connection, or only the first answer).
 * - `rawRequest`: build a request from parts (`Connection: close` is added)
 *   and return the answer.
 *
 * There is one response parser, `parseRawResponse`, and one `RawResponse`.
 */

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
  /** The body as sent: by Content-Length, de-chunked, or to the end of the data. */
  readonly body: Buffer;
}

export interface RawRequestSpec {
  readonly method?: string;
  /** Request target as bytes or text (sent as UTF-8). */
  readonly target: string | Buffer;
  /** Header lines as [name, value]; values may be Buffers with any bytes. */
  readonly headers?: readonly (readonly [string, string | Buffer])[];
  readonly body?: string | Buffer;
}

/** What `collect` saw on a connection. */
export interface Collected {
  /** Every byte the server sent, in order. */
  readonly bytes: Buffer;
  /** True when the server closed the connection; false when the limit passed first. */
  readonly closed: boolean;
  /** The first final answer, or undefined when no complete response head came. */
  readonly response: RawResponse | undefined;
}

function encodeRawRequest(host: string, spec: RawRequestSpec): Buffer {
  const body =
    spec.body === undefined
      ? undefined
      : Buffer.isBuffer(spec.body)
        ? spec.body
        : Buffer.from(spec.body);
  const parts: Buffer[] = [
    Buffer.from(`${spec.method ?? 'GET'} `),
    Buffer.isBuffer(spec.target) ? spec.target : Buffer.from(spec.target),
    Buffer.from(` HTTP/1.1\r\nhost: ${host}\r\nconnection: close\r\n`),
  ];
  for (const [name, value] of spec.headers ?? []) {
    parts.push(
      Buffer.from(`${name}: `),
      Buffer.isBuffer(value) ? value : Buffer.from(value),
      Buffer.from('\r\n'),
    );
  }
  if (body !== undefined) parts.push(Buffer.from(`content-length: ${body.length}\r\n`));
  parts.push(Buffer.from('\r\n'));
  if (body !== undefined) parts.push(body);
  return Buffer.concat(parts);
}

/** Opens a TCP connection to an `http://host:port` URL. */
export function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const host = hostname.replace(/^\[(.*)\]$/, '$1'); // an IPv6 literal without brackets
    const socket = connect({ host, port: Number(port) }, () => {
      resolve(socket);
    });
    // Stays on: an error after connecting, before `collect` listens, must not go unhandled.
    socket.once('error', reject);
  });
}

type Ending =
  | { readonly how: 'close' }
  | { readonly how: 'error'; readonly error: Error }
  | { readonly how: 'limit' }
  | { readonly how: 'response' };

/**
 * Reads `socket` until it closes, errs, `limitMs` passes or (with
 * `untilFirstResponse`) the first answer is complete; then destroys it.
 * Never rejects.
 */
function receive(
  socket: Socket,
  limitMs: number,
  untilFirstResponse: boolean,
): Promise<{ bytes: Buffer; ending: Ending }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (ending: Ending): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ bytes: Buffer.concat(chunks), ending });
    };
    const timer = setTimeout(() => {
      finish({ how: 'limit' });
    }, limitMs);
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (untilFirstResponse && firstResponseComplete(Buffer.concat(chunks)))
        finish({ how: 'response' });
    });
    socket.on('close', () => {
      finish({ how: 'close' });
    });
    socket.on('error', (error) => {
      finish({ how: 'error', error });
    });
  });
}

/**
 * Collects what the server sends on `socket` until it closes the connection
 * (an error counts as closed), or until `limitMs` passes (then `closed` is
 * false). The limit is a safety net so a test fails instead of hanging, never
 * the thing under test. The socket is destroyed afterwards.
 */
export async function collect(socket: Socket, limitMs: number): Promise<Collected> {
  const { bytes, ending } = await receive(socket, limitMs, false);
  return { bytes, closed: ending.how !== 'limit', response: tryParseRawResponse(bytes) };
}

export interface RawExchangeOptions {
  /** Rejects when no complete answer came within this; 10 s unless told. */
  readonly timeoutMs?: number;
  /**
   * Resolve as soon as the first answer is complete (by Content-Length, or
   * the last chunk), for connections the server may keep open; otherwise the
   * answer is read to the end of the connection.
   */
  readonly firstResponseOnly?: boolean;
}

/**
 * Sends `bytes` as they are on a new connection and parses the first final
 * answer. Rejects on a socket error, when the connection ends with no answer,
 * or when the answer is not complete within the timeout.
 */
export async function rawExchange(
  url: string,
  bytes: string | Buffer,
  options: RawExchangeOptions = {},
): Promise<RawResponse> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const socket = await openSocket(url);
  const answer = receive(socket, timeoutMs, options.firstResponseOnly === true);
  // write, not end: Node's server drops a connection whose client half-closes
  // before the answer is written.
  socket.write(bytes);
  const { bytes: data, ending } = await answer;
  if (ending.how === 'error') throw ending.error;
  if (ending.how === 'limit') throw new Error(`no complete answer within ${timeoutMs} ms`);
  return parseRawResponse(data);
}

/** Sends the request `spec` describes (with `Connection: close`) and reads the answer to the end of the connection. */
export function rawRequest(
  baseUrl: string,
  spec: RawRequestSpec,
  timeoutMs = 20_000,
): Promise<RawResponse> {
  return rawExchange(baseUrl, encodeRawRequest(new URL(baseUrl).host, spec), { timeoutMs });
}

/** The gateway's error body, `{ error: { code, message } }`, or undefined when the body is not one. */
export function errorCodeOf(res: RawResponse): string | undefined {
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as { error?: { code?: unknown } };
    return typeof parsed.error?.code === 'string' ? parsed.error.code : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The first final answer in `data`: interim answers (100 Continue, 103 Early
 * Hints) are skipped, the body is taken by Content-Length or de-chunked, and
 * anything after it (a second answer) is ignored. Throws when `data` holds no
 * complete response head.
 */
function parseRawResponse(data: Buffer): RawResponse {
  return split(data).response;
}

/** `parseRawResponse`, or undefined when `data` holds no parsable response head. */
function tryParseRawResponse(data: Buffer): RawResponse | undefined {
  try {
    return parseRawResponse(data);
  } catch {
    return undefined;
  }
}

function firstResponseComplete(data: Buffer): boolean {
  try {
    return split(data).complete;
  } catch {
    return false;
  }
}

function split(data: Buffer): { response: RawResponse; complete: boolean } {
  while (/^HTTP\/1\.[01] 1\d\d /.test(data.subarray(0, 16).toString('latin1'))) {
    const end = data.indexOf('\r\n\r\n');
    if (end === -1) break;
    data = data.subarray(end + 4);
  }
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd === -1)
    throw new Error(
      `no HTTP response head in ${JSON.stringify(data.toString('latin1').slice(0, 200))}`,
    );
  const lines = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const statusMatch = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (statusMatch === null) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
  const status = Number(statusMatch[1]);
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const rest = data.subarray(headEnd + 4);
  let body: Buffer;
  let complete: boolean;
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    ({ body, complete } = dechunk(rest));
  } else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    body = rest.subarray(0, length);
    complete = body.length >= length;
  } else {
    body = rest;
    // Without framing the body ends with the connection, except where there is none.
    complete = status === 204 || status === 304;
  }
  return { response: { status, headers, body }, complete };
}

function dechunk(data: Buffer): { body: Buffer; complete: boolean } {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size)) break;
    if (size === 0) return { body: Buffer.concat(out), complete: true };
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return { body: Buffer.concat(out), complete: false };
}
