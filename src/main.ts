import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { buildApp } from './app.js';
import { loadConfig, type Env } from './config/load-config.js';
import type { Config } from './config/schema.js';
import { createDependencies } from './create-dependencies.js';
import { WarmrouteError, isWarmrouteError } from './errors.js';
import { functionSettingsOf } from './config/function-settings.js';
import { routeFunctionProblems } from './config/check-config.js';
import {
  loadFunctionsFile,
  startLocalHost,
  type FunctionDefinition,
  type LocalHost,
} from './localhost/index.js';
import { createGatewayLogger } from './logger.js';
import { examplesDir } from './paths.js';

/** Routes `warmroute start` serves when the config names none: the classic demo. */
const demoRoutes = [
  { prefix: '/fresh', function: 'counter', mode: 'fresh' },
  { prefix: '/warm', function: 'warm-counter', mode: 'affinity' },
  { prefix: '/workspace', function: 'workspace', mode: 'affinity' },
  { prefix: '/', function: 'counter', mode: 'affinity' },
] as const;

const defaultFunctionsFile = join(examplesDir, 'functions.json');

/**
 * With the embedded local host the gateway knows every function (timeouts,
 * memory, tenancy) from the functions file, and serves the demo routes when
 * the config names none.
 */
function withLocalFunctions(config: Config, declared: readonly FunctionDefinition[]): Config {
  return Object.freeze({
    ...config,
    functions: { ...functionSettingsOf(declared), ...config.functions },
    routes: config.routes.length > 0 ? config.routes : demoRoutes.map((r) => ({ ...r })),
  });
}

/**
 * `warmroute start`: the local Lambda host with the example functions (unless
 * an endpoint or real AWS is configured) and the gateway. The only place that
 * listens and exits.
 */
export async function runStart(_args: readonly string[], env: Env = process.env): Promise<void> {
  const generatedAdminToken = randomBytes(18).toString('base64url');
  let config: Config;
  let declared: readonly FunctionDefinition[] | undefined;
  try {
    // Outside production an admin token is generated (and printed) so the
    // demo's rotate/bind commands work; in production an unset token
    // disables the admin routes.
    config = loadConfig(env, { devAdminToken: generatedAdminToken });
    // Read once: the gateway's function settings and the local host's
    // environments come from the same definitions.
    if (config.backend === 'local') {
      const functionsFile = config.functionsFile ?? defaultFunctionsFile;
      try {
        declared = loadFunctionsFile(functionsFile);
      } catch (err) {
        // The functions file reader reports WR_ERR_CONFIG itself; anything else gets the variable's name.
        if (isWarmrouteError(err)) throw err;
        throw new WarmrouteError('WR_ERR_CONFIG', [
          `  - WARMROUTE_FUNCTIONS_FILE (${functionsFile}): ${(err as Error).message}`,
        ]);
      }
      config = withLocalFunctions(config, declared);
      // Only now is the list of functions complete: a route naming another one would fail start-up.
      const problems = routeFunctionProblems(config);
      if (problems.length > 0) {
        throw new WarmrouteError('WR_ERR_CONFIG', [problems.map((p) => `  - ${p}`).join('\n')]);
      }
    }
  } catch (err) {
    if (isWarmrouteError(err)) {
      process.stderr.write(`warmroute: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createGatewayLogger(config.logLevel);

  let localHost: LocalHost | undefined;
  let endpoint = config.lambdaEndpoint;
  if (config.backend === 'local') {
    localHost = await startLocalHost({
      host: config.localHost,
      port: config.localPort,
      // From the config (validated with everything else); '' means none: loopback only.
      controlToken: config.localControlToken ?? '',
      functions: declared ?? [],
      logger: logger.child({ component: 'local-host' }),
    });
    endpoint = localHost.url;
  }

  const deps = await createDependencies(config, { logger, endpoint });
  const gateway = buildApp(config, { ...deps, logger });

  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info(
      { signal, graceMs: config.shutdownGraceMs },
      'shutting down: draining in-flight requests',
    );
    // A backstop only: at the grace's end the drain answers every request
    // still in flight (503 WR_ERR_SHUTTING_DOWN) and deps.close() aborts the
    // backend calls left behind, so an orderly close takes the grace plus a
    // moment. This fires if a dependency hangs on close, and says what it cuts off.
    let phase = 'closing the gateway (draining requests)';
    const hardStop = setTimeout(() => {
      const scheduler = deps.scheduler.stats();
      logger.error(
        {
          stuckAt: phase,
          running: scheduler.running,
          queued: scheduler.queued,
          environments: localHost?.environments().length ?? 0,
        },
        'shutdown took too long: exiting with calls still open (environments are killed on exit)',
      );
      process.exit(1);
    }, config.shutdownGraceMs + 5_000);
    hardStop.unref();
    try {
      await gateway.close();
      phase = 'closing the directory and the Lambda client';
      await deps.close();
      phase = 'stopping the local host and its environments';
      await localHost?.close();
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

  const address = await gateway.app.listen({ host: config.host, port: config.port });
  const base = address.replace('[::1]', 'localhost');
  const adminAddress = await gateway.admin?.listen({
    host: config.adminHost ?? config.host,
    port: config.adminPort ?? 0,
  });
  // Admin, health and metrics live on the admin listener when there is one.
  const adminBase = adminAddress?.replace('[::1]', 'localhost') ?? base;
  const token =
    config.adminToken === generatedAdminToken ? generatedAdminToken : '$WARMROUTE_ADMIN_TOKEN';
  process.stdout.write(
    [
      '',
      `warmroute gateway on ${base}  (directory: ${config.redisUrl === undefined ? 'in-memory' : 'redis'}, backend: ${
        localHost ? `local host ${localHost.url}` : (endpoint ?? 'AWS Lambda')
      })`,
      ...(adminAddress === undefined ? [] : [`admin, health and metrics on ${adminBase}`]),
      '',
      'Try:',
      `  curl -s -H 'x-affinity-key: blue' ${base}/            # counter 0, 1, 2 … for blue`,
      `  curl -s -H 'x-affinity-key: green' ${base}/           # green has its own counter`,
      `  curl -s -H 'x-affinity-key: blue' ${base}/fresh       # a clean environment every time`,
      `  curl -s -X POST -H "authorization: Bearer ${token}" ${adminBase}/v1/keys/blue/rotate`,
      `  curl -s ${adminBase}/metrics | grep warmroute_invocations`,
      '',
    ].join('\n'),
  );
}
