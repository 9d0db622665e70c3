import type { IncomingMessage } from 'node:http';

/** The body did not arrive in time: the client stalled mid-body. */
export class BodyTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`The request body did not arrive within ${timeoutMs} ms`);
    this.name = 'BodyTimeoutError';
  }
}

/**
 * Reads a request body up to `limit` bytes; `undefined` when it is larger
 * (the rest is drained, not kept, so the connection stays usable). With
 * `timeoutMs`, a body that has not ended by then rejects with
 * BodyTimeoutError: a client sending a chunked body slowly would otherwise
 * hold its socket (and this promise) forever.
 */
export function readBody(
  req: IncomingMessage,
  limit: number,
  timeoutMs?: number,
): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            reject(new BodyTimeoutError(timeoutMs));
          }, timeoutMs);
    timer?.unref();
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => {
      clearTimeout(timer);
      if (size > limit) resolve(undefined);
      else resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size));
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // A client that goes away mid-body ends neither with 'end' nor always with 'error'.
    req.on('close', () => {
      clearTimeout(timer);
      if (!req.complete) reject(new Error('request closed before its body ended'));
    });
  });
}
