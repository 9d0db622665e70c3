import { connect, type Socket } from 'node:net';

export interface RawExchange {
  /** Everything the server sent before closing (or before `idleMs` of silence). */
  readonly text: string;
  /** The status code of the first response, or undefined when none came. */
  readonly status: number | undefined;
  /** Headers of the first response, lower-cased names. */
  readonly headers: Record<string, string>;
  /** Body of the first response (by Content-Length). */
  readonly body: string;
  /** True when the server closed the connection. */
  readonly closed: boolean;
}

function parse(text: string, closed: boolean): RawExchange {
  const headEnd = text.indexOf('\r\n\r\n');
  if (headEnd === -1) return { text, status: undefined, headers: {}, body: '', closed };
  const [statusLine = '', ...lines] = text.slice(0, headEnd).split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? NaN);
  const rest = text.slice(headEnd + 4);
  const body = Number.isFinite(length) ? Buffer.from(rest).subarray(0, length).toString() : rest;
  return { text, status: Number.isFinite(status) ? status : undefined, headers, body, closed };
}

/** Opens a TCP connection to an `http://host:port` URL. */
export function openSocket(url: string): Promise<Socket> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({ host: hostname, port: Number(port) }, () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/**
 * Collects what the server sends on `socket` until it closes the connection,
 * or until `limitMs` passes (then `closed` is false). The limit is a safety
 * net so a test fails instead of hanging, never the thing under test.
 */
export function collect(socket: Socket, limitMs: number): Promise<RawExchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(parse(Buffer.concat(chunks).toString('latin1'), closed));
    };
    const timer = setTimeout(() => {
      finish(false);
    }, limitMs);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('close', () => {
      finish(true);
    });
    socket.on('error', () => {
      finish(true);
    });
  });
}

/** Sends raw bytes on a new connection and collects the answer until the server closes it. */
export async function rawExchange(
  url: string,
  bytes: string | Buffer,
  limitMs = 10_000,
): Promise<RawExchange> {
  const socket = await openSocket(url);
  const answer = collect(socket, limitMs);
  socket.write(bytes);
  return answer;
}
