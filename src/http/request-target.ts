/**
 * The path and query of an HTTP request target, read the way Fastify's
 * router (find-my-way) reads it, so that a proxy route cuts its prefix off
 * the path the router matched and the gateway's 404/405 answers name the
 * path that was routed:
 *
 * - absolute-form (`GET http://host/echo/a?x=1`, RFC 9112 §3.2.2, which a
 *   server must accept) gives the path after the authority, `/` when there
 *   is none;
 * - a raw `#` ends the target, fragment dropped: clients never send one (it
 *   is not allowed in a request target), and the router stops there too;
 * - the query is what follows the first `?`, without the `?`.
 *
 * The path stays as sent, percent-encoding and all: that is API Gateway
 * REST's `event.path`. `routedPath` is the form to compare with route
 * prefixes.
 */
export interface RequestTarget {
  /** Never empty: `/` at least (or the target itself for forms like `*`). */
  readonly path: string;
  /** `''` when there is no query string. */
  readonly query: string;
}

const ABSOLUTE_FORM = /^https?:\/\//i;

export function splitRequestTarget(target: string): RequestTarget {
  let rest = target;
  if (!rest.startsWith('/') && ABSOLUTE_FORM.test(rest)) {
    const authorityAt = rest.indexOf('//') + 2;
    const slashAt = rest.indexOf('/', authorityAt);
    const queryAt = rest.indexOf('?', authorityAt);
    if (queryAt !== -1 && (slashAt === -1 || queryAt < slashAt)) rest = '/' + rest.slice(queryAt);
    else rest = slashAt === -1 ? '/' : rest.slice(slashAt);
  }
  const hashAt = rest.indexOf('#');
  if (hashAt !== -1) rest = rest.slice(0, hashAt);
  const queryAt = rest.indexOf('?');
  const path = queryAt === -1 ? rest : rest.slice(0, queryAt);
  return { path: path === '' ? '/' : path, query: queryAt === -1 ? '' : rest.slice(queryAt + 1) };
}

// RFC 3986 §2.3: ALPHA / DIGIT / "-" / "." / "_" / "~".
const UNRESERVED = /[A-Za-z0-9\-._~]/;
const ESCAPE = /%([0-9A-Fa-f]{2})/g;

/**
 * `path` with the percent-encoded unreserved characters decoded (RFC 3986
 * §6.2.2.2: `/e%63ho` and `/echo` are the same path), every other escape
 * left as it is. The router decodes these too before it matches a route, so
 * this is the path to compare a route prefix with. Decoding nothing but
 * unreserved characters never makes a `/`, `?`, `#` or `%`, so segments and
 * later decoding (path parameters) are unchanged.
 */
export function routedPath(path: string): string {
  if (!path.includes('%')) return path;
  return path.replace(ESCAPE, (escape, hex: string) => {
    const char = String.fromCharCode(Number.parseInt(hex, 16));
    return UNRESERVED.test(char) ? char : escape;
  });
}

/**
 * The part of `path` (a `routedPath`) under `prefix` (a route prefix without
 * trailing slash, `/` for the root): `''` for the prefix itself, `/…` for a
 * path beneath it, undefined when `path` is not under `prefix` (`/echoes` is
 * not under `/echo`).
 */
export function pathUnderPrefix(path: string, prefix: string): string | undefined {
  if (prefix === '/') return path;
  if (!path.startsWith(prefix)) return undefined;
  if (path.length === prefix.length) return '';
  return path.charCodeAt(prefix.length) === 0x2f ? path.slice(prefix.length) : undefined;
}
