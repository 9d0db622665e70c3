import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Backend } from './backend/backend.js';
import type { Config } from './config/schema.js';
import { installErrorHandler } from './http/error-handler.js';
import { lazyChildLoggerFactory } from './http/lazy-request-logger.js';
import { registerAdminRoutes, type AdminDirectoryPort } from './http/routes/admin.js';
import { registerHealthRoutes, type HealthSource } from './http/routes/health.js';
import { registerProxyRoute } from './http/routes/proxy.js';
import { registerRpcRoute } from './http/routes/rpc.js';
import {
  createAffinityInvoker,
  type AffinityInvoker,
  type DirectoryPort,
  type SchedulerPort,
} from './invoker/affinity-invoker.js';
import type { Metrics } from './metrics.js';

export interface AppDeps {
  readonly directory: DirectoryPort &
    AdminDirectoryPort &
    HealthSource & {
      counters(): ReturnType<Parameters<Metrics['watchDirectory']>[0]['counters']>;
    };
  readonly scheduler: SchedulerPort & {
    stats(): { running: number; queued: number };
    drain(timeoutMs: number): Promise<void>;
  };
  readonly backend: Backend;
  readonly metrics: Metrics;
  /** A pino logger (Fastify's base logger type, so route modules take a plain FastifyInstance). */
  readonly logger: FastifyBaseLogger;
}

export interface WarmrouteApp {
  readonly app: FastifyInstance;
  readonly invoker: AffinityInvoker;
}

/**
 * The gateway as a Fastify instance, wired to its dependencies. It never
 * listens (only `main` does), so tests drive it with `inject()` or listen on
 * port 0 themselves.
 */
export function buildApp(config: Config, deps: AppDeps): WarmrouteApp {
  let shuttingDown = false;
  const requestIdPrefix = randomBytes(6).toString('hex');
  let requestCounter = 0;
  const app = Fastify({
    loggerInstance: deps.logger,
    // Per-request access logs cost more than the routing itself at thousands
    // of requests per second; errors are still logged by the error handler.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: config.maxPayloadBytes,
    // Unique per process and cheap: a random prefix and a counter (a UUID per
    // request costs more than it is worth on the hot path).
    genReqId: () => `${requestIdPrefix}-${(++requestCounter).toString(36)}`,
    childLoggerFactory: lazyChildLoggerFactory,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    trustProxy: false,
  });

  // Payloads are passed to functions as bytes; routes decide what to parse.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });
  // Cookie parsing is an onRequest hook on every request: only pay for it
  // when a route takes its key from a cookie.
  if (config.routes.some((r) => r.key?.from === 'cookie')) void app.register(fastifyCookie);
  installErrorHandler(app, config.maxPayloadBytes);

  deps.metrics.watchDirectory(deps.directory);
  deps.metrics.watchScheduler(deps.scheduler);

  const invoker = createAffinityInvoker({
    directory: deps.directory,
    scheduler: deps.scheduler,
    backend: deps.backend,
    metrics: deps.metrics,
    functions: config.functions,
    logTail: config.logTail,
  });

  registerHealthRoutes(app, {
    directory: deps.directory,
    registry: deps.metrics.registry,
    isShuttingDown: () => shuttingDown,
  });
  registerRpcRoute(app, {
    invoker,
    keyHeader: config.keyHeader,
    requestTimeoutMs: config.requestTimeoutMs,
  });
  registerAdminRoutes(app, { directory: deps.directory, adminToken: config.adminToken });
  for (const route of config.routes) {
    registerProxyRoute(app, route, {
      invoker,
      keyHeader: config.keyHeader,
      requestTimeoutMs: config.requestTimeoutMs,
      maxPayloadBytes: config.maxPayloadBytes,
      stage: config.stage,
    });
  }

  app.addHook('preClose', async () => {
    shuttingDown = true;
    await deps.scheduler.drain(config.shutdownGraceMs);
  });

  return { app, invoker };
}
