import type { FastifyError, FastifyInstance } from 'fastify';
import { WarmrouteError, isWarmrouteError } from '../errors.js';

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
      wrError = new WarmrouteError('WR_ERR_BAD_REQUEST', [err.message]);
    } else if (reply.raw.destroyed && !reply.raw.writableFinished) {
      // The client left while its request waited (ClientGoneSignal): nobody reads this answer.
      request.log.debug({ err }, 'client closed the connection');
      wrError = new WarmrouteError('WR_ERR_BAD_REQUEST', ['client closed the connection']);
    } else {
      request.log.error({ err }, 'unhandled error');
      wrError = new WarmrouteError('WR_ERR_INTERNAL');
    }
    if (wrError.statusCode >= 500 && isWarmrouteError(err)) request.log.warn({ err }, wrError.code);
    if (wrError.retryAfterSeconds !== undefined) {
      void reply.header('retry-after', String(Math.max(1, Math.ceil(wrError.retryAfterSeconds))));
    }
    return reply.code(wrError.statusCode).type('application/json').send(wrError.toJSON());
  });

  app.setNotFoundHandler((request, reply) => {
    const err = new WarmrouteError('WR_ERR_ROUTE_NOT_FOUND', [
      `${request.method} ${request.url.split('?')[0] ?? ''}`,
    ]);
    return reply.code(err.statusCode).type('application/json').send(err.toJSON());
  });
}
