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
 *
 * Only for targets `isRoutableTarget` accepts: the gateway answers any
 * other form 400 before routing (src/app.ts), since the router would read
 * it as a path all the same (see there).
 */
export interface RequestTarget {
  /** Never empty: `/` at least. */
  readonly path: string;
  /** `''` when there is no query string. */
  readonly query: string;
}

const ABSOLUTE_FORM = /^https?:\/\//i;

/**
 * Whether `target` is origin-form (`/…`) or absolute-form with an http(s)
 * scheme: the forms a route can serve. Node's parser also passes the
 * asterisk-form of `OPTIONS *` (RFC 9112 §3.2.4), and with it any target
 * starting with `*` (`**`, `*v1/keys/k`), and absolute-form with another
 * scheme (`ftp://h/x`). find-my-way takes the first character of a target
 * that is neither for a `/` without looking at it, so `*` would reach the
 * `/` route and `*v1/keys/k` the admin route, with an `event.path` that does
 * not start with `/`.
 */
export function isRoutableTarget(target: string): boolean {
  return target.charCodeAt(0) === 0x2f || ABSOLUTE_FORM.test(target);
}

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
