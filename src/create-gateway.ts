import { join } from 'node:path';
import type { Logger } from 'pino';
import { buildApp, type WarmrouteApp } from './app.js';
import { functionSettingsOf } from './config/function-settings.js';
import { isLoopbackEndpoint } from './backend/lambda-backend.js';
import { isConfig, loadConfig, type Env } from './config/load-config.js';
import type { Config } from './config/schema.js';
import { routeFunctionProblems } from './config/check-config.js';
import { createDependencies, type GatewayDependencies } from './create-dependencies.js';
import { isWarmrouteError, WarmrouteError } from './errors.js';
import { loadFunctionsFile, startLocalHost, type LocalHost } from './localhost/index.js';
import { createGatewayLogger } from './logger.js';
import { examplesDir } from './paths.js';

export interface CreateGatewayOptions {
  /**
   * pino logger for the gateway and the embedded local host. Default: a new
   * pino logger at the config's `logLevel` with the redaction list of `src/logger.ts`.
   */
  readonly logger?: Logger;
  /**
   * Register Node's default process metrics in the gateway's own registry
   * (default true). Turn off when the host program exports its own.
   */
  readonly defaultMetrics?: boolean;
}

export interface Gateway {
  /** The gateway's Fastify instance; it does not listen (call `app.listen()`, `inject()`, or mount it). */
  readonly app: WarmrouteApp['app'];
  /**
   * Admin, health, status and metrics on their own instance when the config
   * sets `adminPort` (`WARMROUTE_ADMIN_PORT`; listen it on
   * `config.adminHost ?? config.host`), else undefined: they are on `app`.
   */
  readonly admin: WarmrouteApp['admin'];
  /** The invoker behind the routes, for calling functions by key in-process. */
  readonly invoker: WarmrouteApp['invoker'];
  /** The request path behind `app` (directory, scheduler, backend, metrics, invoker). */
  readonly dependencies: GatewayDependencies;
  /** The validated, frozen config the gateway runs with (function settings of the local host merged in). */
  readonly config: Config;
  /** The embedded local Lambda host when the config selects `backend: 'local'`, else undefined. */
  readonly localHost: LocalHost | undefined;
  /**
   * Drains in-flight requests and closes the app (and `admin`), then the directory (Redis)
   * and the Lambda client, then the local host and its environments.
   * Idempotent: a second call returns the first call's promise.
   */
  close(): Promise<void>;
  /** What `close()` is doing now ('' before and after): said when a shutdown hangs. */
  readonly closingStep: string;
}

/**
 * The local host's functions, read once: the gateway's function settings
 * and the local host's environments come from the same definitions.
 * `${VAR}` in the file is filled from `env`: the map `createGateway` was
 * given, else (a loaded config carries no environment) `process.env`.
 */
function readFunctionsFile(
  path: string,
  env: Env | undefined,
): ReturnType<typeof loadFunctionsFile> {
  try {
    // undefined: the reader's default, process.env.
    return loadFunctionsFile(path, env);
  } catch (err) {
    // The functions file reader reports WR_ERR_CONFIG itself; anything else gets the variable's name.
    if (isWarmrouteError(err)) throw err;
    throw new WarmrouteError('WR_ERR_CONFIG', [
      `  - WARMROUTE_FUNCTIONS_FILE (${path}): ${(err as Error).message}`,
    ]);
  }
}

/**
 * The URL the gateway calls its own local host at. A host bound to a
 * wildcard address (`0.0.0.0`, `::`; set with a control token to be
 * reachable from elsewhere) is reached over loopback, so the gateway's own
 * Invokes never leave the machine and need no credentials.
 */
export function endpointOfOwnHost(hostUrl: string): string {
  const url = new URL(hostUrl);
  if (url.hostname === '0.0.0.0') url.hostname = '127.0.0.1';
  else if (url.hostname === '[::]') url.hostname = '[::1]';
  return url.origin;
}

/**
 * The gateway wired the way `warmroute start` wires it, without listening:
 * `loadConfig` (unless a config is passed) → the local host when the config
 * selects the local backend → `createDependencies` → `buildApp`. Unlike
 * `warmroute start` it adds no demo routes (an embedding program chooses its
 * own; the RPC, admin, health, status and metrics routes are always there) and
 * generates no admin token (admin routes need `WARMROUTE_ADMIN_TOKEN`).
 *
 * @param configOrEnv a config from `loadConfig()`, or an environment map
 *   (e.g. `process.env`) to load one from; invalid settings throw one
 *   `WarmrouteError` with code `WR_ERR_CONFIG` listing every bad value.
 */
export async function createGateway(
  configOrEnv: Config | Env,
  options: CreateGatewayOptions = {},
): Promise<Gateway> {
  const env = isConfig(configOrEnv) ? undefined : configOrEnv;
  let config = isConfig(configOrEnv) ? configOrEnv : loadConfig(configOrEnv);
  const logger = options.logger ?? createGatewayLogger(config.logLevel, config.keyHeader);

  let localHost: LocalHost | undefined;
  let endpoint = config.lambdaEndpoint;
  // Undone in reverse order: the app (drain), the request path, the local host.
  const cleanups: { readonly step: string; readonly run: () => Promise<void> }[] = [];
  let closingStep = '';
  const unwind = async (): Promise<void> => {
    try {
      for (let cleanup = cleanups.pop(); cleanup !== undefined; cleanup = cleanups.pop()) {
        closingStep = cleanup.step;
        await cleanup.run();
      }
    } finally {
      closingStep = '';
    }
  };
  try {
    if (config.backend === 'local') {
      // Same source of truth as `warmroute start`: the gateway's function
      // settings (timeouts, memory, tenancy) come from the functions file the
      // local host runs; settings in the config win.
      const declared = readFunctionsFile(
        config.functionsFile ?? join(examplesDir, 'functions.json'),
        env,
      );
      config = Object.freeze({
        ...config,
        functions: { ...functionSettingsOf(declared), ...config.functions },
      });
      // Only now is the list of functions complete: refused in the config's
      // one-message report, as `warmroute start` does, not later by buildApp.
      const problems = routeFunctionProblems(config);
      if (problems.length > 0) {
        throw new WarmrouteError('WR_ERR_CONFIG', [problems.map((p) => `  - ${p}`).join('\n')]);
      }
      const host = await startLocalHost({
        host: config.localHost,
        port: config.localPort,
        region: config.region,
        functions: declared,
        // The validated setting ('' = none), not the environment's raw value.
        controlToken: config.localControlToken ?? '',
        logger: logger.child({ component: 'local-host' }),
        env,
      });
      cleanups.push({
        step: 'stopping the local host and its environments',
        run: () => host.close(),
      });
      localHost = host;
      endpoint = endpointOfOwnHost(host.url);
    }
    const deps = await createDependencies(config, {
      logger,
      endpoint,
      // Our own host reads no signature: skip SigV4 and the headers only AWS reads
      // (the backend allows that only over loopback; a host bound to one LAN address is signed).
      endpointIsEmbeddedLocalHost: localHost !== undefined && isLoopbackEndpoint(endpoint),
      defaultMetrics: options.defaultMetrics,
    });
    cleanups.push({
      step: 'closing the directory and the Lambda client',
      run: () => deps.close(),
    });
    // The status page shows the embedded host's environments per function.
    const built = buildApp(config, { ...deps, localHost });
    cleanups.push({ step: 'closing the gateway (draining requests)', run: () => built.close() });

    let closing: Promise<void> | undefined;
    return {
      app: built.app,
      admin: built.admin,
      invoker: built.invoker,
      dependencies: deps,
      config,
      localHost,
      close: () => (closing ??= unwind()),
      get closingStep() {
        return closingStep;
      },
    };
  } catch (err) {
    // Nothing started here may outlive a failed start (a listening local host
    // and its child processes would keep the embedding program alive).
    await unwind().catch(() => undefined);
    throw err;
  }
}
