import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { trimSlash } from '../../config/check-config.js';
import type { RouteConfig } from '../../config/schema.js';
import { createDomainReader } from '../../budget/domain-reader.js';
import { WarmrouteError } from '../../errors.js';
import type { AffinityInvoker } from '../../invoker/affinity-invoker.js';
import { setAffinityHeaders } from '../affinity-headers.js';
import { ClientGoneSignal } from '../client-gone.js';
import { createKeyExtractor } from '../key-extractors.js';
import { BinaryMediaTypes } from '../binary-media-types.js';
import { compileRouteResources } from '../path-template.js';
import { buildProxyEvent, serializeProxyEvent } from '../proxy-event.js';
import { parseProxyResult } from '../proxy-result.js';
import { readValidKey } from '../read-valid-key.js';
import { pathUnderPrefix, routedPath, splitRequestTarget } from '../request-target.js';

export interface ProxyRouteDeps {
  readonly invoker: AffinityInvoker;
  readonly keyHeader: string;
  readonly requestTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly stage: string;
}

// Responses whose function sent `Content-Type: null`: Fastify would label
// their bytes application/octet-stream, API Gateway sends no Content-Type.
const withoutContentType = new WeakSet<FastifyReply>();

/**
 * A reverse-proxy route: a request under `prefix` that one of the route's
 * resources serves (`compileRouteResources`) becomes an API Gateway REST
 * proxy event for the route's function, and the function's proxy result
 * becomes the HTTP response — so existing API Gateway handlers run unchanged.
 */
export function registerProxyRoute(
  app: FastifyInstance,
  route: RouteConfig,
  deps: ProxyRouteDeps,
): void {
  const prefix = trimSlash(route.prefix);
  const keySpec = createKeyExtractor(route.key, deps.keyHeader);
  const resources = compileRouteResources(prefix, route.pathTemplate);
  const binaryMediaTypes = new BinaryMediaTypes(route.binaryMediaTypes ?? []);
  const routeLabel = route.prefix;
  // Only a `pool` budget reads a domain (README "Tenant-environment budget").
  const domainOf = createDomainReader(route.budget);
  // The function is known at start; an unknown one fails start-up, not requests.
  deps.invoker.functionInfo(route.function);

  const handler = async (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
    const receivedAt = Date.now();
    const rawUrl = request.raw.url ?? '/';
    const target = splitRequestTarget(rawUrl);
    // The prefix is cut off the path the router matched (absolute-form and
    // fragment removed, `/e%63ho` read as `/echo`), so the parameters are
    // those of the path that chose this route. A path that still is not
    // under the prefix (the router also decodes a few escapes RFC 3986 keeps
    // distinct, such as `%27` for `'`) is served by no resource.
    const under = pathUnderPrefix(routedPath(target.path), prefix);
    const matched = under === undefined ? undefined : resources.match(under === '' ? '/' : under);
    // The key is read first, so a path key's route answers a path its
    // template does not match (`/p//x`: an empty {k}) with the key error the
    // other key sources give for the same text.
    const key = readValidKey(
      keySpec.extractor(request, matched?.pathParameters ?? null),
      keySpec.describe,
    );
    // A path under the prefix that no resource serves invokes nothing.
    if (matched === undefined) {
      throw new WarmrouteError('WR_ERR_ROUTE_NOT_FOUND', [`${request.method} ${target.path}`]);
    }
    const domain = domainOf?.(request, matched.pathParameters);

    const event = buildProxyEvent(
      {
        method: request.method,
        url: rawUrl,
        rawHeaders: request.raw.rawHeaders,
        body: Buffer.isBuffer(request.body) ? request.body : undefined,
        sourceIp: request.ip,
        requestId: request.id,
        receivedAt,
      },
      {
        stage: deps.stage,
        resource: matched.resource,
        pathParameters: matched.pathParameters,
        binaryMediaTypes,
      },
    );
    const payload = serializeProxyEvent(event);
    if (payload.length > deps.maxPayloadBytes) {
      throw new WarmrouteError('WR_ERR_PAYLOAD_TOO_LARGE', [payload.length, deps.maxPayloadBytes]);
    }

    const result = await deps.invoker.invoke({
      functionName: route.function,
      key,
      mode: route.mode,
      poolSize: route.poolSize,
      route: routeLabel,
      domain,
      payload,
      deadline: receivedAt + deps.requestTimeoutMs,
      signal: new ClientGoneSignal(reply.raw),
    });
    if (result.functionError !== undefined) {
      setAffinityHeaders(reply, result);
      const errorType = result.errorType ?? result.functionError;
      throw new WarmrouteError('WR_ERR_FUNCTION_ERROR', [errorType, route.function], {
        details: { errorType },
      });
    }
    const response = parseProxyResult(result.payload, {
      accept: request.headers.accept,
      binaryMediaTypes,
    });
    reply.code(response.statusCode).headers(response.headers);
    if (response.headers['content-type'] === undefined) withoutContentType.add(reply);
    // After the function's own headers, so a function cannot forge them.
    setAffinityHeaders(reply, result);
    // Returned, not passed to reply.send(): an async handler that returns the
    // reply (a thenable) costs one more promise hop.
    return response.body;
  };
  const options = { onSend: dropContentTypeWhenCleared };

  if (prefix === '/') {
    app.all('/', options, handler);
    app.all('/*', options, handler);
  } else {
    app.all(prefix, options, handler);
    app.all(`${prefix}/*`, options, handler);
  }
}

function dropContentTypeWhenCleared(
  _request: FastifyRequest,
  reply: FastifyReply,
  payload: unknown,
  done: (err: null, payload: unknown) => void,
): void {
  if (withoutContentType.has(reply)) reply.removeHeader('content-type');
  done(null, payload);
}
