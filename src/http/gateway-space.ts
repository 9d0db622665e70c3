import type { FastifyInstance, FastifyReply, FastifyRequest, RouteHandlerMethod } from 'fastify';
import { GATEWAY_PATH_ROOTS, gatewayRootOf } from '../config/check-config.js';
import { WarmrouteError } from '../errors.js';
import { routedPath, splitRequestTarget } from './request-target.js';

/** A Fastify route path (`/v1/keys/:key`, `/fresh/*`) as a whole-path pattern. */
function patternOf(url: string): RegExp {
  const source = url
    .split('/')
    .map((part) => {
      if (part === '*') return '.*';
      if (part.startsWith(':')) return '[^/]+';
      return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}$`);
}

/**
 * The routes of one instance with their methods, to tell a wrong method
 * (405 with `Allow`) from an unknown path (404). Fastify's router does not
 * say which methods a path has, so the table is filled by an `onRoute` hook;
 * the catch-alls of the gateway's space are left out (they are not routes
 * anyone can use).
 */
export class RouteTable {
  readonly #routes: {
    readonly pattern: RegExp;
    readonly methods: readonly string[];
    /** Registered inside the gateway's own space (`/v1/…`), not a proxy catch-all. */
    readonly gateway: boolean;
  }[] = [];
  readonly #catchAlls = new WeakSet<object>();

  /** Must run before any route is added. */
  constructor(app: FastifyInstance) {
    app.addHook('onRoute', (route) => {
      if (this.#catchAlls.has(route.handler)) return;
      const methods = Array.isArray(route.method) ? route.method : [route.method];
      const url = route.url;
      this.#routes.push({
        pattern: patternOf(url),
        methods,
        gateway: gatewayRootOf(url) !== undefined,
      });
    });
  }

  markCatchAll(handler: RouteHandlerMethod): void {
    this.#catchAlls.add(handler);
  }

  /** Methods some route takes for `path`. */
  allowedMethods(path: string): string[] {
    const allowed = new Set<string>();
    // In the gateway's space a proxy route's wildcard never applies (the catch-alls come first).
    const inGatewaySpace = gatewayRootOf(path) !== undefined;
    for (const route of this.#routes) {
      if (inGatewaySpace && !route.gateway) continue;
      if (route.pattern.test(path)) for (const m of route.methods) allowed.add(m);
    }
    if (allowed.has('GET')) allowed.add('HEAD');
    return [...allowed];
  }
}

/**
 * The 404 or 405 for a request no route takes: 405 with `Allow` when the
 * path exists with other methods (whatever serves it, gateway or proxy
 * route), 404 otherwise.
 */
function answerMiss(table: RouteTable, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { path } = splitRequestTarget(request.raw.url ?? '/');
  // Matched as the router matched it (`/v%31/keys/k` is `/v1/keys/k`), named as sent.
  const methods = table.allowedMethods(routedPath(path));
  if (methods.includes(request.method)) {
    // A route for this method and path shape exists, yet the router passed it
    // by: a path parameter over the router's length limit.
    const err = new WarmrouteError('WR_ERR_URI_TOO_LONG', ['a path segment is too long']);
    return reply.code(err.statusCode).type('application/json').send(err.toJSON());
  }
  const allowed = methods.filter((m) => m !== request.method);
  if (allowed.length > 0) {
    const err = new WarmrouteError('WR_ERR_METHOD_NOT_ALLOWED', [request.method, path]);
    return reply
      .code(err.statusCode)
      .header('allow', allowed.join(', '))
      .type('application/json')
      .send(err.toJSON());
  }
  const err = new WarmrouteError('WR_ERR_ROUTE_NOT_FOUND', [`${request.method} ${path}`]);
  return reply.code(err.statusCode).type('application/json').send(err.toJSON());
}

/**
 * Claims the gateway's own path space on `app`: `/v1`, `/metrics`,
 * `/healthz`, `/readyz` and everything under each. A request there that no
 * gateway route takes is a 404 or 405 that invokes nothing, even with a
 * proxy route on `/` (otherwise a wrong method, or a path a gateway route
 * does not match, would fall through to that route's function). Also the
 * not-found handler, so every miss has the same answer.
 *
 * `served` lists the roots this instance serves with GET (and HEAD): only
 * their other methods are claimed, since a method can be routed once.
 */
export function claimGatewaySpace(
  app: FastifyInstance,
  table: RouteTable,
  served: readonly string[],
): void {
  const handler: RouteHandlerMethod = (request, reply) => answerMiss(table, request, reply);
  table.markCatchAll(handler);
  const allMethods = [...app.supportedMethods];
  for (const root of GATEWAY_PATH_ROOTS) {
    const methods = served.includes(root)
      ? allMethods.filter((m) => m !== 'GET' && m !== 'HEAD')
      : allMethods;
    app.route({ method: methods, url: root, handler });
    app.route({ method: allMethods, url: `${root}/*`, handler });
  }
  app.setNotFoundHandler(handler);
}
