import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { defaults } from '../../src/config/schema.js';
import { KeyDirectory } from '../../src/directory/directory.js';
import { EPOCH_BUCKETS } from '../../src/directory/epoch-bucket.js';
import type { LocalHost } from '../../src/localhost/index.js';
import { packageRoot } from '../../src/paths.js';
import { DIRECTORY_KEY_PREFIX, directoryKeys } from '../../src/redis/keys.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from './gateway.js';
import { freePort } from './ports.js';
import type { RedisCluster } from './redis-cluster.js';

/**
 * Gateways on a private Redis Cluster (issue 15): each a real gateway built
 * by the same factory `warmroute start` uses, in this process but with its
 * own directory, its own Redis connections and its own sharded subscriber,
 * so whatever one learns from another goes through the cluster.
 */

/** `WARMROUTE_REDIS_CLUSTER_NODES` for the harness's cluster: every node as a seed. */
export function clusterNodesSetting(cluster: RedisCluster): string {
  return cluster.seeds.map((seed) => `${seed.host}:${String(seed.port)}`).join(',');
}

/**
 * `count` gateways sharing `localHost` and the cluster, each started and with
 * its namespace's 1,024 bucket epochs read (the background prefetch has
 * ended), so a later L1 miss costs what a warmed-up replica pays.
 */
export async function startClusterGateways(
  cluster: RedisCluster,
  count: number,
  env: Record<string, string>,
  localHost: LocalHost,
): Promise<TestGateway[]> {
  const gateways: TestGateway[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const gw = await startTestGateway(
        { WARMROUTE_REDIS_CLUSTER_NODES: clusterNodesSetting(cluster), ...env },
        { localHost },
      );
      gateways.push(gw);
      await epochsLoaded(gw);
    }
  } catch (err) {
    await Promise.all(gateways.map((gw) => gw.close()));
    throw err;
  }
  return gateways;
}

/** Waits for the gateway's directory to finish prefetching its namespace's bucket epochs. */
export async function epochsLoaded(gw: TestGateway): Promise<void> {
  const { directory } = gw.deps;
  if (!(directory instanceof KeyDirectory)) throw new Error('the gateway has no KeyDirectory');
  await directory.epochsLoaded();
}

/** A `warmroute start` process (the built CLI, dist/src/cli.js) serving as one gateway replica. */
export interface GatewayProcess {
  readonly pid: number;
  /** The public listener (PORT). */
  readonly url: string;
  /** The admin listener (WARMROUTE_ADMIN_PORT): admin API, health, metrics. */
  readonly adminUrl: string;
  /** What the process has printed so far, stdout then stderr (for failure messages). */
  output(): string;
  /** SIGTERM to its PID, SIGKILL if it has not exited 10 s later; resolves once it has exited. */
  stop(): Promise<void>;
}

/** The text `warmroute start` ends its banner with (src/main.ts startBanner). */
const BANNER_END = /\/metrics' \| grep \S+\n/;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/**
 * Spawns `node dist/src/cli.js start` with only PATH and `env` in its
 * environment (what a user sets), on free ports of its own for the public
 * and the admin listener, and resolves once it has printed its banner (it
 * listens then). Rejects with its output if it exits or stays silent for
 * 30 s, after killing it.
 */
export async function startGatewayProcess(
  env: Readonly<Record<string, string>>,
): Promise<GatewayProcess> {
  const port = await freePort();
  const adminPort = await freePort();
  const child = spawn(process.execPath, [join(packageRoot, 'dist/src/cli.js'), 'start'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      HOST: '127.0.0.1',
      PORT: String(port),
      WARMROUTE_ADMIN_PORT: String(adminPort),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('warmroute start: no process');
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      resolve();
    });
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const output = (): string => `${stdout}${stderr === '' ? '' : `\n[stderr]\n${stderr}`}`;
  const running = (): boolean => child.exitCode === null && child.signalCode === null;
  const stop = async (): Promise<void> => {
    if (!running()) return;
    process.kill(pid, 'SIGTERM');
    const killer = setTimeout(() => {
      if (running()) process.kill(pid, 'SIGKILL');
    }, STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(killer);
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`warmroute start printed no banner in ${String(START_TIMEOUT_MS)} ms`));
      }, START_TIMEOUT_MS);
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (BANNER_END.test(stdout)) {
          clearTimeout(timer);
          resolve();
        }
      });
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`warmroute start exited (${String(child.exitCode ?? child.signalCode)})`));
      });
    });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}:\n${output()}`, { cause: err });
  }
  return {
    pid,
    url: `http://127.0.0.1:${String(port)}`,
    adminUrl: `http://127.0.0.1:${String(adminPort)}`,
    output,
    stop,
  };
}

/**
 * The environment a user gives each replica of a gateway on the harness's
 * cluster in front of `localHost`: the cluster's seeds, one shared secret
 * and admin token, the local host as the Lambda endpoint, one route (`/` ->
 * `counter`, affinity) and the functions the gateway may call, plus `env`.
 */
export function clusterGatewayEnv(
  cluster: RedisCluster,
  localHost: LocalHost,
  env: Readonly<Record<string, string>>,
): Record<string, string> {
  return {
    WARMROUTE_REDIS_CLUSTER_NODES: clusterNodesSetting(cluster),
    WARMROUTE_SECRET: 'test-secret-0123456789abcdef',
    WARMROUTE_ADMIN_TOKEN: ADMIN_TOKEN,
    AWS_ENDPOINT_URL_LAMBDA: localHost.url,
    WARMROUTE_ROUTES: JSON.stringify([{ prefix: '/', function: 'counter', mode: 'affinity' }]),
    WARMROUTE_FUNCTIONS: JSON.stringify({
      counter: { timeoutSeconds: 3, memoryMb: 128, tenancy: 'PER_TENANT' },
    }),
    WARMROUTE_LOG_LEVEL: 'warn',
    ...env,
  };
}

/** Script calls (each one round trip) summed from a commandstats reading. */
function scriptCalls(stats: Readonly<Record<string, number>>): number {
  let calls = 0;
  for (const name of SCRIPT_CALLS) calls += stats[name] ?? 0;
  return calls;
}

const PREFETCH_POLL_MS = 250;
const PREFETCH_TIMEOUT_MS = 30_000;

/** How one process's start went: ms from spawn to prefetch ended, and the script calls it made meanwhile. */
export interface ProcessStart {
  readonly ms: number;
  readonly scriptCalls: number;
}

/**
 * Spawns a gateway process and resolves once its background epoch prefetch
 * has ended. A process does not say when that is (no log line, no metric),
 * so this watches the masters' INFO commandstats: the prefetch reads each of
 * the EPOCH_BUCKETS epochs with one script call, so it has ended once the
 * masters have run at least EPOCH_BUCKETS script calls since the spawn and
 * the count then stands still over one poll (250 ms; a running prefetch
 * keeps 128 calls in flight). Exact only while nothing else runs scripts and
 * no epoch is created meanwhile — the caller starts processes one at a time:
 * a process that learnt an epoch from another's announcement would not read
 * it, and make fewer calls.
 */
async function startAndPrefetch(
  cluster: RedisCluster,
  env: Readonly<Record<string, string>>,
): Promise<{ gateway: GatewayProcess; start: ProcessStart }> {
  const startedAt = Date.now();
  const baseline = scriptCalls(await cluster.commandStats());
  const gateway = await startGatewayProcess(env);
  try {
    let previous = -1;
    for (;;) {
      const calls = scriptCalls(await cluster.commandStats()) - baseline;
      if (calls >= EPOCH_BUCKETS && calls === previous) {
        return { gateway, start: { ms: Date.now() - startedAt, scriptCalls: calls } };
      }
      if (Date.now() - startedAt > PREFETCH_TIMEOUT_MS) {
        throw new Error(
          `the epoch prefetch of pid ${String(gateway.pid)} did not end: ${String(calls)} script calls in ${String(PREFETCH_TIMEOUT_MS)} ms\n${gateway.output()}`,
        );
      }
      previous = calls;
      await new Promise((resolve) => setTimeout(resolve, PREFETCH_POLL_MS));
    }
  } catch (err) {
    await gateway.stop();
    throw err;
  }
}

/**
 * `count` `warmroute start` processes on the cluster in front of
 * `localHost`, started one after the other, each with its namespace's bucket
 * epochs read (its prefetch has ended, see startAndPrefetch), so a later L1
 * miss costs what a warmed-up replica pays.
 */
export async function startClusterGatewayProcesses(
  cluster: RedisCluster,
  count: number,
  env: Readonly<Record<string, string>>,
  localHost: LocalHost,
): Promise<{ gateways: GatewayProcess[]; starts: ProcessStart[] }> {
  const gateways: GatewayProcess[] = [];
  const starts: ProcessStart[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const { gateway, start } = await startAndPrefetch(
        cluster,
        clusterGatewayEnv(cluster, localHost, env),
      );
      gateways.push(gateway);
      starts.push(start);
    }
  } catch (err) {
    await Promise.all(gateways.map((gw) => gw.stop()));
    throw err;
  }
  return { gateways, starts };
}

/** The value of an unlabelled counter or gauge on a gateway's /metrics (0 when absent). */
export async function metricValue(adminUrl: string, name: string): Promise<number> {
  const res = await request(`${adminUrl}/metrics`);
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET /metrics: ${String(res.statusCode)}`);
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? 0 : Number(line.slice(name.length + 1));
}

/**
 * One fresh key (`<label>-<n>`) whose directory record lives on each master
 * of the cluster, in master order: calling them makes every master run the
 * request path's script at least once.
 */
export async function keysOnEveryMaster(cluster: RedisCluster, label: string): Promise<string[]> {
  const masters = await cluster.masters();
  const [first] = masters;
  if (first === undefined) throw new Error('the cluster has no master');
  const keys = directoryKeys(DIRECTORY_KEY_PREFIX);
  const found = new Map<number, string>();
  const redis = new Redis({ host: '127.0.0.1', port: first.port, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const tag = Date.now().toString(36);
    for (let i = 0; found.size < masters.length && i < 1000; i++) {
      const key = `${label}-${tag}-${String(i)}`;
      const slot = Number(
        await redis.call('CLUSTER', 'KEYSLOT', keys.record(defaults.namespace, key)),
      );
      const owner = masters.findIndex((m) => m.slots.some(([lo, hi]) => slot >= lo && slot <= hi));
      if (owner !== -1 && !found.has(owner)) found.set(owner, key);
    }
  } finally {
    redis.disconnect();
  }
  if (found.size < masters.length) throw new Error('no key found for some master');
  return [...found.entries()].sort(([a], [b]) => a - b).map(([, key]) => key);
}

/** What a proxied call told the client (status, x-affinity-* headers, body). */
export interface AffinityCall {
  readonly status: number;
  readonly tenant: string;
  readonly state: string;
  readonly text: string;
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string {
  const value = headers[name];
  return typeof value === 'string' ? value : '';
}

/** GET `path` on a gateway with `key` as the affinity key. Never throws on an HTTP status. */
export async function callWithKey(url: string, path: string, key: string): Promise<AffinityCall> {
  const res = await request(`${url}${path}`, {
    method: 'GET',
    headers: { 'x-affinity-key': key },
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    tenant: header(res.headers, 'x-affinity-tenant'),
    state: header(res.headers, 'x-affinity-state'),
    text,
  };
}

/** An admin API call with the test token; the status and the parsed JSON body (undefined when empty). */
export async function adminCall(
  adminUrl: string,
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> | undefined }> {
  const res = await request(`${adminUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${ADMIN_TOKEN}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

/**
 * Commands that are not the request path's: the harness's own INFO and
 * RESETSTAT, ioredis's slot-map refreshes and connection setup (CLUSTER *,
 * CLIENT *, COMMAND *, HELLO, AUTH, READONLY, SELECT, PING), the
 * subscriber's (un)subscriptions, and replication traffic between the
 * nodes (REPLCONF ACK every second from each replica, PSYNC/SYNC). Anything
 * else counts.
 */
const HOUSEKEEPING =
  /^(info|ping|echo|hello|auth|readonly|readwrite|select|quit|replconf|psync|sync|(s|p)?(un)?subscribe|(cluster|client|config|command|memory|latency|slowlog)(\|.*)?)$/;

/** How Redis names a script call in INFO commandstats (each is one round trip). */
const SCRIPT_CALLS = new Set(['eval', 'evalsha', 'eval_ro', 'evalsha_ro', 'fcall', 'fcall_ro']);

/**
 * Commands the directory's Lua scripts call (read from src/redis/lua):
 * commandstats counts them too, once per call inside a script, so they are
 * part of a script's round trip, not round trips of their own. The publish
 * command is a script argument (PUBLISH or SPUBLISH), hence listed by hand.
 */
export function scriptInnerCommands(): ReadonlySet<string> {
  const dir = join(packageRoot, 'src', 'redis', 'lua');
  const files = [
    ...readdirSync(dir)
      .filter((f) => f.endsWith('.lua'))
      .map((f) => join(dir, f)),
    ...readdirSync(join(dir, 'includes'))
      .filter((f) => f.endsWith('.lua'))
      .map((f) => join(dir, 'includes', f)),
  ];
  const names = new Set<string>(['publish', 'spublish']);
  for (const file of files) {
    for (const match of readFileSync(file, 'utf8').matchAll(
      /redis\.p?call\(\s*['"]([A-Za-z]+)['"]/g,
    )) {
      names.add((match[1] ?? '').toLowerCase());
    }
  }
  return names;
}

export interface RoundTrips {
  /** Script calls plus every other non-housekeeping command outside the scripts' own. */
  readonly total: number;
  /** The commands counted, by name (for the failure message). */
  readonly counted: Readonly<Record<string, number>>;
  /** Housekeeping deltas left out (printed, so the exclusion is visible). */
  readonly excluded: Readonly<Record<string, number>>;
}

/**
 * Round trips between two commandstats readings (summed over the masters):
 * each script call is one, each command the scripts never call is one, and
 * commands issued inside scripts or for housekeeping are not. Limitation:
 * a top-level command that a script also calls (say a plain GET) would be
 * taken for a script's; the store's request path sends none.
 */
export function roundTripsBetween(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
  inner: ReadonlySet<string> = scriptInnerCommands(),
): RoundTrips {
  const counted: Record<string, number> = {};
  const excluded: Record<string, number> = {};
  let total = 0;
  for (const [name, calls] of Object.entries(after)) {
    const delta = calls - (before[name] ?? 0);
    if (delta <= 0) continue;
    if (HOUSEKEEPING.test(name)) {
      excluded[name] = delta;
    } else if (SCRIPT_CALLS.has(name) || !inner.has(name)) {
      counted[name] = delta;
      total += delta;
    }
  }
  return { total, counted, excluded };
}

/** The hash slot of a Redis key (CLUSTER KEYSLOT on a live node). */
export async function keySlot(cluster: RedisCluster, key: string): Promise<number> {
  const [master] = await cluster.masters();
  if (master === undefined) throw new Error('the cluster has no master');
  const redis = new Redis({ host: '127.0.0.1', port: master.port, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    return Number(await redis.call('CLUSTER', 'KEYSLOT', key));
  } finally {
    redis.disconnect();
  }
}
