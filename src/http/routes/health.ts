import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import type { Directory } from '../../directory/types.js';
import { WarmrouteError } from '../../errors.js';

/** What the health routes need of the directory. */
export type HealthSource = Pick<Directory, 'health'>;

/**
 * `/healthz`: the process is alive. `/readyz`: dependencies usable — 200
 * with `degraded` and a reason while requests still flow on derived tenant
 * IDs (Redis down), 503 while shutting down. `/metrics`: Prometheus text.
 */
export function registerHealthRoutes(
  app: FastifyInstance,
  deps: { directory: HealthSource; registry: Registry; isShuttingDown: () => boolean },
): void {
  app.get('/healthz', (_request, reply) => reply.send({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    if (deps.isShuttingDown()) {
      // A probe reads the status; a client that branches on errors reads the code.
      const err = new WarmrouteError('WR_ERR_SHUTTING_DOWN');
      return reply
        .code(503)
        .header('retry-after', '1')
        .send({ status: 'shutting_down', ...err.toJSON() });
    }
    const health = deps.directory.health();
    return reply.code(200).send({
      status: health.status,
      ...(health.reason === undefined ? {} : { reason: health.reason }),
      directory: health,
    });
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.registry.metrics();
    return reply.type(deps.registry.contentType).send(text);
  });
}
