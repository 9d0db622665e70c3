import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WarmrouteError, isWarmrouteError, type ErrorCode } from '../errors.js';

/**
 * Catalogue codes for the 4xx statuses Fastify itself raises (body parsing,
 * schema validation, router limits), so each keeps its status under the
 * gateway's error contract.
 */
const codeForStatus: Readonly<Record<number, ErrorCode>> = {
  404: 'WR_ERR_ROUTE_NOT_FOUND',
  405: 'WR_ERR_METHOD_NOT_ALLOWED',
  408: 'WR_ERR_REQUEST_TIMEOUT',
  414: 'WR_ERR_URI_TOO_LONG',
  415: 'WR_ERR_UNSUPPORTED_MEDIA_TYPE',
  431: 'WR_ERR_HEADERS_TOO_LARGE',
};

function sendError(reply: FastifyReply, wrError: WarmrouteError): FastifyReply {
  if (wrError.retryAfterSeconds !== undefined) {
    void reply.header('retry-after', String(Math.max(1, Math.ceil(wrError.retryAfterSeconds))));
  }
  return reply.code(wrError.statusCode).type('application/json').send(wrError.toJSON());
}

/** A Fastify error with a 4xx status as a catalogue error (its message is meant for clients). */
function fromClientError(
  err: Error & { statusCode: number },
  request: FastifyRequest,
): WarmrouteError {
  const code = codeForStatus[err.statusCode];
  switch (code) {
    case undefined:
      return new WarmrouteError('WR_ERR_BAD_REQUEST', [err.message]);
    case 'WR_ERR_ROUTE_NOT_FOUND':
    case 'WR_ERR_URI_TOO_LONG':
    case 'WR_ERR_UNSUPPORTED_MEDIA_TYPE':
    case 'WR_ERR_REQUEST_TIMEOUT':
      return new WarmrouteError(code, [err.message]);
    case 'WR_ERR_METHOD_NOT_ALLOWED':
      return new WarmrouteError(code, [request.method, request.url.split('?', 1)[0] ?? '/']);
    default:
      return new WarmrouteError(code);
  }
}

/**
 * The root error handler: deliberate errors (WarmrouteError, and Fastify's
 * own 4xx such as an oversized body) are shown to the client as
 * `{ error: { code, message } }`; anything else is logged and answered with a
 * generic 500 that hides internals.
 */
export function installErrorHandler(app: FastifyInstance, maxPayloadBytes: number): void {
  app.setErrorHandler((err: FastifyError | WarmrouteError | Error, request, reply) => {
    let wrError: WarmrouteError;
    if (isWarmrouteError(err)) {
      wrError = err;
    } else if ('code' in err && err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      const length = Number(request.headers['content-length'] ?? NaN);
      wrError = new WarmrouteError('WR_ERR_PAYLOAD_TOO_LARGE', [
        Number.isFinite(length) ? length : 'more than',
        maxPayloadBytes,
      ]);
    } else if (
      'statusCode' in err &&
      typeof err.statusCode === 'number' &&
      err.statusCode >= 400 &&
      err.statusCode < 500
    ) {
      wrError = fromClientError(err as Error & { statusCode: number }, request);
    } else if (reply.raw.destroyed && !reply.raw.writableFinished) {
      // The client left while its request waited (ClientGoneSignal): nobody reads this answer.
      request.log.debug({ err }, 'client closed the connection');
      wrError = new WarmrouteError('WR_ERR_BAD_REQUEST', ['client closed the connection']);
    } else {
      request.log.error({ err }, 'unhandled error');
      wrError = new WarmrouteError('WR_ERR_INTERNAL');
    }
    if (wrError.statusCode >= 500 && isWarmrouteError(err)) request.log.warn({ err }, wrError.code);
    return sendError(reply, wrError);
  });
}

/**
 * Fastify's `frameworkErrors`: what its router refuses before any route or
 * hook runs (malformed percent-encoding in the path, an over-long path
 * parameter), under the gateway's error contract instead of Fastify's body.
 */
export function frameworkErrorHandler(
  err: FastifyError,
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  let wrError: WarmrouteError;
  switch (err.code) {
    case 'FST_ERR_BAD_URL':
      wrError = new WarmrouteError('WR_ERR_BAD_REQUEST', [
        'the URL path is not valid percent-encoding',
      ]);
      break;
    case 'FST_ERR_MAX_PARAM_LENGTH':
      wrError = new WarmrouteError('WR_ERR_URI_TOO_LONG', ['a path segment is too long']);
      break;
    default:
      if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
        wrError = fromClientError(err as FastifyError & { statusCode: number }, request);
      } else {
        request.log.error({ err }, 'router error');
        wrError = new WarmrouteError('WR_ERR_INTERNAL');
      }
  }
  void sendError(reply, wrError);
}
