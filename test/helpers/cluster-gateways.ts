import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { request } from 'undici';
import { KeyDirectory } from '../../src/directory/directory.js';
import type { LocalHost } from '../../src/localhost/index.js';
import { packageRoot } from '../../src/paths.js';
import { ADMIN_TOKEN, startTestGateway, type TestGateway } from './gateway.js';
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
