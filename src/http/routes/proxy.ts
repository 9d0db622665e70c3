import type { FastifyInstance } from 'fastify';
import type { RouteConfig } from '../../config/schema.js';
import { WarmrouteError } from '../../errors.js';
import type { AffinityInvoker } from '../../invoker/affinity-invoker.js';
import { setAffinityHeaders } from '../affinity-headers.js';
import { ClientGoneSignal } from '../client-gone.js';
import { createKeyExtractor } from '../key-extractors.js';
import { compilePathTemplate, type PathTemplate } from '../path-template.js';
import { buildProxyEvent, serializeProxyEvent } from '../proxy-event.js';
import { parseProxyResult } from '../proxy-result.js';
import { readValidKey } from '../read-valid-key.js';

export interface ProxyRouteDeps {
  readonly invoker: AffinityInvoker;
  readonly keyHeader: string;
  readonly requestTimeoutMs: number;
  readonly maxPayloadBytes: number;
  readonly stage: string;
}

function trimSlash(prefix: string): string {
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/**
 * A reverse-proxy route: any request under `prefix` becomes an API Gateway
 * REST proxy event for the route's function, and the function's proxy result
 * becomes the HTTP response — so existing API Gateway handlers run unchanged.
 */
export function registerProxyRoute(
  app: FastifyInstance,
  route: RouteConfig,
  deps: ProxyRouteDeps,
): void {
  const prefix = trimSlash(route.prefix);
  const keySpec = createKeyExtractor(route.key, deps.keyHeader);
  const template: PathTemplate = compilePathTemplate(route.pathTemplate ?? '/{proxy+}');
  const resource = `${prefix === '/' ? '' : prefix}${template.resource}`;
  const routeLabel = route.prefix;
  // The function is known at start; an unknown one fails start-up, not requests.
  deps.invoker.functionInfo(route.function);

  const handler = async (
    request: import('fastify').FastifyRequest,
    reply: import('fastify').FastifyReply,
  ): Promise<unknown> => {
    const receivedAt = Date.now();
    const rawUrl = request.raw.url ?? '/';
    const pathOnly = rawUrl.split('?', 1)[0] ?? '/';
    const under = prefix === '/' ? pathOnly : pathOnly.slice(prefix.length);
    const pathParameters = template.match(under === '' ? '/' : under) ?? null;
    const key = readValidKey(keySpec.extractor(request, pathParameters), keySpec.describe);

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
      { stage: deps.stage, resource, pathParameters },
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
    const response = parseProxyResult(result.payload);
    reply.code(response.statusCode).headers(response.headers);
    // After the function's own headers, so a function cannot forge them.
    setAffinityHeaders(reply, result);
    return reply.send(response.body);
  };

  if (prefix === '/') {
    app.all('/', handler);
    app.all('/*', handler);
  } else {
    app.all(prefix, handler);
    app.all(`${prefix}/*`, handler);
  }
}
