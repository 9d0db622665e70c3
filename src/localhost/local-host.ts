import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { defaults } from '../config/schema.js';
import { WarmrouteError } from '../errors.js';
import { distDir } from '../paths.js';
import { ControlApi, CONTROL_PREFIX, type EnvironmentInfo } from './control-api.js';
import { Environment } from './environment.js';
import { loadFunctionsFile, type FunctionDefinition, type HostEnv } from './function-registry.js';
import { InvokeApi } from './invoke-api.js';
import { LambdaApiError } from './lambda-api-error.js';
import { EnvironmentPool, type EvictFilter, type EvictionCause } from './pool.js';
import {
  resolveReclaim,
  unrefTimeout,
  type ReclaimOptions,
  type ReclaimPolicy,
} from './reclaim.js';
import { HostStats, type HostStatsSnapshot } from './stats.js';

export interface FunctionOutputSource {
  readonly function: string;
  readonly tenant: string | undefined;
  readonly environment: string;
}

/*
 * The local host's own defaults, each defined once here (`warmroute local`
 * prints them in its usage text). Listen address, port and region are
 * gateway settings too: their defaults are the config schema's. The reclaim
 * times are defined with the reclaim modes (reclaim.ts).
 */
export {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_IDLE_RECLAIM_MS,
  DEFAULT_IDLE_JITTER_MS,
  DEFAULT_MAX_LIFETIME_MS,
} from './reclaim.js';
/** Cap on environments of all functions. */
export const DEFAULT_MAX_ENVIRONMENTS = 64;
/** A request body must have arrived this long after its headers, ms, else 408. */
export const DEFAULT_BODY_TIMEOUT_MS = 30_000;
/** Request headers must have arrived within this long, ms, else 408. */
const DEFAULT_HEADERS_TIMEOUT_MS = 20_000;
/** Account id in ARNs. */
export const DEFAULT_ACCOUNT_ID = '000000000000';
/** Account concurrency when a function reserves none: Lambda's default quota. */
export const DEFAULT_ACCOUNT_CONCURRENCY = 1000;

interface LocalHostBaseOptions {
  /** Default: the config's `localHost` default (`WARMROUTE_LOCAL_HOST`). */
  readonly host?: string;
  /** Default: the config's `localPort` default (`WARMROUTE_LOCAL_PORT`); 0 picks a free port. */
  readonly port?: number;
  /** Function declarations (already validated), or… */
  readonly functions?: readonly FunctionDefinition[];
  /** …a functions file to load (see function-registry.ts). */
  readonly functionsFile?: string;
  /**
   * Cap on environments of all functions (each is a process). With `reclaim:
   * 'lru'` the least recently used idle one makes room; with `'idle'` it only
   * guards the machine: past it a call gets 429 `ConcurrentInvocationLimitExceeded`.
   * Default `DEFAULT_MAX_ENVIRONMENTS`.
   */
  readonly maxEnvironments?: number;
  /**
   * Tenant environments (busy or idle) per function before a new one gets 429
   * TooManyRequestsException "Rate exceeded". Default: Lambda's 2,500 per
   * 1,000 of the function's concurrency (reserved, else the account's 1,000).
   */
  readonly tenantEnvironmentCap?: number;
  /** AWS_REGION in environments and in ARNs. Default: the config's `region` default (`AWS_REGION`). */
  readonly region?: string;
  /** Account id in ARNs. Default `DEFAULT_ACCOUNT_ID`. */
  readonly accountId?: string;
  /** pino logger; silent by default. */
  readonly logger?: Logger;
  /** Every chunk a function writes to stdout/stderr (the CLI prints them). */
  readonly onFunctionOutput?: (source: FunctionOutputSource, text: string) => void;
  /**
   * The host's environment: `${VAR}` substitution in the functions file, and
   * PATH, LANG and AWS credentials passed to environments. Default process.env.
   */
  readonly env?: HostEnv;
  /**
   * Bearer token the control API (`/_local/*`) requires. Needed to listen on
   * anything but a loopback address, since the control API lists every
   * tenant ID and stops environments. Unset or `''`: none (loopback only, no
   * authentication). Only this option sets it: `WARMROUTE_LOCAL_CONTROL_TOKEN`
   * is read by the config loader (`warmroute local`, `createGateway`).
   */
  readonly controlToken?: string;
  /** A request body must have arrived this long after its headers, else 408. Default `DEFAULT_BODY_TIMEOUT_MS`. */
  readonly bodyTimeoutMs?: number;
  /** Request headers must have arrived within this long, else 408. Default `DEFAULT_HEADERS_TIMEOUT_MS`. */
  readonly headersTimeoutMs?: number;
}

/**
 * How environments are retired (src/localhost/reclaim.ts): `reclaim: 'lru'`
 * (default; `idleTimeoutMs`) or `reclaim: 'idle'` (Lambda's way:
 * `idleReclaimMs`, `idleJitterMs`, `maxLifetimeMs`). A field of the other
 * mode is refused.
 */
export type LocalHostOptions = LocalHostBaseOptions & ReclaimOptions;

/** What a local host runs with, every default resolved (read-only; the token is left out). */
export interface LocalHostSettings {
  readonly host: string;
  /** The port it listens on (the one picked when asked for 0). */
  readonly port: number;
  readonly region: string;
  readonly accountId: string;
  /** The reclaim mode and its times, ms. */
  readonly reclaim: ReclaimPolicy;
  readonly maxEnvironments: number;
  /** The tenant-environment cap per function; undefined: Lambda's formula. */
  readonly tenantEnvironmentCap: number | undefined;
  readonly bodyTimeoutMs: number;
  readonly headersTimeoutMs: number;
  /** Whether the control API requires a bearer token. */
  readonly controlTokenRequired: boolean;
}

export interface LocalHost {
  /** `http://host:port`: the endpoint for the SDK (`endpoint` / AWS_ENDPOINT_URL_LAMBDA). */
  readonly url: string;
  readonly port: number;
  readonly functions: readonly FunctionDefinition[];
  readonly settings: LocalHostSettings;
  environments(): EnvironmentInfo[];
  /** Stops matching environments (busy ones after their invocation); returns how many. */
  evict(filter?: EvictFilter): number;
  stats(): HostStatsSnapshot;
  /** Stops every environment process and the server. */
  close(): Promise<void>;
}

/** Minimum length of a control token: a short one is guessable over the network. */
export const MIN_CONTROL_TOKEN_LENGTH = 16;

/**
 * True for addresses only this machine can reach. Host names other than
 * `localhost` count as public: what they resolve to can change.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(v4);
}

/**
 * Refuses, before anything listens, a configuration that would expose the
 * control API without authentication, or with a token too short to matter.
 */
export function checkExposure(host: string, controlToken: string | undefined): void {
  if (controlToken !== undefined && controlToken.length < MIN_CONTROL_TOKEN_LENGTH) {
    throw new WarmrouteError('WR_ERR_CONFIG', [
      `  local host: the control token must be at least ${MIN_CONTROL_TOKEN_LENGTH} characters`,
    ]);
  }
  if (controlToken === undefined && !isLoopbackHost(host)) {
    throw new WarmrouteError('WR_ERR_CONFIG', [
      `  local host: refusing to listen on ${host} without a control token: the control API ` +
        '(/_local/*) lists every tenant ID and stops environments. Set --control-token or ' +
        'WARMROUTE_LOCAL_CONTROL_TOKEN (at least 16 characters), or listen on 127.0.0.1.',
    ]);
  }
}

/** Variables of the host passed through to every environment, as Lambda sets its own. */
const PASS_THROUGH = [
  'PATH',
  'LANG',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
];

function baseEnvironment(env: HostEnv): Record<string, string> {
  const out: Record<string, string> = { LANG: 'en_US.UTF-8', PATH: '/usr/local/bin:/usr/bin:/bin' };
  for (const name of PASS_THROUGH) {
    const v = env[name];
    if (v !== undefined && v !== '') out[name] = v;
  }
  return out;
}

/**
 * A request Node could not parse (bad bytes in a header, headers over the
 * size limit, headers or body too slow): a Lambda-style JSON 4xx, then the
 * connection closes. Without a listener Node answers plain text.
 */
function onClientError(err: NodeJS.ErrnoException, socket: Duplex, logger: Logger): void {
  logger.debug({ err }, 'unparseable request on the local host');
  if (!socket.writable || err.code === 'ECONNRESET') {
    socket.destroy();
    return;
  }
  const answer =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? new LambdaApiError(
          'RequestHeaderFieldsTooLargeException',
          'Request headers are larger than the server accepts',
        )
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? new LambdaApiError('RequestTimeoutException', 'The request did not arrive in time')
        : new LambdaApiError(
            'ValidationException',
            `Malformed HTTP request (${err.code ?? 'parse error'})`,
          );
  socket.end(answer.raw());
}

/**
 * Starts the local tenant-isolating Lambda host: the Invoke API for the
 * unmodified AWS SDK, one child process per execution environment, and the
 * `/_local/` control endpoints.
 */
export async function startLocalHost(options: LocalHostOptions = {}): Promise<LocalHost> {
  const hostEnv = options.env ?? process.env;
  const logger = options.logger ?? pino({ level: 'silent' });
  // Refused before anything is loaded or listens.
  const host = options.host ?? defaults.localHost;
  const controlToken = options.controlToken === '' ? undefined : options.controlToken;
  checkExposure(host, controlToken);
  const problems: string[] = [];
  const reclaim = resolveReclaim(options, problems);
  const cap = options.tenantEnvironmentCap;
  if (cap !== undefined && (!Number.isSafeInteger(cap) || cap < 1)) {
    problems.push(`  local host: tenantEnvironmentCap must be an integer ≥ 1, got ${String(cap)}`);
  }
  if (problems.length > 0) {
    throw new WarmrouteError('WR_ERR_CONFIG', [problems.join('\n')]);
  }
  const region = options.region ?? defaults.region;
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const declared =
    options.functions ??
    (options.functionsFile !== undefined
      ? loadFunctionsFile(options.functionsFile, hostEnv)
      : undefined);
  if (declared === undefined) {
    throw new WarmrouteError('WR_ERR_CONFIG', [
      '  local host: give `functions` or `functionsFile`',
    ]);
  }
  const bootstrapPath = join(distDir, 'src', 'localhost', 'bootstrap.js');
  if (!existsSync(bootstrapPath)) {
    throw new WarmrouteError('WR_ERR_CONFIG', [
      `  local host: ${bootstrapPath} is missing; run \`npm run build\``,
    ]);
  }
  const functions = new Map(declared.map((f) => [f.name, f]));
  const baseEnv = baseEnvironment(hostEnv);
  const onFunctionOutput = options.onFunctionOutput;
  const maxEnvironments = options.maxEnvironments ?? DEFAULT_MAX_ENVIRONMENTS;

  const stats = new HostStats();
  const pool: EnvironmentPool<Environment> = new EnvironmentPool<Environment>({
    maxEnvironments,
    reclaim,
    tenantEnvironmentCap: cap,
    accountConcurrency: DEFAULT_ACCOUNT_CONCURRENCY,
    random: options.idleJitterRandom,
    schedule: unrefTimeout,
    onEvict: (env, why: EvictionCause) => {
      stats.of(env.fn.name).evictions++;
      logger.debug({ environment: env.id, function: env.fn.name, why }, 'environment evicted');
    },
    create: (fn, tenantId) =>
      new Environment({
        fn,
        tenantId,
        region,
        functionArn: `arn:aws:lambda:${region}:${accountId}:function:${fn.name}`,
        bootstrapPath,
        baseEnv,
        onOutput:
          onFunctionOutput === undefined
            ? undefined
            : (env, text) => {
                onFunctionOutput(
                  { function: env.fn.name, tenant: env.tenantId, environment: env.id },
                  text,
                );
              },
        onProblem: (env, err, what) => {
          logger.warn({ err, environment: env.id, function: env.fn.name }, what);
        },
        onGone: (env) => {
          logger.warn(
            { environment: env.id, function: env.fn.name },
            'environment exited while idle; discarded',
          );
          void pool.discard(env);
        },
      }),
  });
  const bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULT_BODY_TIMEOUT_MS;
  const headersTimeoutMs = options.headersTimeoutMs ?? DEFAULT_HEADERS_TIMEOUT_MS;
  const invokeApi = new InvokeApi({
    functions,
    pool,
    stats,
    region,
    accountId,
    logger,
    bodyTimeoutMs,
  });
  const controlApi = new ControlApi({
    pool,
    stats,
    functions,
    controlToken,
    logger,
    bodyTimeoutMs,
  });

  // Node checks header and request timeouts on this interval (default 30 s,
  // longer than the timeouts themselves would mean).
  const serverOptions = {
    connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(headersTimeoutMs / 4))),
  };
  const server = createServer(serverOptions, (req: IncomingMessage, res: ServerResponse) => {
    // Both handlers catch their own errors; this is the last guard so that
    // nothing one request does can reach the process.
    try {
      if (req.url?.startsWith(CONTROL_PREFIX) === true) controlApi.handle(req, res);
      else invokeApi.handle(req, res);
    } catch (err) {
      logger.error({ err }, 'request handler threw');
      res.destroy();
    }
  });
  // Longer than the SDK's idle sockets live, so a reused socket is never closed under it.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = headersTimeoutMs;
  // Node's own backstop for the whole request; the Invoke API answers a
  // stalled body itself (408 JSON) before this fires.
  server.requestTimeout = headersTimeoutMs + bodyTimeoutMs + 5_000;
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    onClientError(err, socket, logger);
  });
  // Node hands a CONNECT request to 'connect' listeners and, with none,
  // drops the connection without a word; this API tunnels nothing.
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    socket.end(
      new LambdaApiError('ValidationException', 'CONNECT is not supported by this API').raw(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? defaults.localPort, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // After listen, a server error (EMFILE on accept…) is logged, not thrown at the process.
  server.on('error', (err) => {
    logger.error({ err }, 'local host server error');
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  // Last resort if the host process exits without close(): no environment outlives it.
  const killAll = (): void => {
    for (const env of pool.list()) env.killNow();
  };
  process.on('exit', killAll);
  logger.info({ url, functions: [...functions.keys()] }, 'local Lambda host listening');

  let closing: Promise<void> | undefined;
  const close = async (): Promise<void> => {
    const serverClosed = new Promise<void>((resolve) =>
      server.close(() => {
        resolve();
      }),
    );
    // Keep-alive sockets with no request in flight would otherwise still bring new invokes.
    server.closeIdleConnections();
    const background = invokeApi.close();
    await pool.close();
    await background;
    server.closeAllConnections();
    await serverClosed;
    process.off('exit', killAll);
  };

  const settings: LocalHostSettings = Object.freeze({
    host,
    port,
    region,
    accountId,
    reclaim,
    maxEnvironments,
    tenantEnvironmentCap: cap,
    bodyTimeoutMs,
    headersTimeoutMs,
    controlTokenRequired: controlToken !== undefined,
  });

  return {
    url,
    port,
    functions: declared,
    settings,
    environments: () => controlApi.environments(),
    evict: (filter = {}) => pool.evict(filter),
    stats: () => controlApi.stats(),
    close: () => (closing ??= close()),
  };
}
