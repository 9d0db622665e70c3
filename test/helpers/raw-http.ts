import { connect } from 'node:net';

/**
 * HTTP/1.1 at the byte level, for requests no HTTP client will send (bytes
 * that are not UTF-8, raw non-ASCII in headers, malformed request lines).
 * One request per connection (`Connection: close` is added); the answer is
 * read to the end of the connection.
 */

export interface RawResponse {
  readonly status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  readonly headers: Readonly<Record<string, string>>;
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

export function encodeRawRequest(host: string, spec: RawRequestSpec): Buffer {
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

export function rawRequest(
  baseUrl: string,
  spec: RawRequestSpec,
  timeoutMs = 20_000,
): Promise<RawResponse> {
  return rawExchange(baseUrl, encodeRawRequest(new URL(baseUrl).host, spec), timeoutMs);
}

/** Send `bytes` as they are and parse the answer. */
export function rawExchange(
  baseUrl: string,
  bytes: Buffer,
  timeoutMs = 20_000,
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(url.port), url.hostname);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    // write, not end: Node's server drops a connection whose client half-closes
    // before the answer is written.
    socket.on('connect', () => socket.write(bytes));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve(parseRawResponse(Buffer.concat(chunks)));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
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

export function parseRawResponse(data: Buffer): RawResponse {
  // Interim answers (100 Continue, 103 Early Hints) come before the final one.
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
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon === -1) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  let body = data.subarray(headEnd + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = dechunk(body);
  else if (headers['content-length'] !== undefined)
    body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(statusMatch[1]), headers, body };
}

function dechunk(data: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', at);
    if (lineEnd === -1) break;
    const size = Number.parseInt(data.subarray(at, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    out.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    at = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(out);
}
