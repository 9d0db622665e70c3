import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type from 'typebox';
import { WarmrouteError } from '../../errors.js';
import {
  STATUS_ASSET_TYPES,
  type StatusAssets,
  type StatusFile,
} from '../../status/status-assets.js';
import {
  STATUS_ASSET_PREFIX,
  STATUS_JSON_PATH,
  STATUS_PAGE_PATH,
  type StatusDocument,
} from '../../status/status-document.js';

/**
 * Headers of the page and its assets. The page is the gateway's own code
 * only: scripts and styles from its own origin (no inline code, so an
 * injected string cannot run), fetches to its own origin only, never framed
 * (the explain box takes the admin token), no Referer carrying a URL away.
 */
export const STATUS_PAGE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
});

/**
 * Both revalidate on every load: the asset names carry no content hash, so
 * a gateway upgraded under the same URL must not leave a browser on the old
 * script. The ETag turns the revalidation into a bodiless 304.
 */
const CACHE_CONTROL = 'no-cache';

const AssetParamsSchema = Type.Object({ name: Type.String() });

/** RFC 9110 §13.1.2: a list of entity tags or `*`; weak comparison, as for GET. */
function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((candidate) => {
    const tag = candidate.trim();
    return tag === '*' || tag === etag || tag === `W/${etag}`;
  });
}

function sendFile(request: FastifyRequest, reply: FastifyReply, file: StatusFile): FastifyReply {
  void reply.headers(STATUS_PAGE_HEADERS).header('cache-control', CACHE_CONTROL);
  void reply.header('etag', file.etag);
  if (matchesEtag(request.headers['if-none-match'], file.etag)) return reply.code(304).send();
  return reply.type(file.contentType).send(file.body);
}

/** Sent here rather than thrown: the error handler would log a warning on every page load. */
function sendUnavailable(reply: FastifyReply, reason: string): FastifyReply {
  const err = new WarmrouteError('WR_ERR_STATUS_PAGE_UNAVAILABLE', [reason]);
  return reply
    .code(err.statusCode)
    .header('cache-control', 'no-store')
    .type('application/json')
    .send(err.toJSON());
}

/**
 * `GET /v1/status` (the page), `/v1/status/assets/{name}` (its script and
 * styles) and `/v1/status.json` (what the page polls). Public like
 * `/metrics`: the document holds counts and configured names, never a key
 * or a tenant ID (src/status/status-document.ts); keys are shown only
 * through the token-protected `/v1/keys/{key}`. HEAD is Fastify's twin of
 * each GET; other methods get the gateway's 405 (src/http/gateway-space.ts).
 */
export function registerStatusRoutes(
  app: FastifyInstance,
  deps: { assets: StatusAssets; document: () => Promise<StatusDocument> },
): void {
  const { assets } = deps;

  app.get(STATUS_PAGE_PATH, (request, reply) =>
    assets.available
      ? sendFile(request, reply, assets.page)
      : sendUnavailable(reply, assets.reason),
  );

  app.get<{ Params: { name: string } }>(
    `${STATUS_ASSET_PREFIX}:name`,
    { schema: { params: AssetParamsSchema } },
    (request, reply) => {
      const { name } = request.params;
      // Own-property lookup in the allow-list: `constructor`, `__proto__` are not names.
      if (!Object.hasOwn(STATUS_ASSET_TYPES, name)) {
        const err = new WarmrouteError('WR_ERR_ROUTE_NOT_FOUND', [
          `${request.method} ${STATUS_ASSET_PREFIX}${name}`,
        ]);
        return reply.code(err.statusCode).type('application/json').send(err.toJSON());
      }
      if (!assets.available) return sendUnavailable(reply, assets.reason);
      const file = assets.assets.get(name);
      // Loaded together with the page (loadStatusAssets): present whenever it is available.
      if (file === undefined) return sendUnavailable(reply, `${name} was not loaded`);
      return sendFile(request, reply, file);
    },
  );

  app.get(STATUS_JSON_PATH, async (_request, reply) => {
    const body = jsonOf(await deps.document());
    return reply
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .type('application/json; charset=utf-8')
      .send(body);
  });
}

/**
 * The sampler hands the same document to every poll for a while; its JSON
 * (~70 kB and ~0.4 ms at 100 functions) is made once per document, not once
 * per request, so a flood of polls does not serialise it thousands of times.
 */
const jsonBodies = new WeakMap<StatusDocument, string>();

function jsonOf(document: StatusDocument): string {
  let body = jsonBodies.get(document);
  if (body === undefined) {
    body = JSON.stringify(document);
    jsonBodies.set(document, body);
  }
  return body;
}
