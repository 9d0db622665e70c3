import { randomBytes } from 'node:crypto';
import { resolve } from 'node:path';
import { trimSlash } from './config/check-config.js';
import { loadConfig, type Env } from './config/load-config.js';
import type { Config, RouteConfig } from './config/schema.js';
import { createGateway, type Gateway } from './create-gateway.js';
import { isWarmrouteError } from './errors.js';
import { listenErrorMessage, type ListenerName } from './listen-error.js';
import { createGatewayLogger } from './logger.js';
import { shellQuote } from './shell-quote.js';
import { SHUTDOWN_BACKSTOP_MS } from './shutdown-backstop.js';
import { STATUS_PAGE_PATH } from './status/status-document.js';

/** Routes `warmroute start` serves when the config names none: the classic demo. */
const demoRoutes = [
  { prefix: '/fresh', function: 'counter', mode: 'fresh' },
  { prefix: '/warm', function: 'warm-counter', mode: 'affinity' },
  { prefix: '/workspace', function: 'workspace', mode: 'affinity' },
  { prefix: '/', function: 'counter', mode: 'affinity' },
] as const;

/** With the embedded local host (the example functions), the demo routes when the config names none. */
function withDemoRoutes(config: Config): Config {
  if (config.backend !== 'local' || config.routes.length > 0) return config;
  return Object.freeze({ ...config, routes: demoRoutes.map((r) => ({ ...r })) });
}

/** A JSON body carrying `key` at a dotted field path (`a.b` → `{"a":{"b":key}}`). */
function jsonBodyFor(path: string, key: string): string {
  let value: unknown = key;
  for (const part of path.split('.').reverse()) value = { [part]: value };
  return JSON.stringify(value);
}

/**
 * A template's literal text as a URL path segment: characters a path may
 * hold as they are (RFC 3986 pchar: `a b` → `a%20b`, `@` and `;` kept),
 * everything else percent-encoded. The route matches a literal segment
 * percent-decoded (src/http/path-template.ts), so both forms reach it.
 */
function pathSegmentText(literal: string): string {
  return encodeURIComponent(literal).replace(/%(24|26|2B|2C|3B|3D|3A|40)/g, (escape) =>
    decodeURIComponent(escape),
  );
}

/**
 * A request path served by `route` that carries `key` when the key is a path
 * parameter: the route's template filled in (`{proxy+}` → `demo`). A prefix
 * holds only path characters (its schema pattern), so it goes in unchanged.
 */
function demoPath(route: RouteConfig, key: string): string {
  const prefix = route.prefix === '/' ? '' : trimSlash(route.prefix);
  const template = route.pathTemplate ?? '/{proxy+}';
  const filled = template
    .split('/')
    .map((segment) => {
      const variable = /^\{([^{}+]+)(\+?)\}$/.exec(segment);
      if (variable === null) return pathSegmentText(segment);
      const [, name, greedy] = variable;
      if (route.key?.from === 'path' && route.key.name === name) return encodeURIComponent(key);
      return greedy === '+' ? 'demo' : 'x';
    })
    .join('/');
  return `${prefix}${filled}`;
}

function modeNote(route: RouteConfig): string {
  switch (route.mode) {
    case 'affinity':
      return `${route.function}: one warm environment per key`;
    case 'fresh':
      return `${route.function}: a clean environment every time`;
    case 'pooled':
      return `${route.function}: keys share ${route.poolSize ?? '?'} environments`;
  }
}

/**
 * A curl for one proxy route, the key where the route reads it. Every value
 * is shell-quoted, the URL too: a prefix may hold `'`, `$`, `&` or `;`.
 */
function routeCommand(config: Config, route: RouteConfig, base: string, key: string): string {
  const source = route.key ?? { from: 'header' as const, name: config.keyHeader };
  const url = shellQuote(`${base}${demoPath(route, key)}`);
  switch (source.from) {
    case 'header':
      return `curl -s -H ${shellQuote(`${source.name}: ${key}`)} ${url}`;
    case 'cookie':
      return `curl -s -b ${shellQuote(`${source.name}=${key}`)} ${url}`;
    case 'path':
      return `curl -s ${url}`;
    case 'json':
      return `curl -s -X POST -H 'content-type: application/json' -d ${shellQuote(jsonBodyFor(source.name, key))} ${url}`;
  }
}

/**
 * Where the admin token came from, so the banner's rotate command sends it:
 * the environment (named, not printed), the `WARMROUTE_CONFIG` file (read
 * from the file by the command, not printed), or generated for this run
 * (printed: it exists nowhere else).
 */
export type AdminTokenSource =
  | { readonly from: 'environment' }
  | { readonly from: 'file'; readonly path: string }
  | { readonly from: 'generated' };

export interface StartBannerInput {
  readonly config: Config;
  /** The public listener's base URL. */
  readonly base: string;
  /** The admin listener's base URL when `adminPort` is set. */
  readonly adminBase: string | undefined;
  /** Where functions run: the local host's URL, the endpoint, or undefined for AWS Lambda. */
  readonly backend: string | undefined;
  /** Where `config.adminToken` came from; ignored when there is none. */
  readonly tokenSource: AdminTokenSource;
}

/**
 * RPC payloads the shipped example functions (lambda/examples/) answer with
 * success; any other function gets `{}`. `workspace` refuses an event
 * without an `op` (400 in its body), so it is asked for its document list.
 */
const examplePayloads: Readonly<Record<string, string>> = {
  workspace: '{"op":"list"}',
};

/**
 * The function the banner's RPC line calls: `counter` (which answers any
 * payload) when the gateway can call it, else the first routed function,
 * else the first declared one. With functions in the config the gateway
 * calls only those (src/invoker/affinity-invoker.ts); with the local host
 * they are its functions file's (src/create-gateway.ts).
 */
function rpcDemoFunction(config: Config): string | undefined {
  const declared = Object.keys(config.functions);
  const routed = config.routes.map((r) => r.function);
  const callable = declared.length > 0 ? declared : routed;
  if (callable.includes('counter')) return 'counter';
  return routed.find((name) => callable.includes(name)) ?? callable[0];
}

/**
 * The `-H` argument of the rotate command. A token from the config file is
 * read by `node` (which runs warmroute, so it is there) at the moment the
 * command runs, so the banner never copies a kept secret into a log.
 */
function authorizationArgument(token: string, source: AdminTokenSource): string {
  switch (source.from) {
    case 'generated':
      return shellQuote(`authorization: Bearer ${token}`);
    case 'environment':
      return '"authorization: Bearer $WARMROUTE_ADMIN_TOKEN"';
    case 'file':
      return `"authorization: Bearer $(node -p ${shellQuote(
        'JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")).adminToken',
      )} ${shellQuote(source.path)})"`;
  }
}

/** The directory's store as the banner names it. */
function directoryKind(config: Config): string {
  if (config.redisClusterNodes !== undefined) return 'redis cluster';
  return config.redisUrl === undefined ? 'in-memory' : 'redis';
}

/**
 * What `warmroute start` prints: where it listens, the status page's URL,
 * the admin token's source, and commands that work for the configuration it
 * started with (its key header, its routes and their key sources, a
 * configured function for the RPC route). test/integration/start-banner.test.ts runs every printed curl.
 */
export function startBanner(input: StartBannerInput): string {
  const { config, base } = input;
  const operatorBase = input.adminBase ?? base;
  const lines = [
    '',
    `warmroute gateway on ${base}  (directory: ${directoryKind(config)}, backend: ${
      input.backend ?? 'AWS Lambda'
    })`,
  ];
  if (input.adminBase !== undefined) {
    lines.push(`admin, health, status and metrics on ${input.adminBase}  (WARMROUTE_ADMIN_PORT)`);
  }
  lines.push(`status page: ${operatorBase}${STATUS_PAGE_PATH}  (live, the last 15 minutes)`);
  const tokenText =
    config.adminToken === undefined
      ? undefined
      : authorizationArgument(config.adminToken, input.tokenSource);
  if (config.adminToken === undefined) {
    lines.push('admin routes answer 401: WARMROUTE_ADMIN_TOKEN is not set (production)');
  } else if (input.tokenSource.from === 'generated') {
    lines.push(
      `admin token: ${config.adminToken}  (generated for this run; set WARMROUTE_ADMIN_TOKEN to choose one)`,
    );
  } else if (input.tokenSource.from === 'file') {
    lines.push(
      `admin token: adminToken in ${input.tokenSource.path}  (WARMROUTE_CONFIG; WARMROUTE_ADMIN_TOKEN would override it)`,
    );
  } else {
    lines.push('admin token: the value of WARMROUTE_ADMIN_TOKEN');
  }

  lines.push('', 'Try:');
  const routes = config.routes.slice(0, 8);
  for (const route of routes) {
    lines.push(`  ${routeCommand(config, route, base, 'blue')}    # ${modeNote(route)}`);
    if (route === routes.find((r) => r.mode === 'affinity')) {
      lines.push(`  ${routeCommand(config, route, base, 'green')}    # green has its own`);
    }
  }
  if (config.routes.length > routes.length) {
    lines.push(`  # … and ${config.routes.length - routes.length} more routes`);
  }
  const rpcFunction = rpcDemoFunction(config);
  if (rpcFunction !== undefined) {
    const payload = examplePayloads[rpcFunction] ?? '{}';
    lines.push(
      `  curl -s -X POST -H ${shellQuote(`${config.keyHeader}: blue`)} -H 'content-type: application/json' -d ${shellQuote(payload)} ${shellQuote(`${base}/v1/functions/${encodeURIComponent(rpcFunction)}/invoke`)}    # RPC: ${rpcFunction}`,
    );
  }
  if (tokenText !== undefined) {
    lines.push(
      `  curl -s -X POST -H ${tokenText} ${shellQuote(`${operatorBase}/v1/keys/blue/rotate`)}    # blue moves to a new environment`,
    );
  }
  lines.push(`  curl -s ${shellQuote(`${operatorBase}/metrics`)} | grep warmroute_invocations`, '');
  return lines.join('\n');
}

/**
 * Where the loaded admin token came from. `loadConfig` reads it from
 * `WARMROUTE_ADMIN_TOKEN`, else the `WARMROUTE_CONFIG` file, else (outside
 * production) takes the generated one; runStart passes no other source.
 */
function adminTokenSource(config: Config, env: Env, generated: string): AdminTokenSource {
  if (config.adminToken === generated) return { from: 'generated' };
  const file = env['WARMROUTE_CONFIG'];
  const fromEnv = env['WARMROUTE_ADMIN_TOKEN'];
  if ((fromEnv === undefined || fromEnv === '') && file !== undefined && file !== '') {
    return { from: 'file', path: resolve(file) };
  }
  return { from: 'environment' };
}

/** The listeners `warmroute start` opens, named in the message when one cannot listen. */
const LISTENERS = {
  localHost: { what: "the local Lambda host's port", setting: 'WARMROUTE_LOCAL_PORT' },
  gateway: { what: "the gateway's port", setting: 'HOST / PORT' },
  admin: {
    what: 'the admin port',
    setting: 'WARMROUTE_ADMIN_HOST / WARMROUTE_ADMIN_PORT',
  },
} as const satisfies Record<string, ListenerName>;

/**
 * Ends the process for a configuration error (exit 2) or a listener that
 * cannot listen (exit 1, naming the listener and its setting); anything else
 * is thrown on to the CLI.
 */
function fail(err: unknown, listener?: ListenerName): never {
  if (isWarmrouteError(err) && err.code === 'WR_ERR_CONFIG') {
    process.stderr.write(`warmroute: ${err.message}\n`);
    process.exit(2);
  }
  const message = listener === undefined ? undefined : listenErrorMessage(err, listener);
  if (message !== undefined) {
    process.stderr.write(`warmroute: ${message}\n`);
    process.exit(1);
  }
  throw err;
}

/**
 * `warmroute start`: the gateway as `createGateway` wires it (with the local
 * Lambda host and the example functions unless an endpoint or real AWS is
 * configured), plus what only a process does: demo routes when none are
 * configured, a generated admin token outside production, listening, the
 * banner, and shutdown on signals. The only place that listens and exits.
 */
export async function runStart(_args: readonly string[], env: Env = process.env): Promise<void> {
  const generatedAdminToken = randomBytes(18).toString('base64url');
  let config: Config;
  let gateway: Gateway;
  try {
    // Outside production an admin token is generated (and printed) so the
    // demo's rotate/bind commands work; in production an unset token
    // disables the admin routes.
    config = withDemoRoutes(loadConfig(env, { devAdminToken: generatedAdminToken }));
    const logger = createGatewayLogger(config.logLevel, config.keyHeader);
    gateway = await createGateway(config, { logger });
  } catch (err) {
    // createGateway listens only for the embedded local host.
    fail(err, LISTENERS.localHost);
  }
  config = gateway.config;
  const { logger } = gateway.dependencies;
  const { localHost } = gateway;

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, graceMs: config.shutdownGraceMs },
      'shutting down: draining in-flight requests',
    );
    // A backstop only: at the grace's end the drain answers every request
    // still in flight (503 WR_ERR_SHUTTING_DOWN) and closing the request path
    // aborts the backend calls left behind, so an orderly close takes the
    // grace plus a moment. This fires if a dependency hangs on close, and
    // says what it cuts off.
    const hardStop = setTimeout(() => {
      const scheduler = gateway.dependencies.scheduler.stats();
      logger.error(
        {
          stuckAt: gateway.closingStep,
          running: scheduler.running,
          queued: scheduler.queued,
          environments: localHost?.environments().length ?? 0,
        },
        'shutdown took too long: exiting with calls still open (environments are killed on exit)',
      );
      process.exit(1);
    }, config.shutdownGraceMs + SHUTDOWN_BACKSTOP_MS);
    hardStop.unref();
    try {
      await gateway.close();
      logger.info({ signal }, 'shut down');
    } catch (err) {
      logger.error({ err }, 'error during shutdown');
      process.exitCode = 1;
    }
    // Everything warmroute opened is closed; a handle someone else left open
    // (a library timer, a stray socket) must not hold the process until the backstop.
    process.exit();
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));

  const listen = async <T>(start: () => Promise<T>, listener: ListenerName): Promise<T> => {
    try {
      return await start();
    } catch (err) {
      // Nothing was served yet: close what the gateway opened (Redis, the
      // local host) quietly, then say which listener failed.
      await gateway.close().catch(() => undefined);
      fail(err, listener);
    }
  };
  const address = await listen(
    () => gateway.app.listen({ host: config.host, port: config.port }),
    LISTENERS.gateway,
  );
  const adminAddress = await listen(
    async () =>
      gateway.admin?.listen({ host: config.adminHost ?? config.host, port: config.adminPort ?? 0 }),
    LISTENERS.admin,
  );
  process.stdout.write(
    startBanner({
      config,
      base: address.replace('[::1]', 'localhost'),
      adminBase: adminAddress?.replace('[::1]', 'localhost'),
      backend: localHost === undefined ? config.lambdaEndpoint : `local host ${localHost.url}`,
      tokenSource: adminTokenSource(config, env, generatedAdminToken),
    }),
  );
}
