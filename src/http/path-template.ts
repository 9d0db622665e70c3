/**
 * API Gateway REST style path templates: `/notebooks/{notebook}/{proxy+}`.
 *
 * A template is a sequence of whole segments, each a literal, a `{name}`
 * (exactly one non-empty segment) or, as the last segment only, a greedy
 * `{name+}` (one or more segments, slashes included). That is the subset
 * API Gateway REST resources accept: a variable is always a whole path part
 * and the greedy one must end the path. Parameter values are
 * percent-decoded, as REST APIs decode path parameters before passing them
 * on; `+` stays a literal plus (it means space only in a query string).
 */
export interface PathTemplate {
  /** The template as written; the event's `resource` and `requestContext.resourcePath`. */
  readonly resource: string;
  /** Its variable names, greedy ones included (`proxy` for `{proxy+}`). */
  readonly variables: ReadonlySet<string>;
  /**
   * Match a request path (the part under the route prefix, without query
   * string) and return its decoded parameters, or undefined when it does not
   * match. A template without variables returns `{}` on a match.
   */
  match(pathUnderPrefix: string): Record<string, string> | undefined;
}

type Segment =
  | { readonly kind: 'literal'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'greedy'; readonly name: string };

// Names as API Gateway shows them in `pathParameters`; dots and dashes are
// common in real resource paths (`{file.name}`, `{item-id}`).
const PARAM_NAME = /^[A-Za-z0-9_.-]+$/;
const MAX_TEMPLATE_LENGTH = 512;

function invalid(template: string, reason: string): Error {
  return new Error(`Invalid path template ${JSON.stringify(template)}: ${reason}`);
}

function parseSegments(template: string): Segment[] {
  if (template.length > MAX_TEMPLATE_LENGTH)
    throw invalid(template.slice(0, 40) + '…', `longer than ${MAX_TEMPLATE_LENGTH} characters`);
  if (!template.startsWith('/')) throw invalid(template, "must start with '/'");
  if (template.includes('?') || template.includes('#'))
    throw invalid(template, "must not contain '?' or '#'");
  if (template === '/') return [];
  // One trailing slash is tolerated and ignored, like the matcher does for requests.
  const body = template.endsWith('/') ? template.slice(1, -1) : template.slice(1);
  const parts = body.split('/');
  const segments: Segment[] = [];
  const seen = new Set<string>();
  for (const [index, part] of parts.entries()) {
    if (part === '') throw invalid(template, 'empty path segment (//)');
    const open = part.indexOf('{');
    const close = part.indexOf('}');
    if (open === -1 && close === -1) {
      segments.push({ kind: 'literal', text: part });
      continue;
    }
    if (
      open !== 0 ||
      close !== part.length - 1 ||
      part.indexOf('{', 1) !== -1 ||
      part.indexOf('}') !== close
    ) {
      throw invalid(
        template,
        `segment ${JSON.stringify(part)}: a variable must be a whole segment, like {name} or {name+}`,
      );
    }
    const greedy = part.endsWith('+}');
    const name = part.slice(1, greedy ? -2 : -1);
    if (!PARAM_NAME.test(name)) {
      throw invalid(
        template,
        `segment ${JSON.stringify(part)}: variable names use letters, digits, '_', '.', '-'`,
      );
    }
    if (seen.has(name)) throw invalid(template, `variable {${name}} appears twice`);
    seen.add(name);
    if (greedy) {
      if (index !== parts.length - 1)
        throw invalid(template, `greedy variable {${name}+} must be the last segment`);
      segments.push({ kind: 'greedy', name });
    } else {
      segments.push({ kind: 'param', name });
    }
  }
  return segments;
}

function decode(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    // Malformed escapes (`%zz`, a lone `%`): keep the text as sent rather
    // than refuse a request the function may well know how to handle.
    return raw;
  }
}

class CompiledPathTemplate implements PathTemplate {
  readonly resource: string;
  readonly variables: ReadonlySet<string>;
  readonly #segments: readonly Segment[];
  readonly #greedy: boolean;

  constructor(resource: string, segments: readonly Segment[]) {
    this.resource = resource;
    this.variables = new Set(segments.flatMap((s) => (s.kind === 'literal' ? [] : [s.name])));
    this.#segments = segments;
    this.#greedy = segments.at(-1)?.kind === 'greedy';
  }

  match(pathUnderPrefix: string): Record<string, string> | undefined {
    let path = pathUnderPrefix;
    const queryAt = path.indexOf('?');
    if (queryAt !== -1) path = path.slice(0, queryAt);
    if (path === '' || path === '/') {
      return this.#segments.length === 0
        ? (Object.create(null) as Record<string, string>)
        : undefined;
    }
    if (!path.startsWith('/')) path = '/' + path;

    const segments = this.#segments;
    // Null prototype: a variable named `__proto__` is data, not a prototype.
    const params = Object.create(null) as Record<string, string>;
    let start = 1;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      if (segment === undefined) return undefined;
      if (segment.kind === 'greedy') {
        // `{proxy+}` needs at least one character, as in API Gateway where
        // `/{proxy+}` does not match the root.
        if (start >= path.length) return undefined;
        params[segment.name] = decode(path.slice(start));
        return params;
      }
      if (start > path.length) return undefined;
      let end = path.indexOf('/', start);
      if (end === -1) end = path.length;
      const raw = path.slice(start, end);
      if (raw === '') return undefined;
      if (segment.kind === 'literal') {
        if (raw !== segment.text && decode(raw) !== segment.text) return undefined;
      } else {
        params[segment.name] = decode(raw);
      }
      start = end + 1;
    }
    // All segments consumed: the path must end here, or with one trailing slash.
    if (this.#greedy) return undefined;
    if (start >= path.length) return params;
    return undefined;
  }
}

/** Compile once at configuration time; `match` runs on every request. */
export function compilePathTemplate(template: string): PathTemplate {
  return new CompiledPathTemplate(template, parseSegments(template));
}

/**
 * The API Gateway resources a route serves under its prefix.
 *
 * A greedy `{proxy+}` needs at least one path segment (proxy resources:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-set-up-simple-proxy.html),
 * so in API Gateway
 * `/echo/{proxy+}` does not serve `/echo` itself: that is the parent
 * resource, with its own method. The usual proxy setup therefore has both
 * (`ANY /echo` and `ANY /echo/{proxy+}`; for an API's root, `ANY /` and
 * `ANY /{proxy+}`), and a route without `pathTemplate` is that pair: `/echo`
 * arrives as resource `/echo` with `pathParameters: null`, `/echo/a/b` as
 * `/echo/{proxy+}` with `{ proxy: 'a/b' }`. A route with `pathTemplate` is
 * that one resource: its prefix and any path under it that the template
 * does not match have no method (API Gateway: 403 "Missing Authentication
 * Token"; here the gateway's 404 `WR_ERR_ROUTE_NOT_FOUND`, after the key
 * check: see `routes/proxy.ts`).
 */
export interface RouteResources {
  /** Every resource path, prefix included, e.g. `['/echo', '/echo/{proxy+}']`. */
  readonly resources: readonly string[];
  /** Every path parameter name any of them can give. */
  readonly variables: ReadonlySet<string>;
  /**
   * The resource serving `pathUnderPrefix` (the request path after the
   * prefix, no query string) and its decoded parameters (`{}` for none), or
   * undefined when none does.
   */
  match(
    pathUnderPrefix: string,
  ): { readonly resource: string; readonly pathParameters: Record<string, string> } | undefined;
}

/** The pair a route without `pathTemplate` serves: its prefix and everything beneath. */
const PROXY_PAIR = ['/', '/{proxy+}'] as const;

/** `prefix` is a route prefix without trailing slash (`/` for the root). */
export function compileRouteResources(
  prefix: string,
  pathTemplate: string | undefined,
): RouteResources {
  const base = prefix === '/' ? '' : prefix;
  const entries = (pathTemplate === undefined ? PROXY_PAIR : [pathTemplate]).map((text) => {
    const template = compilePathTemplate(text);
    const resource = template.resource === '/' ? base || '/' : base + template.resource;
    return { template, resource };
  });
  const variables = new Set(entries.flatMap((e) => [...e.template.variables]));
  return {
    resources: entries.map((e) => e.resource),
    variables,
    match(pathUnderPrefix) {
      for (const { template, resource } of entries) {
        const pathParameters = template.match(pathUnderPrefix);
        if (pathParameters !== undefined) return { resource, pathParameters };
      }
      return undefined;
    },
  };
}
