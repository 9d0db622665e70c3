import { join } from 'node:path';
import { pino } from 'pino';
import { loadConfig } from '../config/load-config.js';
import { defaults, type Config } from '../config/schema.js';
import { walkArgs, type FlagHandler } from '../cli-args.js';
import { WarmrouteError } from '../errors.js';
import { listenErrorMessage } from '../listen-error.js';
import { examplesDir } from '../paths.js';
import { shellQuote } from '../shell-quote.js';
import {
  DEFAULT_IDLE_JITTER_MS,
  DEFAULT_IDLE_RECLAIM_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_MAX_ENVIRONMENTS,
  DEFAULT_MAX_LIFETIME_MS,
  isLoopbackHost,
  MIN_CONTROL_TOKEN_LENGTH,
  startLocalHost,
  type LocalHost,
} from './local-host.js';
import type { FunctionDefinition } from './function-registry.js';
import type { ReclaimOptions } from './reclaim.js';

/** `warmroute local --help`; `warmroute --help` (src/cli.ts) prints it too. */
export const localUsage = `usage: warmroute local [--port N] [--host H] [--functions FILE] [--reclaim lru|idle]
                      [--idle-timeout MS] [--idle-reclaim MS] [--idle-jitter MS] [--max-lifetime MS]
                      [--max-environments N] [--tenant-environment-cap N] [--control-token T]

  --port N              listen port (default $WARMROUTE_LOCAL_PORT or ${defaults.localPort}; 0 = any free port)
  --host H              listen address (default $WARMROUTE_LOCAL_HOST or ${defaults.localHost})
  --functions FILE      functions file (default: the shipped examples, lambda/examples/functions.json)
  --reclaim lru|idle    how environments go (default lru):
                          lru   a fixed number of environments; when full, the least
                                recently used idle one is stopped to make room
                          idle  as on Lambda: never stopped to make room; reclaimed when
                                idle too long or too old; past --max-environments a new
                                environment gets 429
  --idle-timeout MS     lru: stop environments idle this long (default ${DEFAULT_IDLE_TIMEOUT_MS})
  --idle-reclaim MS     idle: reclaim environments idle this long (default ${DEFAULT_IDLE_RECLAIM_MS})
  --idle-jitter MS      idle: each environment may stay idle up to this much longer,
                        drawn uniformly when it starts (default ${DEFAULT_IDLE_JITTER_MS})
  --max-lifetime MS     idle: recycle every environment at this age, a busy one after
                        its invocation (default ${DEFAULT_MAX_LIFETIME_MS})
  --max-environments N  cap on environments of all functions (default ${DEFAULT_MAX_ENVIRONMENTS})
  --tenant-environment-cap N
                        tenant environments (busy or idle) per function before a new one
                        gets 429 "Rate exceeded" (default: Lambda's 2,500 per 1,000 of the
                        function's concurrency)
  --control-token T     bearer token the /_local/* control API requires (default
                        $WARMROUTE_LOCAL_CONTROL_TOKEN; at least 16 characters;
                        required to listen on a non-loopback address)
`;

export interface LocalCommandOptions {
  readonly host: string;
  readonly port: number;
  readonly functionsFile: string;
  /** The reclaim mode and the times given for it (the host applies the defaults). */
  readonly reclaim: ReclaimOptions;
  readonly maxEnvironments: number | undefined;
  readonly tenantEnvironmentCap: number | undefined;
  readonly controlToken: string | undefined;
  /** Where `controlToken` came from, so the banner's curl can send it. */
  readonly controlTokenFrom: 'environment' | 'flag' | undefined;
  /** pino level (`WARMROUTE_LOG_LEVEL`). */
  readonly logLevel: Config['logLevel'];
  readonly help: boolean;
}

/**
 * The settings `warmroute local` shares with the gateway's config, read by
 * the config loader (defaults, validation and messages from its schema)
 * from those variables alone, so an unrelated gateway setting cannot stop
 * the local host from starting.
 */
const SHARED_VARIABLES = [
  'WARMROUTE_LOCAL_HOST',
  'WARMROUTE_LOCAL_PORT',
  'WARMROUTE_LOCAL_CONTROL_TOKEN',
  'WARMROUTE_LOG_LEVEL',
] as const;

/** A week: Lambda recycles environments "every few hours", so anything longer is a typo. */
const MAX_LIFETIME_LIMIT_MS = 7 * 86_400_000;

function integer(flag: string, value: string | undefined, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || value === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new WarmrouteError('WR_ERR_CONFIG', [
      `  ${flag}: expected an integer from ${min} to ${max}, got ${JSON.stringify(value)}`,
    ]);
  }
  return n;
}

/** Parses `warmroute local` arguments; every bad value is reported at once. */
export function parseLocalArgs(
  args: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): LocalCommandOptions {
  const problems: string[] = [];
  const attempt = <T>(f: () => T): T | undefined => {
    try {
      return f();
    } catch (err) {
      problems.push(
        err instanceof WarmrouteError
          ? err.message.replace(/^Invalid configuration:\n/, '')
          : String(err),
      );
      return undefined;
    }
  };
  const config = attempt(() =>
    loadConfig(Object.fromEntries(SHARED_VARIABLES.map((name) => [name, env[name]])), {
      // No gateway runs here: its check that an embedded local host on a
      // public address has a token would judge the environment alone, while
      // --host and --control-token may change either. The same check runs
      // below, on the values the host will use.
      overrides: { backend: 'aws' },
    }),
  );
  let host = config?.localHost ?? defaults.localHost;
  // The default is applied at the end: a bad --port leaves it undefined.
  let port: number | undefined = config?.localPort;
  let functionsFile = join(examplesDir, 'functions.json');
  let reclaim: ReclaimOptions['reclaim'];
  let idleTimeoutMs: number | undefined;
  /** Flags of the `idle` mode, by name, for the check that --reclaim idle was given. */
  const idleFlags = new Map<string, number>();
  let maxEnvironments: number | undefined;
  let tenantEnvironmentCap: number | undefined;
  /** An integer flag of the `idle` mode. */
  const idleInteger =
    (flag: string, min: number, max: number): FlagHandler =>
    (value) => {
      const n = attempt(() => integer(flag, value(), min, max));
      if (n !== undefined) idleFlags.set(flag, n);
    };
  let controlToken = config?.localControlToken;
  let controlTokenFrom: LocalCommandOptions['controlTokenFrom'] =
    controlToken === undefined ? undefined : 'environment';
  /** A flag whose value is any non-empty text, handed to `set`. */
  const text =
    (flag: string, expected: string, set: (v: string) => void): FlagHandler =>
    (value) => {
      const v = value();
      if (v === undefined || v === '') problems.push(`  ${flag}: expected ${expected}`);
      else set(v);
    };
  const { help } = walkArgs(
    args,
    new Map<string, FlagHandler>([
      [
        '--port',
        (value) => {
          port = attempt(() => integer('--port', value(), 0, 65_535));
        },
      ],
      [
        '--host',
        text('--host', 'an address', (v) => {
          host = v;
        }),
      ],
      [
        '--functions',
        text('--functions', 'a file path', (v) => {
          functionsFile = v;
        }),
      ],
      [
        '--reclaim',
        (value) => {
          const v = value();
          if (v === 'lru' || v === 'idle') reclaim = v;
          else problems.push(`  --reclaim: expected lru or idle, got ${JSON.stringify(v)}`);
        },
      ],
      ['--idle-reclaim', idleInteger('--idle-reclaim', 1, 86_400_000)],
      ['--idle-jitter', idleInteger('--idle-jitter', 0, 86_400_000)],
      ['--max-lifetime', idleInteger('--max-lifetime', 1, MAX_LIFETIME_LIMIT_MS)],
      [
        '--tenant-environment-cap',
        (value) => {
          tenantEnvironmentCap = attempt(() =>
            integer('--tenant-environment-cap', value(), 1, 1_000_000),
          );
        },
      ],
      [
        '--idle-timeout',
        (value) => {
          idleTimeoutMs = attempt(() => integer('--idle-timeout', value(), 1, 86_400_000));
        },
      ],
      [
        '--max-environments',
        (value) => {
          maxEnvironments = attempt(() => integer('--max-environments', value(), 1, 10_000));
        },
      ],
      [
        '--control-token',
        text('--control-token', 'a token', (v) => {
          controlToken = v;
          controlTokenFrom = 'flag';
        }),
      ],
    ]),
    problems,
  );
  if (reclaim !== 'idle') {
    for (const flag of idleFlags.keys()) {
      problems.push(
        `  ${flag}: only with --reclaim idle (the lru mode stops idle environments after --idle-timeout)`,
      );
    }
  } else if (idleTimeoutMs !== undefined) {
    problems.push(
      '  --idle-timeout: only with --reclaim lru; with --reclaim idle use --idle-reclaim',
    );
  }
  if (controlToken !== undefined && controlToken.length < MIN_CONTROL_TOKEN_LENGTH) {
    problems.push(
      `  --control-token / WARMROUTE_LOCAL_CONTROL_TOKEN: must be at least ${MIN_CONTROL_TOKEN_LENGTH} characters`,
    );
  }
  if (controlToken === undefined && !isLoopbackHost(host)) {
    problems.push(
      `  --host ${host}: not a loopback address, so the control API needs --control-token ` +
        '(or WARMROUTE_LOCAL_CONTROL_TOKEN): it lists every tenant ID and stops environments',
    );
  }
  if (problems.length > 0) throw new WarmrouteError('WR_ERR_CONFIG', [problems.join('\n')]);
  return {
    host,
    port: port ?? defaults.localPort,
    functionsFile,
    reclaim:
      reclaim === 'idle'
        ? {
            reclaim,
            idleReclaimMs: idleFlags.get('--idle-reclaim'),
            idleJitterMs: idleFlags.get('--idle-jitter'),
            maxLifetimeMs: idleFlags.get('--max-lifetime'),
          }
        : { reclaim: 'lru', idleTimeoutMs },
    maxEnvironments,
    tenantEnvironmentCap,
    controlToken,
    controlTokenFrom,
    logLevel: config?.logLevel ?? defaults.logLevel,
    help,
  };
}

/**
 * Where the control token came from: the environment (named, not printed)
 * or `--control-token` (printed: no variable holds it).
 */
export type ControlTokenSource =
  { readonly from: 'environment' } | { readonly from: 'flag'; readonly token: string };

export interface LocalBannerInput {
  readonly url: string;
  readonly region: string;
  readonly functions: readonly Pick<FunctionDefinition, 'name' | 'tenancy'>[];
  /** Undefined when the control API needs no token. */
  readonly controlToken: ControlTokenSource | undefined;
}

/**
 * What `warmroute local` prints: where it listens and commands that work as
 * printed for the functions it serves. The AWS CLI invokes the first declared
 * function, with the dummy region and credentials every AWS client needs
 * before it sends anything (the host checks neither), and `--tenant-id` only
 * for a `PER_TENANT` function (Lambda refuses it on any other).
 * test/integration/local-banner.test.ts runs every printed line.
 */
export function localBanner(input: LocalBannerInput): string {
  const lines = [
    `warmroute local Lambda host on ${input.url}  (functions: ${input.functions.map((f) => f.name).join(', ')})`,
  ];
  const first = input.functions[0];
  if (first !== undefined) {
    const tenant = first.tenancy === 'PER_TENANT' ? ' --tenant-id BlueTenant' : '';
    // A function name and a region hold only letters, digits, `-` and `_`
    // (their schemas), so they need no quotes; a URL may hold `[` `]` (IPv6).
    lines.push(
      `  AWS_DEFAULT_REGION=${input.region} AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local ` +
        `aws lambda invoke --endpoint-url ${shellQuote(input.url)} --function-name ${first.name}${tenant} out.json`,
    );
  }
  let authorization = '';
  if (input.controlToken?.from === 'environment') {
    authorization = '-H "authorization: Bearer $WARMROUTE_LOCAL_CONTROL_TOKEN" ';
  } else if (input.controlToken?.from === 'flag') {
    authorization = `-H ${shellQuote(`authorization: Bearer ${input.controlToken.token}`)} `;
  }
  lines.push(`  curl -s ${authorization}${shellQuote(`${input.url}/_local/environments`)}`, '');
  return lines.join('\n');
}

/**
 * `warmroute local`: the local Lambda host alone, until SIGINT/SIGTERM.
 * Function output is printed with its function, tenant and environment.
 */
export async function runLocalHostCommand(args: readonly string[]): Promise<void> {
  let options: LocalCommandOptions;
  try {
    options = parseLocalArgs(args, process.env);
  } catch (err) {
    if (!(err instanceof WarmrouteError)) throw err;
    process.stderr.write(`warmroute local: ${err.message}\n\n${localUsage}`);
    process.exitCode = 2;
    return;
  }
  if (options.help) {
    process.stdout.write(localUsage);
    return;
  }
  const logger = pino({ level: options.logLevel });
  let host: LocalHost;
  try {
    host = await startLocalHost({
      host: options.host,
      port: options.port,
      functionsFile: options.functionsFile,
      ...options.reclaim,
      maxEnvironments: options.maxEnvironments,
      tenantEnvironmentCap: options.tenantEnvironmentCap,
      // Passed explicitly (even when absent) so startLocalHost does not read the environment again.
      controlToken: options.controlToken ?? '',
      logger,
      onFunctionOutput: (source, text) => {
        const prefix = `[${source.function}${source.tenant === undefined ? '' : ` ${source.tenant}`} ${source.environment}] `;
        process.stderr.write(prefix + text.replace(/\n(?=.)/g, `\n${prefix}`));
      },
    });
  } catch (err) {
    const message = listenErrorMessage(err, {
      what: "the local Lambda host's port",
      setting: '--port / WARMROUTE_LOCAL_PORT',
    });
    if (message === undefined) throw err;
    process.stderr.write(`warmroute local: ${message}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(
    localBanner({
      url: host.url,
      region: host.settings.region,
      functions: host.functions,
      controlToken:
        options.controlToken === undefined
          ? undefined
          : options.controlTokenFrom === 'flag'
            ? { from: 'flag', token: options.controlToken }
            : { from: 'environment' },
    }),
  );
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping the local host and every environment');
    host.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
