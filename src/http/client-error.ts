import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { WarmrouteError } from '../errors.js';

interface ConnectionError extends Error {
  readonly code?: string;
  /** llhttp's reason, e.g. "Invalid header value char". */
  readonly reason?: string;
}

/** What a connection-level error means to the client, as a catalogue error. */
export function clientErrorOf(err: ConnectionError): WarmrouteError {
  switch (err.code) {
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return new WarmrouteError('WR_ERR_REQUEST_TIMEOUT', ['whole-request timeout']);
    case 'ERR_HTTP_HEADERS_TIMEOUT':
      return new WarmrouteError('WR_ERR_REQUEST_TIMEOUT', ['headers timeout']);
    case 'HPE_HEADER_OVERFLOW':
      return new WarmrouteError('WR_ERR_HEADERS_TOO_LARGE');
    case 'HPE_INVALID_METHOD':
      return new WarmrouteError('WR_ERR_BAD_REQUEST', ['unknown HTTP method']);
    default: {
      // llhttp's reasons name the rule that was broken, never the bytes sent.
      const why = typeof err.reason === 'string' ? err.reason : (err.code ?? 'unreadable request');
      return new WarmrouteError('WR_ERR_BAD_REQUEST', [`malformed HTTP request (${why})`]);
    }
  }
}

/** An HTTP/1.1 response with the error contract, as bytes for a raw socket. */
export function rawErrorResponse(error: WarmrouteError): string {
  const body = JSON.stringify(error.toJSON());
  const status = error.statusCode;
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'Content-Type: application/json; charset=utf-8\r\n' +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    'Connection: close\r\n' +
    '\r\n' +
    body
  );
}

/**
 * Fastify's `clientErrorHandler`: Node's HTTP parser and its header/request
 * timeouts fail a connection before any route runs, and Node's (or
 * Fastify's) default answer is not the gateway's error contract. The answer
 * is written on the socket as raw bytes, then the connection is closed (the
 * parser cannot continue after an error).
 */
export function createClientErrorHandler(
  logger: FastifyBaseLogger,
): (err: ConnectionError, socket: Socket) => void {
  return (err, socket) => {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const error = clientErrorOf(err);
    logger.debug({ err, code: error.code }, 'client error');
    // A response already under way on this socket (a timeout while a previous
    // response streams) must not get bytes interleaved: Node's own handler
    // makes the same check on this internal field.
    const inFlight: unknown = Reflect.get(socket, '_httpMessage');
    const headersSent =
      typeof inFlight === 'object' &&
      inFlight !== null &&
      (inFlight as { headersSent?: unknown }).headersSent === true;
    if (socket.writable && !headersSent) socket.end(rawErrorResponse(error));
    // end() flushes the answer first; destroy() after it stops a client that keeps sending.
    socket.destroySoon();
  };
}
