import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Config } from './config/schema.js';
import type { GatewayDependencies } from './create-dependencies.js';
import { createClientErrorHandler, rawErrorResponse } from './http/client-error.js';
import { frameworkErrorHandler, installErrorHandler } from './http/error-handler.js';
import { claimGatewaySpace, RouteTable } from './http/gateway-space.js';
import { lazyChildLoggerFactory } from './http/lazy-request-logger.js';
import { isRoutableTarget } from './http/request-target.js';
import { registerAdminRoutes } from './http/routes/admin.js';
import { registerHealthRoutes } from './http/routes/health.js';
import { registerProxyRoute } from './http/routes/proxy.js';
import { registerRpcRoute } from './http/routes/rpc.js';
import { registerStatusRoutes } from './http/routes/status.js';
import type { AffinityInvoker } from './invoker/affinity-invoker.js';
import type { LocalHost } from './localhost/local-host.js';
import { WarmrouteError } from './errors.js';
import { packageVersion } from './status/package-version.js';
import { loadStatusAssets } from './status/status-assets.js';
import { StatusSampler } from './status/status-sampler.js';

/**
 * What the app serves requests with: the request path `createDependencies`
 * built (the app closes none of it; its owner does).
 */
export interface AppDeps extends Pick<
  GatewayDependencies,
  'directory' | 'scheduler' | 'metrics' | 'invoker'
> {
  /** A pino logger (Fastify's base logger type, so route modules take a plain FastifyInstance). */
  readonly logger: FastifyBaseLogger;
  /** The embedded local host, when the gateway runs one: its environments show on the status page. */
  readonly localHost?: Pick<LocalHost, 'environments' | 'stats'> | undefined;
  /** Where the built status page is read from (default dist/status-page); tests point it elsewhere. */
  readonly statusPageDir?: string | undefined;
}

export interface WarmrouteApp {
  /**
   * The public listener's instance: function traffic (RPC and proxy routes),
   * plus admin, health, status and metrics unless `adminPort` moves them to `admin`.
   */
  readonly app: FastifyInstance;
  /** Admin, health, status and metrics when `adminPort` is set (its own listener), else undefined. */
  readonly admin: FastifyInstance | undefined;
  readonly invoker: AffinityInvoker;
  /** Closes the public instance first (in-flight requests drain), then the admin one; stops the status sampler. */
  close(): Promise<void>;
}

/** Router limit far above any URL Node's header-size limit lets through, so a long key or
 * function name reaches its route (and that route's own validation) instead of a fallback. */
const MAX_PARAM_LENGTH = 16_384;

/**
 * How often Node looks for connections past the header or whole-request
 * timeout. Node's default (30 s) lets a stalled request live up to 30 s past
 * its bound; a quarter of the smaller bound (5 ms–1 s) keeps the overshoot
 * small without a busy timer.
 */
export function connectionsCheckingIntervalMs(config: Config): number {
  const smaller = Math.min(config.headersTimeoutMs, config.bodyTimeoutMs);
  return Math.max(5, Math.min(1_000, Math.floor(smaller / 4)));
}

/** Paths still answered while the gateway shuts down: probes must see the shutdown itself. */
const answeredWhileClosing = new Set(['/healthz', '/readyz']);

function createInstance(
  config: Config,
  deps: AppDeps,
  shutdown: { closing: boolean },
): { app: FastifyInstance; routes: RouteTable } {
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
    // Fastify's own 503 has neither the error contract nor Retry-After: the
    // onRequest hook below answers instead.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
    trustProxy: false,
    keepAliveTimeout: config.keepAliveTimeoutMs,
    // Fastify sets Node's requestTimeout from its own option (default 0: a
    // request body may take forever); headersTimeout and the check interval
    // are Node server options.
    requestTimeout: config.bodyTimeoutMs,
    http: {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.bodyTimeoutMs,
      connectionsCheckingInterval: connectionsCheckingIntervalMs(config),
    },
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    frameworkErrors: frameworkErrorHandler,
    clientErrorHandler: createClientErrorHandler(deps.logger),
  });
  app.server.maxConnections = config.maxConnections;
  // Node hands a CONNECT request to 'connect' listeners and, with none,
  // drops the connection without an answer; the gateway tunnels nothing.
  app.server.on('connect', (request: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    const error = new WarmrouteError('WR_ERR_METHOD_NOT_ALLOWED', [
      'CONNECT',
      'this gateway (it is not a tunnelling proxy)',
    ]);
    deps.logger.debug({ url: request.url }, 'CONNECT refused');
    socket.end(rawErrorResponse(error));
  });
  const routes = new RouteTable(app);

  // Payloads are passed to functions as bytes; routes decide what to parse.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => {
    done(null, body);
  });
  installErrorHandler(app, config.maxPayloadBytes);

  // Registered before any other preClose hook, so it is set before draining starts.
  app.addHook('preClose', (done) => {
    shutdown.closing = true;
    done();
  });
  // The first hook, so a target no route can serve never reaches one (nor its
  // hooks: the admin token check would answer 401 first).
  app.addHook('onRequest', (request, reply, done) => {
    if (!isRoutableTarget(request.raw.url ?? '')) {
      done(
        new WarmrouteError('WR_ERR_BAD_REQUEST', [
          'the request target must be a path starting with / or an absolute http(s) URL',
        ]),
      );
      return;
    }
    if (!shutdown.closing || answeredWhileClosing.has(request.routeOptions.url ?? '')) {
      done();
      return;
    }
    void reply.header('connection', 'close');
    // The same Retry-After as every other refusal the gateway answers 503
    // (README: WARMROUTE_QUEUE_RETRY_AFTER_SECONDS covers shutdown too).
    done(
      new WarmrouteError('WR_ERR_SHUTTING_DOWN', [], {
        retryAfterSeconds: config.queueRetryAfterSeconds,
      }),
    );
  });
  return { app, routes };
}

/**
 * The gateway as Fastify instances, wired to their dependencies: one, or
 * with `adminPort` a public one (function traffic) and an admin one (admin,
 * health, metrics) sharing the same dependencies. It never listens (only
 * `main` does), so tests drive it with `inject()` or listen on port 0
 * themselves.
 */
export function buildApp(config: Config, deps: AppDeps): WarmrouteApp {
  const shutdown = { closing: false };
  const publicSide = createInstance(config, deps, shutdown);
  const adminSide =
    config.adminPort === undefined ? undefined : createInstance(config, deps, shutdown);
  const operatorSide = adminSide ?? publicSide;
  const app = publicSide.app;
  const admin = adminSide?.app;
  const operatorApp = operatorSide.app;

  const { invoker } = deps;

  registerHealthRoutes(operatorApp, {
    directory: deps.directory,
    registry: deps.metrics.registry,
    isShuttingDown: () => shutdown.closing,
  });
  registerAdminRoutes(operatorApp, { directory: deps.directory, adminToken: config.adminToken });
  // Reads what the request path already counts, on its own timer: nothing is added per request.
  const sampler = new StatusSampler(
    {
      metrics: deps.metrics,
      directory: deps.directory,
      scheduler: deps.scheduler,
      localHost: deps.localHost,
      version: packageVersion(),
    },
    {
      // A failed step leaves a gap in the page's series; it must not go unseen.
      onError: (err) => {
        deps.logger.warn({ err }, 'status page sampler step failed');
      },
    },
  );
  const statusAssets = loadStatusAssets(deps.statusPageDir);
  if (!statusAssets.available) {
    deps.logger.warn(
      { reason: statusAssets.reason, dir: statusAssets.dir },
      'status page not served (status.json is)',
    );
  }
  registerStatusRoutes(operatorApp, {
    assets: statusAssets,
    document: () => sampler.document(),
  });
  registerRpcRoute(app, {
    invoker,
    keyHeader: config.keyHeader,
    requestTimeoutMs: config.requestTimeoutMs,
    budget: config.rpcBudget,
  });
  for (const route of config.routes) {
    registerProxyRoute(app, route, {
      invoker,
      keyHeader: config.keyHeader,
      requestTimeoutMs: config.requestTimeoutMs,
      maxPayloadBytes: config.maxPayloadBytes,
      stage: config.stage,
    });
  }
  const healthPaths = ['/metrics', '/healthz', '/readyz'];
  claimGatewaySpace(operatorApp, operatorSide.routes, healthPaths);
  if (adminSide !== undefined) claimGatewaySpace(app, publicSide.routes, []);
  sampler.start();

  // In-flight requests get the grace to finish; when it ends the drain answers
  // those still running or queued with 503 WR_ERR_SHUTTING_DOWN at once, so the
  // listener can close instead of waiting for a hung call (the caller of
  // close() then closes the backend, which aborts the calls left behind).
  app.addHook('preClose', async () => {
    await deps.scheduler.drain(config.shutdownGraceMs);
  });

  return {
    app,
    admin,
    invoker,
    async close() {
      try {
        await app.close();
      } finally {
        try {
          await admin?.close();
        } finally {
          sampler.close();
        }
      }
    },
  };
}
