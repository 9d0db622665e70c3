import { compileRouteResources, type RouteResources } from '../http/path-template.js';
import { isValidFunctionName } from '../invoker/metric-labels.js';
import { isLoopbackHost } from '../localhost/local-host.js';
import { parseClusterSeeds } from '../redis/cluster-seeds.js';
import { userinfoDecodes } from '../redis/url.js';
import { ConfigSchema, type BudgetConfig, type Config, type RouteConfig } from './schema.js';

/**
 * Path roots the gateway itself answers under, whatever proxy routes are
 * configured: a proxy prefix inside one of them would make a request's
 * meaning depend on configuration, so the loader refuses it.
 */
export const GATEWAY_PATH_ROOTS = ['/v1', '/metrics', '/healthz', '/readyz'] as const;

/** A route prefix as routes match it: without a trailing slash (`/` stays `/`). */
export function trimSlash(prefix: string): string {
  return prefix.length > 1 && prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
}

/** The gateway root `prefix` falls under, if any. */
export function gatewayRootOf(prefix: string): string | undefined {
  const trimmed = trimSlash(prefix);
  return GATEWAY_PATH_ROOTS.find((root) => trimmed === root || trimmed.startsWith(`${root}/`));
}

function urlProblem(raw: string, allowPath: boolean): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.hostname === '') return 'must name a host';
  if (!allowPath && url.pathname !== '/' && url.pathname !== '') {
    return 'must not have a path (the Invoke API path is absolute)';
  }
  if (url.search !== '' || url.hash !== '') return 'must not have a query or fragment';
  // The user name and password are percent-decoded when a client connects
  // (ioredis throws a URIError on `%ZZ`): refuse a bad escape here, with the
  // setting's name, not at the first connection. The value is never echoed.
  if (!userinfoDecodes(url)) {
    return 'has a malformed percent-escape in its user name or password';
  }
  return undefined;
}

/**
 * The directory's Redis is one server or one cluster: with both set, which
 * one the replicas share would depend on a precedence rule nobody reads, and
 * two replicas configured differently would split the directory. The seed
 * list's own syntax is parseClusterSeeds's; its problems never quote a
 * password. No production rule requires TLS (rediss://), as none does for
 * REDIS_URL: a cluster inside a private network without in-transit
 * encryption is a deployment's choice, and a server that demands TLS
 * (ElastiCache Serverless always does) refuses a plain connection, which
 * the store reports at start and in `/readyz`.
 */
function redisTargetProblems(config: Config, valid: (field: string) => boolean): string[] {
  if (!valid('redisClusterNodes') || config.redisClusterNodes === undefined) return [];
  const problems: string[] = [];
  if (config.redisUrl !== undefined) {
    problems.push(
      'REDIS_URL and WARMROUTE_REDIS_CLUSTER_NODES are both set: set REDIS_URL for one Redis server or WARMROUTE_REDIS_CLUSTER_NODES for a Redis Cluster, not both',
    );
  }
  const parsed = parseClusterSeeds(config.redisClusterNodes, 'WARMROUTE_REDIS_CLUSTER_NODES');
  if (!parsed.ok) problems.push(...parsed.problems);
  return problems;
}

/**
 * Checks across fields, or of values a component would refuse later, that a
 * JSON schema cannot express. `valid(field)` says whether the schema accepted
 * a field, so a check never reads a value of the wrong type.
 */
export function crossFieldProblems(config: Config, valid: (field: string) => boolean): string[] {
  const problems: string[] = [];
  if (valid('backend') && config.backend === 'endpoint' && config.lambdaEndpoint === undefined) {
    problems.push('WARMROUTE_BACKEND=endpoint needs AWS_ENDPOINT_URL_LAMBDA');
  }
  if (valid('lambdaEndpoint') && config.lambdaEndpoint !== undefined) {
    const problem = urlProblem(config.lambdaEndpoint, false);
    if (problem !== undefined) problems.push(`AWS_ENDPOINT_URL_LAMBDA: ${problem}`);
  }
  if (valid('redisUrl') && config.redisUrl !== undefined) {
    const problem = urlProblem(config.redisUrl, true);
    if (problem !== undefined) problems.push(`REDIS_URL: ${problem}`);
  }
  problems.push(...redisTargetProblems(config, valid));
  if (valid('production') && valid('secret') && config.production && config.secret === undefined) {
    problems.push(
      'WARMROUTE_SECRET: required in production (tenant IDs must be the same on every replica and across restarts)',
    );
  }
  // In production a gateway in front of real Lambda invokes only what it is
  // told to: without an allow-list a client could name any function or ARN
  // the gateway's role may invoke (the local host runs only its own file).
  if (
    valid('production') &&
    valid('backend') &&
    valid('functions') &&
    config.production &&
    config.backend !== 'local' &&
    Object.keys(config.functions).length === 0
  ) {
    problems.push(
      `WARMROUTE_FUNCTIONS: required in production with WARMROUTE_BACKEND=${config.backend} (the functions this gateway may invoke; without it a client could name any function or ARN the gateway's role can invoke)`,
    );
  }
  if (
    valid('headersTimeoutMs') &&
    valid('bodyTimeoutMs') &&
    config.bodyTimeoutMs < config.headersTimeoutMs
  ) {
    problems.push(
      `WARMROUTE_BODY_TIMEOUT_MS (${config.bodyTimeoutMs}) must be at least WARMROUTE_HEADERS_TIMEOUT_MS (${config.headersTimeoutMs}): the whole request includes its headers`,
    );
  }
  // Without a Redis the directory lives in memory: a password there means
  // REDIS_URL or the cluster was meant but is missing or misspelt (a silent
  // single-replica directory otherwise).
  if (valid('redisPassword') && valid('redisUrl') && valid('redisClusterNodes')) {
    if (
      config.redisPassword !== undefined &&
      config.redisUrl === undefined &&
      config.redisClusterNodes === undefined
    ) {
      problems.push('WARMROUTE_REDIS_PASSWORD needs REDIS_URL or WARMROUTE_REDIS_CLUSTER_NODES');
    }
  }
  if (valid('adminHost') && valid('adminPort')) {
    if (config.adminHost !== undefined && config.adminPort === undefined) {
      problems.push('WARMROUTE_ADMIN_HOST needs WARMROUTE_ADMIN_PORT');
    }
    if (
      valid('port') &&
      config.adminPort !== undefined &&
      config.adminPort !== 0 &&
      config.adminPort === config.port
    ) {
      problems.push(
        `WARMROUTE_ADMIN_PORT (${config.adminPort}) must differ from PORT: the admin listener is a second listener`,
      );
    }
  }
  if (
    valid('backend') &&
    valid('localHost') &&
    valid('localControlToken') &&
    config.backend === 'local' &&
    config.localControlToken === undefined &&
    !isLoopbackHost(config.localHost)
  ) {
    // The local host refuses this itself; said here, with the other problems, before anything starts.
    problems.push(
      `WARMROUTE_LOCAL_HOST (${config.localHost}) is not a loopback address: set WARMROUTE_LOCAL_CONTROL_TOKEN, since the control API lists every tenant ID`,
    );
  }
  if (valid('functions')) {
    for (const name of Object.keys(config.functions)) {
      // The invoker refuses any other name before I/O: a route to it could never be served.
      if (!isValidFunctionName(name)) {
        problems.push(`functions: ${JSON.stringify(name)} is not a Lambda function name or ARN`);
      }
    }
  }
  if (typeof config.keyHeader === 'string') {
    // The default key header is a key source too: the same rule as a route's
    // `key.name`. Run on a value the schema refused as well, for the reason
    // and the "(write …)" hint the schema's bare pattern lacks.
    const problem = keySourceProblem({ from: 'header', name: config.keyHeader });
    if (problem !== undefined) problems.push(`WARMROUTE_KEY_HEADER: ${problem}`);
  }
  // Each route the schema accepted is checked, even when another one was refused.
  if (Array.isArray(config.routes)) problems.push(...routeProblems(config, valid));
  if (valid('rpcBudget') && config.rpcBudget !== undefined) {
    // The RPC route's only path parameter is the function name.
    for (const problem of budgetProblems(config.rpcBudget, NO_PATH_PARAMETERS)) {
      problems.push(`rpcBudget: ${problem}`);
    }
    // The RPC route calls any function: pinging every one of them is never what was meant.
    if (config.rpcBudget.keepWarm !== undefined) {
      problems.push(
        'rpcBudget: keepWarm is per proxy route (the RPC route calls any function); opt in on the route of each function that answers the keep-warm ping',
      );
    }
  }
  return problems;
}

const NO_PATH_PARAMETERS: ReadonlySet<string> = new Set();

/**
 * What a budget's policy reads and needs (README "Tenant-environment
 * budget"): `pool` places spilled keys in tenants shared within an isolation
 * domain, so it cannot run without knowing where the domain is; a field the
 * policy does not read is refused rather than silently ignored. `variables`
 * are the route's path parameters (undefined: none checked here).
 */
function budgetProblems(
  budget: BudgetConfig,
  variables: ReadonlySet<string> | undefined,
): string[] {
  const problems: string[] = [];
  if (budget.policy === 'pool' && budget.domain === undefined) {
    problems.push(
      'budget policy pool needs domain, the request\'s isolation domain (e.g. { "from": "header", "name": "x-org" }): spilled keys share tenants only within their domain',
    );
  }
  if (budget.policy !== 'pool') {
    for (const field of ['domain', 'poolTenants'] as const) {
      if (budget[field] !== undefined) {
        problems.push(`budget ${field} is read by policy pool only, not ${budget.policy}`);
      }
    }
  }
  if (budget.policy !== 'queue' && budget.queueWaitMs !== undefined) {
    problems.push(`budget queueWaitMs is read by policy queue only, not ${budget.policy}`);
  }
  if (budget.domain !== undefined) {
    const problem = keySourceProblem(budget.domain);
    if (problem !== undefined) problems.push(`budget domain: ${problem}`);
    if (
      budget.domain.from === 'path' &&
      variables !== undefined &&
      !variables.has(budget.domain.name)
    ) {
      problems.push(
        `budget domain from path parameter {${budget.domain.name}}, which the route does not have`,
      );
    }
  }
  return problems;
}

/**
 * A key header's name follows the rule of `WARMROUTE_KEY_HEADER` (one rule
 * for every header a key is read from): lower case, as Node presents header
 * names, and no `_`, which common proxies drop (nginx by default). A subset
 * of RFC 9110 §5.6.2 tokens.
 */
const KEY_HEADER_NAME = patternOf(ConfigSchema.properties.keyHeader);

/** A string schema's `pattern` (TypeBox keeps it on the schema object but not in its type). */
function patternOf(schema: object): RegExp {
  const pattern = (schema as { pattern?: unknown }).pattern;
  if (typeof pattern !== 'string') throw new Error('the schema has no pattern');
  return new RegExp(pattern);
}

/**
 * Headers that frame or route the message: HTTP servers and proxies consume,
 * remove or rewrite them (RFC 9110 §7.6.1, RFC 9112 §6), so they cannot
 * carry a key to the gateway.
 */
const FRAMING_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'content-length',
  'expect',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * A cookie name `cookieValue` (src/http/key-extractors.ts) finds in a
 * Cookie header a client can send: printable ASCII (the extractor compares
 * the header as Node decodes it, one character per byte, so a name with
 * other characters never matches what a browser sends as UTF-8), no `;`
 * (it splits pairs) or `=` (it ends the name), and no space or tab at
 * either end (it trims them off the name it reads). Browsers send names the
 * RFC 6265 §4.1.1 server rule forbids (`user[id]`, PHP style), so that rule
 * is not the test.
 */
const COOKIE_NAME = /^[!-:<>-~](?:[\t !-:<>-~]*[!-:<>-~])?$/;

function cookieNameProblem(name: string): string | undefined {
  if (COOKIE_NAME.test(name)) return undefined;
  const shown = JSON.stringify(name);
  if (name.includes('=') || name.includes(';')) {
    return `key cookie ${shown} is not a cookie name: a Cookie header splits at ";" and "=", so no request can carry it`;
  }
  if (name.trim() !== name) {
    return `key cookie ${shown} starts or ends with a space or tab, which a Cookie header's parser drops`;
  }
  return `key cookie ${shown} is not a cookie name: printable ASCII only (browsers send other characters as UTF-8 bytes, controls not at all)`;
}

function headerNameProblem(name: string): string | undefined {
  const shown = JSON.stringify(name);
  if (!KEY_HEADER_NAME.test(name)) {
    const suggestion = name.toLowerCase().replace(/_/g, '-');
    const hint = KEY_HEADER_NAME.test(suggestion) ? ` (write ${JSON.stringify(suggestion)})` : '';
    if (name.includes('_')) {
      return `key header ${shown} has "_": nginx and many other proxies drop such headers by default${hint}`;
    }
    if (hint !== '') {
      return `key header ${shown} must be written in lower case, the one spelling the gateway names it by in its messages and start banner (clients may send it in any case)${hint}`;
    }
    return `key header ${shown} must match ${KEY_HEADER_NAME.source}, as WARMROUTE_KEY_HEADER (lower-case letters, digits and -)`;
  }
  if (FRAMING_HEADERS.has(name)) {
    return `key header ${shown} frames the HTTP message; servers and proxies consume it`;
  }
  return undefined;
}

/**
 * Why no request could carry a key under this key source's name, or
 * undefined. Each rule keeps the name findable by its extractor
 * (src/http/key-extractors.ts); `path` names are checked against the
 * route's template in routeProblems.
 */
export function keySourceProblem(source: NonNullable<RouteConfig['key']>): string | undefined {
  switch (source.from) {
    case 'header':
      return headerNameProblem(source.name);
    case 'cookie':
      return cookieNameProblem(source.name);
    case 'json':
      return source.name.split('.').includes('')
        ? `key JSON field path ${JSON.stringify(source.name)} has an empty part (a leading, trailing or doubled '.')`
        : undefined;
    case 'path':
      return undefined;
  }
}

function routeProblems(config: Config, valid: (path: string) => boolean): string[] {
  const problems: string[] = [];
  const prefixes = new Set<string>();
  // One keep-warm planner per function: its routes must agree on its settings.
  const keepWarmOf = new Map<string, { prefix: string; settings: string }>();
  for (const [index, route] of config.routes.entries()) {
    if (!valid(`routes.${index}`)) continue;
    const keepWarm = route.budget?.keepWarm;
    if (keepWarm !== undefined) {
      const settings = JSON.stringify(keepWarm, Object.keys(keepWarm).sort());
      const first = keepWarmOf.get(route.function);
      if (first === undefined) keepWarmOf.set(route.function, { prefix: route.prefix, settings });
      else if (first.settings !== settings) {
        problems.push(
          `routes (${route.prefix}): keepWarm differs from route ${first.prefix}'s for the same function ${route.function} (one ping budget per function)`,
        );
      }
    }
    const prefix = trimSlash(route.prefix);
    if (prefixes.has(prefix)) problems.push(`routes: prefix ${route.prefix} appears twice`);
    prefixes.add(prefix);
    const root = gatewayRootOf(route.prefix);
    if (root !== undefined) {
      problems.push(
        `routes (${route.prefix}): ${root} and everything under it belong to the gateway itself; choose another prefix`,
      );
    }
    if (!isValidFunctionName(route.function)) {
      problems.push(
        `routes (${route.prefix}): ${JSON.stringify(route.function)} is not a Lambda function name or ARN`,
      );
    }
    if (route.mode === 'pooled' && route.poolSize === undefined) {
      problems.push(`routes (${route.prefix}): pooled mode needs poolSize`);
    }
    let resources: RouteResources | undefined;
    try {
      resources = compileRouteResources(prefix, route.pathTemplate);
    } catch (err) {
      problems.push(`routes (${route.prefix}): ${(err as Error).message}`);
    }
    const keyProblem = route.key === undefined ? undefined : keySourceProblem(route.key);
    if (keyProblem !== undefined) problems.push(`routes (${route.prefix}): ${keyProblem}`);
    if (route.budget !== undefined) {
      if (route.mode !== 'affinity') {
        problems.push(
          `routes (${route.prefix}): budget applies to affinity mode only (${route.mode} mode gives no key a tenant of its own)`,
        );
      }
      // Unknown resources (a bad template, reported above): the path check is skipped.
      for (const problem of budgetProblems(route.budget, resources?.variables)) {
        problems.push(`routes (${route.prefix}): ${problem}`);
      }
    }
    if (resources !== undefined && route.key?.from === 'path') {
      if (!resources.variables.has(route.key.name)) {
        problems.push(
          `routes (${route.prefix}): key from path parameter {${route.key.name}}, which the route's resources (${resources.resources.join(', ')}) do not have`,
        );
      }
    }
  }
  return problems;
}

/**
 * Routes must name functions the gateway knows when it knows a list (with
 * the embedded local host, the list is complete only after the functions
 * file is read, so `warmroute start` calls this again then).
 */
export function routeFunctionProblems(config: Config): string[] {
  const known = Object.keys(config.functions);
  if (known.length === 0) return [];
  return config.routes
    .filter((route) => !Object.hasOwn(config.functions, route.function))
    .map(
      (route) =>
        `routes (${route.prefix}): function ${route.function} is not among the known functions (${known.join(', ')})`,
    );
}
