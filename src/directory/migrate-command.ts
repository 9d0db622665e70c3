import { Redis, type Cluster } from 'ioredis';
import { loadConfig } from '../config/load-config.js';
import { redisTargetOf } from '../config/redis-target.js';
import type { Config } from '../config/schema.js';
import { walkArgs, type FlagHandler } from '../cli-args.js';
import { WarmrouteError } from '../errors.js';
import { createCommandClient, redisConnection } from '../redis/client.js';
import { describeRedisTarget } from '../redis/describe-target.js';
import { DIRECTORY_KEY_PREFIX } from '../redis/keys.js';
import type { RedisTarget } from '../redis/target.js';
import {
  migrateDirectory,
  type MigrationReport,
  type NamespaceReport,
  type RefusedNamespace,
} from './migrate-layout.js';
import { redisErrorReason } from '../redis/error-reason.js';

/**
 * `warmroute migrate-directory` (src/cli.ts): copies a directory of layout
 * v2 into the layout v3 directory the gateway's settings name, keeping every
 * key's tenant ID (migrate-layout.ts). Exit 0 when done, 1 on conflicts, a
 * refused namespace or a failure (a rerun is safe), 2 on bad arguments.
 */

/** Where the source's password comes from: never the command line, which `ps` shows to every user. */
export const SOURCE_PASSWORD_VARIABLE = 'WARMROUTE_MIGRATE_FROM_PASSWORD';

export const migrateUsage = `usage: warmroute migrate-directory --from URL [--dry-run]

  Copies the key directory of a warmroute from before layout v3 (one Redis
  hash tag per namespace) into the layout v3 directory this gateway's settings
  name (REDIS_URL, or WARMROUTE_REDIS_CLUSTER_NODES; WARMROUTE_REDIS_PASSWORD),
  so every key keeps its tenant ID. Safe to run again: a rerun changes nothing.

  --from URL     redis:// or rediss:// URL of the Redis server holding the old
                 directory (a user name may be in it, the password may not:
                 put it in $${SOURCE_PASSWORD_VARIABLE})
  --dry-run      read both sides and report what would change; write nothing

  Records no gateway could have written (not a hash, an invalid key, a
  generation that is not a whole number) are skipped with a warning.

  Exit status: 0 done, 1 conflicts (buckets a layout v3 gateway already
  started; their keys are not copied), a refused namespace (a name or epoch
  no warmroute wrote; nothing of it is copied) or a failure, 2 bad arguments.
`;

/** The gateway settings that name the target directory; nothing else of the config can stop the tool. */
const TARGET_VARIABLES = [
  'REDIS_URL',
  'WARMROUTE_REDIS_CLUSTER_NODES',
  'WARMROUTE_REDIS_PASSWORD',
  'WARMROUTE_REDIS_MAX_RECONNECT_DELAY_MS',
] as const;

/**
 * Per-command deadline of both connections: the tool is not on a request
 * path, so a slow command may take its time, but a dead server must not
 * hang it.
 */
const COMMAND_TIMEOUT_MS = 10_000;

/** Warnings printed per run; the rest are counted in the summary (a broken source may have millions). */
const MAX_WARNINGS = 100;

export interface MigrateCommandOptions {
  readonly from: string;
  readonly dryRun: boolean;
  readonly help: boolean;
}

/** Parses the arguments; every problem is reported at once (WR_ERR_CONFIG). */
export function parseMigrateArgs(args: readonly string[]): MigrateCommandOptions {
  const problems: string[] = [];
  let from: string | undefined;
  let dryRun = false;
  const { help } = walkArgs(
    args,
    new Map<string, FlagHandler>([
      [
        '--from',
        (value) => {
          const url = value();
          if (from !== undefined) problems.push('  --from: given more than once');
          else if (url === undefined || url === '')
            problems.push('  --from: expected a redis:// or rediss:// URL');
          else {
            const problem = sourceUrlProblem(url);
            if (problem === undefined) from = url;
            else problems.push(`  --from: ${problem}`);
          }
        },
      ],
      [
        '--dry-run',
        (_value, inline) => {
          if (inline) problems.push('  --dry-run: takes no value');
          dryRun = true;
        },
      ],
    ]),
    problems,
  );
  if (from === undefined && !help && !problems.some((p) => p.startsWith('  --from'))) {
    problems.push('  --from: required (the Redis server holding the old directory)');
  }
  if (problems.length > 0) throw new WarmrouteError('WR_ERR_CONFIG', [problems.join('\n')]);
  return { from: from ?? '', dryRun, help };
}

/** Why `url` cannot be the source, never quoting it (it may hold a password); undefined when fine. */
function sourceUrlProblem(url: string): string | undefined {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'must be an absolute redis:// or rediss:// URL';
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    return `must be a redis:// or rediss:// URL, not ${parsed.protocol}//`;
  }
  if (parsed.password !== '' || parsed.searchParams.has('password')) {
    return `must not hold a password (the command line is visible to every user of the machine): put it in ${SOURCE_PASSWORD_VARIABLE}`;
  }
  if (parsed.hostname === '') return 'must name a host';
  return undefined;
}

/** host:port of a URL, for messages (never its credentials). */
function hostOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
}

/** The target directory from the gateway's settings, or why there is none. */
function targetFrom(config: Config): RedisTarget {
  const target = redisTargetOf(config);
  if (target === undefined) {
    throw new WarmrouteError('WR_ERR_CONFIG', [
      '  REDIS_URL or WARMROUTE_REDIS_CLUSTER_NODES: neither is set, so there is no layout v3 directory to migrate to; set the one the gateway uses',
    ]);
  }
  return target;
}

/**
 * Connects `client`, or throws naming `what` and the reason. Connection
 * errors are kept from the 'error' event (without a listener ioredis prints
 * them as unhandled, and the promise's own error is often just "Connection
 * is closed.").
 */
async function connected<C extends Redis | Cluster>(client: C, what: string): Promise<C> {
  let lastError: Error | undefined;
  client.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await client.connect();
    await client.ping();
    return client;
  } catch (err) {
    client.disconnect();
    // The node's own answer (e.g. "cluster support disabled" when the seeds name a standalone Redis).
    const why = redisErrorReason(lastError ?? err);
    throw new Error(`cannot reach ${what}: ${why}`, { cause: err });
  }
}

function namespaceLine(r: NamespaceReport, dryRun: boolean): string {
  const set = dryRun ? 'to set' : 'set';
  return (
    `namespace ${JSON.stringify(r.namespace)}: buckets ${r.bucketsSet} ${set}, ${r.bucketsAlreadySet} already set, ` +
    `${r.conflictBuckets.length} in conflict; records ${r.copied} copied, ${r.merged} merged, ` +
    `${r.unchanged} unchanged, ${r.skippedStale + r.skippedConflict + r.skippedInvalid} skipped`
  );
}

function refusedLine(r: RefusedNamespace): string {
  return `refused: namespace ${r.name}: ${r.reason}; none of its records were copied`;
}

function conflictLine(r: NamespaceReport): string {
  const shown = r.conflictBuckets.slice(0, 10).map((b) => String(b));
  const more = r.conflictBuckets.length > shown.length ? ', …' : '';
  return (
    `conflict: namespace ${JSON.stringify(r.namespace)}: ${r.conflictBuckets.length} bucket(s) (${shown.join(', ')}${more}) ` +
    `already hold another epoch (a gateway on layout v3 ran there first); their ${r.skippedConflict} record(s) were not copied`
  );
}

/** The summary: one `name: count` line each, stable names for scripts. */
export function summaryLines(report: MigrationReport): string[] {
  const t = report.totals;
  return [
    `namespaces: ${t.namespaces}`,
    `buckets set: ${t.bucketsSet}`,
    `buckets already set: ${t.bucketsAlreadySet}`,
    `bucket conflicts: ${t.conflictBuckets}`,
    `records copied: ${t.copied}`,
    `records merged: ${t.merged}`,
    `records unchanged: ${t.unchanged}`,
    `records skipped (older epoch): ${t.skippedStale}`,
    `records skipped (conflict): ${t.skippedConflict}`,
    `records skipped (invalid): ${t.skippedInvalid}`,
    `bindings dropped (invalid): ${t.bindingsDropped}`,
    `namespaces refused: ${t.namespacesRefused}`,
  ];
}

function ignoreClosedPipe(stream: NodeJS.WriteStream): void {
  if (stream.listeners('error').some((l) => l === onStreamError)) return;
  stream.on('error', onStreamError);
}

function onStreamError(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
}

export async function runMigrateCommand(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const name = 'warmroute migrate-directory';
  // `… | head` closes the pipe early: the migration must still finish (a
  // half-done run is safe to repeat, but nobody asked to stop it), so a
  // closed stdout or stderr is ignored instead of crashing the process.
  ignoreClosedPipe(process.stdout);
  ignoreClosedPipe(process.stderr);
  let options: MigrateCommandOptions;
  let config: Config;
  let target: RedisTarget;
  let connection: ReturnType<typeof redisConnection>;
  try {
    options = parseMigrateArgs(args);
    if (options.help) {
      process.stdout.write(migrateUsage);
      return 0;
    }
    config = loadConfig(Object.fromEntries(TARGET_VARIABLES.map((v) => [v, env[v]])));
    target = targetFrom(config);
    connection = redisConnection(options.from, env[SOURCE_PASSWORD_VARIABLE], '--from');
  } catch (err) {
    if (!(err instanceof WarmrouteError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n\n${migrateUsage}`);
    return 2;
  }
  const source = new Redis(connection.url, {
    ...connection.auth,
    connectionName: 'warmroute-migrate-source',
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    connectTimeout: COMMAND_TIMEOUT_MS,
    // One attempt: a tool run by hand reports an unreachable server instead of retrying.
    retryStrategy: () => null,
    // ioredis turns TLS on only for a lower-case `rediss://`; the scheme is case-insensitive.
    ...(/^rediss:/i.test(options.from) ? { tls: {} } : {}),
  });
  const targetClient = createCommandClient({
    target,
    password: config.redisPassword,
    connectionName: 'warmroute-migrate',
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
    maxReconnectDelayMs: config.redisMaxReconnectDelayMs,
  });
  let warnings = 0;
  try {
    await connected(source, `the source ${hostOf(options.from)} (--from)`);
    await connected(targetClient, `the target ${describeRedisTarget(target)}`);
    process.stdout.write(
      `${name}: from ${hostOf(options.from)} (layout v2) to ${describeRedisTarget(target)} (layout v3)` +
        `${options.dryRun ? ', dry run: nothing is written' : ''}\n`,
    );
    const report = await migrateDirectory({
      source,
      target: targetClient,
      sourcePrefix: DIRECTORY_KEY_PREFIX,
      targetPrefix: DIRECTORY_KEY_PREFIX,
      dryRun: options.dryRun,
      onNamespace: (r) => {
        process.stdout.write(`${namespaceLine(r, options.dryRun)}\n`);
        if (r.conflictBuckets.length > 0) process.stderr.write(`${name}: ${conflictLine(r)}\n`);
      },
      onRefused: (r) => {
        process.stderr.write(`${name}: ${refusedLine(r)}\n`);
      },
      onWarning: (message) => {
        warnings++;
        if (warnings <= MAX_WARNINGS) process.stderr.write(`${name}: warning: ${message}\n`);
      },
    });
    if (warnings > MAX_WARNINGS) {
      process.stderr.write(
        `${name}: ${warnings - MAX_WARNINGS} more warning(s) not shown (counted in the summary)\n`,
      );
    }
    if (report.totals.namespaces === 0 && report.totals.namespacesRefused === 0) {
      process.stdout.write(
        `no layout v2 directory (no ${DIRECTORY_KEY_PREFIX}{ns:…}:epoch key) on ${hostOf(options.from)}: nothing to migrate\n`,
      );
    }
    process.stdout.write(`${summaryLines(report).join('\n')}\n`);
    if (options.dryRun) {
      process.stdout.write(
        'dry run: nothing was written; the counts are what a real run would do\n',
      );
    }
    if (report.totals.conflictBuckets > 0) {
      process.stderr.write(
        `${name}: ${report.totals.conflictBuckets} bucket(s) in conflict; keys there keep the tenants the layout v3 gateway gave them\n`,
      );
    }
    if (report.totals.namespacesRefused > 0) {
      process.stderr.write(
        `${name}: ${report.totals.namespacesRefused} namespace(s) refused; delete or repair their keys on the source, then run it again\n`,
      );
    }
    return report.totals.conflictBuckets > 0 || report.totals.namespacesRefused > 0 ? 1 : 0;
  } catch (err) {
    process.stderr.write(
      `${name}: ${err instanceof Error ? err.message : String(err)} (running it again is safe)\n`,
    );
    return 1;
  } finally {
    source.disconnect();
    targetClient.disconnect();
  }
}
