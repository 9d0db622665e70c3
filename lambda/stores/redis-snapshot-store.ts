import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import { parseClusterSeeds, type ClusterTarget } from '../../src/redis/cluster-seeds.js';
// For the type of wrCasSnapshot (the one augmentation of ioredis's commands).
import type {} from '../../src/redis/commands.js';
import { DEFAULT_SNAPSHOT_KEY_PREFIX, snapshotKey } from '../../src/redis/keys.js';
import { ReplyCode } from '../../src/redis/reply-codes.js';
import { snapshotScripts, type ScriptDefinition } from '../../src/redis/script-loader.js';
import { authPassword, userinfoDecodes } from '../../src/redis/url.js';
import { FUNCTION_ENVIRONMENT, functionEnv } from '../environment.js';
import { WarmStateError } from '../errors.js';
import { snapshotId, type SnapshotScope } from '../snapshot-scope.js';
import { BaseSnapshotStore, type BaseSnapshotStoreOptions } from './base-snapshot-store.js';

/**
 * The client's fail-fast defaults: a dead Redis fails the command at once
 * (no offline queue, one retry) instead of holding the invocation until its
 * Lambda timeout. The command timeout is far above the gateway's directory
 * commands' because one command moves a whole snapshot (up to
 * `maxSnapshotBytes`, 32 MB by default). Documented in docs/protocol.md
 * ("Snapshot stores"); `redisOptions` overrides any of them, and
 * `WARMROUTE_SNAPSHOT_REDIS_COMMAND_TIMEOUT_MS` the command timeout
 * ({@link snapshotRedisOptions}).
 */
export const REDIS_SNAPSHOT_CLIENT_DEFAULTS = Object.freeze({
  lazyConnect: true,
  enableOfflineQueue: false,
  maxRetriesPerRequest: 1,
  /** ms. */
  commandTimeout: 5_000,
  /** ms. */
  connectTimeout: 2_000,
} as const satisfies RedisOptions);

export interface RedisSnapshotStoreOptions extends BaseSnapshotStoreOptions {
  /**
   * `redis://` or `rediss://` (anything else is refused when the store is
   * made). Default: `WARMROUTE_SNAPSHOT_REDIS_URL`, else
   * redis://127.0.0.1:6379. Ignored when `client` is given.
   */
  readonly url?: string;
  /**
   * A Redis Cluster instead of `url`: comma-separated seed nodes, `host:port`
   * or `rediss://[user@]host:port` (the syntax of the gateway's
   * `WARMROUTE_REDIS_CLUSTER_NODES`). Default:
   * `WARMROUTE_SNAPSHOT_REDIS_CLUSTER_NODES` when `url` is not given. Given
   * together with `url` (or both variables set): refused. Each snapshot is
   * one key, so snapshots spread over the cluster's shards by their own
   * hash. Ignored when `client` is given.
   */
  readonly clusterNodes?: string;
  /**
   * AUTH password (token), kept out of `url` so a secret store can supply
   * it; when set it is used instead of any password in the URL, a
   * `?password=` query included (a user name in the URL, an ACL user, is
   * kept), and over `redisOptions.password`/`username`. `''` counts as
   * unset. The only password of a cluster (seeds carry none). Default:
   * `WARMROUTE_SNAPSHOT_REDIS_PASSWORD` when neither `url` nor
   * `clusterNodes` is given either (address and password come from the same
   * place), else none.
   */
  readonly password?: string;
  /**
   * Extra ioredis options, merged over the fail-fast defaults
   * ({@link REDIS_SNAPSHOT_CLIENT_DEFAULTS}): `lazyConnect: true`,
   * `enableOfflineQueue: false`, `maxRetriesPerRequest: 1`,
   * `commandTimeout: 5000` ms (or `WARMROUTE_SNAPSHOT_REDIS_COMMAND_TIMEOUT_MS`
   * when set and `commandTimeout` is not given here), `connectTimeout: 2000`
   * ms. `scripts` is the
   * store's own and cannot be replaced. On a cluster they apply to every
   * node's connection, except `lazyConnect` and `enableOfflineQueue`, which
   * ioredis reads from the cluster's own options (they are moved there).
   * A cluster's failover (a master lost, its replica promoted) is ridden
   * through: a command to the lost master's slots is retried every 100 ms
   * until the new master serves them, for at most `commandTimeout` from its
   * first send, then it fails (a write that timed out is reported as failed,
   * though like any timed-out write it may have been applied; the version
   * check keeps it from overwriting a newer snapshot). Raise
   * `commandTimeout` (or the variable) above longer elections
   * (ElastiCache's can exceed 5 s).
   */
  readonly redisOptions?: RedisOptions;
  /** Prefix of every key this store writes. Default `warmroute:`. */
  readonly keyPrefix?: string;
  /** Expire snapshots this long after their last write. Default: never. */
  readonly ttlSeconds?: number;
}

/**
 * `url` if ioredis will read it as the URL it looks like, else a
 * WR_ERR_WARM_STATE_OPTIONS error naming WARMROUTE_SNAPSHOT_REDIS_URL, when
 * the store is made rather than at the first invocation. Only `redis://`
 * and `rediss://`: ioredis also parses `user:old@h:6379` and
 * `//user:old@h:6379`, and since such a URL is not rewritten by
 * redisConnection, its stale password would win over
 * WARMROUTE_SNAPSHOT_REDIS_PASSWORD. A userinfo that is not valid
 * percent-encoding would give ioredis's bare "URI malformed". The URL is
 * not echoed: it may hold a password.
 */
function checkedUrl(url: string): string {
  const setting = `url (${FUNCTION_ENVIRONMENT.snapshotRedisUrl.env})`;
  if (!/^rediss?:\/\//i.test(url)) {
    throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [
      `${setting} must start with redis:// or rediss://`,
    ]);
  }
  let decodes = false;
  try {
    decodes = userinfoDecodes(new URL(url));
  } catch {
    // not a URL
  }
  if (!decodes) {
    throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [
      `${setting} is not a URL, or its user name or password is not valid percent-encoding (write a literal % as %25)`,
    ]);
  }
  return url;
}

/** Where the store connects: one server, or a cluster's seeds. */
type SnapshotRedis =
  | { readonly mode: 'standalone'; readonly url: string }
  | { readonly mode: 'cluster'; readonly target: ClusterTarget };

function refuse(problem: string): never {
  throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [problem]);
}

/** setTimeout's largest delay: a longer one fires at once (Node warns and uses 1 ms). */
const MAX_TIMEOUT_MS = 2_147_483_647;

/**
 * `redisOptions` with the command timeout of
 * `WARMROUTE_SNAPSHOT_REDIS_COMMAND_TIMEOUT_MS` when it is set and
 * `redisOptions.commandTimeout` is not given (the option wins, as an explicit
 * option wins over every other variable), so a function's election bound is
 * set without code. A set value that is not a positive integer of ms up to
 * 2147483647 is refused (WR_ERR_WARM_STATE_OPTIONS) even when the option
 * wins: a broken setting is reported, never silently ignored.
 */
export function snapshotRedisOptions(redisOptions: RedisOptions = {}): RedisOptions {
  const variable = FUNCTION_ENVIRONMENT.snapshotRedisCommandTimeoutMs;
  const raw = functionEnv(variable);
  if (raw === undefined) return redisOptions;
  const ms = /^[0-9]+$/.test(raw) ? Number(raw) : Number.NaN;
  if (!(ms >= 1 && ms <= MAX_TIMEOUT_MS)) {
    return refuse(
      `${variable.env} must be a positive integer of milliseconds up to ${String(MAX_TIMEOUT_MS)}, got ${JSON.stringify(raw.slice(0, 100))}`,
    );
  }
  return redisOptions.commandTimeout === undefined
    ? { ...redisOptions, commandTimeout: ms }
    : redisOptions;
}

/**
 * The seeds of `clusterNodes`, or WR_ERR_WARM_STATE_OPTIONS with every
 * problem (never quoting a password), when the store is made.
 */
function checkedSeeds(raw: string): ClusterTarget {
  const parsed = parseClusterSeeds(
    raw,
    `clusterNodes (${FUNCTION_ENVIRONMENT.snapshotRedisClusterNodes.env})`,
  );
  if (!parsed.ok) return refuse(parsed.problems.join('; '));
  return parsed.target;
}

/**
 * Options first, then the environment: an explicit `url` or `clusterNodes`
 * wins over both variables (as `url` always did over
 * `WARMROUTE_SNAPSHOT_REDIS_URL`); two addresses from the same place are
 * refused, since which one the snapshots live in would be a guess.
 */
function snapshotRedisOf(options: RedisSnapshotStoreOptions): SnapshotRedis {
  const urlEnv = FUNCTION_ENVIRONMENT.snapshotRedisUrl.env;
  const nodesEnv = FUNCTION_ENVIRONMENT.snapshotRedisClusterNodes.env;
  if (options.url !== undefined && options.clusterNodes !== undefined) {
    return refuse('url and clusterNodes are both given: give one');
  }
  if (options.clusterNodes !== undefined) {
    return { mode: 'cluster', target: checkedSeeds(options.clusterNodes) };
  }
  if (options.url !== undefined) return { mode: 'standalone', url: checkedUrl(options.url) };
  const url = functionEnv(FUNCTION_ENVIRONMENT.snapshotRedisUrl);
  const nodes = functionEnv(FUNCTION_ENVIRONMENT.snapshotRedisClusterNodes);
  if (url !== undefined && nodes !== undefined) {
    return refuse(`${urlEnv} and ${nodesEnv} are both set: set one`);
  }
  if (nodes !== undefined) return { mode: 'cluster', target: checkedSeeds(nodes) };
  return { mode: 'standalone', url: checkedUrl(url ?? 'redis://127.0.0.1:6379') };
}

/**
 * Left out of the nodes' options: the cluster's own (`lazyConnect`,
 * `enableOfflineQueue`, moved up), the store's scripts (registered once on
 * the cluster) and a per-node `retryStrategy` (ioredis reconnects a cluster
 * by its clusterRetryStrategy).
 */
const NOT_PER_NODE: ReadonlySet<string> = new Set([
  'lazyConnect',
  'enableOfflineQueue',
  'scripts',
  'retryStrategy',
]);

/** ms between two tries of a command through a failover (ioredis's default). */
const FAILOVER_RETRY_DELAY_MS = 100;
/** Redirections on top of the failover retries: MOVED/ASK while slots move. */
const SPARE_REDIRECTIONS = 16;

/**
 * How the store's cluster client rides through a failover: unlike the
 * gateway's request path (src/redis/client.ts requestPathClusterRetries),
 * a snapshot write that fails fails the invocation (502), and an election
 * takes seconds. A command whose node connection closed, or that was
 * answered CLUSTERDOWN, is tried again every 100 ms (after a slots refresh)
 * until a promoted replica serves its slot, MOVED and ASK are followed at
 * once. ioredis stops after `maxRedirections` tries (16 by default, about
 * 2 s: shorter than a local election), so there are enough of them for the
 * retries to last `commandTimeout`: that timer starts when the command is
 * first sent and is not restarted by a retry, so it bounds the whole
 * operation, and a command it ends is reported as failed (never as
 * written). Without a `commandTimeout`, ioredis's 16 tries bound it.
 */
export function snapshotClusterRetries(
  commandTimeoutMs: number | undefined,
): Pick<ClusterOptions, 'retryDelayOnFailover' | 'retryDelayOnClusterDown' | 'maxRedirections'> {
  const failoverTries =
    commandTimeoutMs === undefined || !Number.isFinite(commandTimeoutMs) || commandTimeoutMs <= 0
      ? 0
      : Math.ceil(commandTimeoutMs / FAILOVER_RETRY_DELAY_MS);
  return {
    retryDelayOnFailover: FAILOVER_RETRY_DELAY_MS,
    retryDelayOnClusterDown: FAILOVER_RETRY_DELAY_MS,
    // A try through a dead node can take two redirections: the MOVED a live
    // node answers for its slot, then the refused connection to it.
    maxRedirections: 2 * failoverTries + SPARE_REDIRECTIONS,
  };
}

/**
 * The Cluster options for the store: the fail-fast defaults and the
 * caller's `redisOptions` on every node, the cluster-level ones moved up,
 * the failover retries bounded by `commandTimeout`
 * ({@link snapshotClusterRetries}), AUTH and TLS from the gateway's rule
 * (src/redis/client.ts clusterConnection).
 */
function snapshotClusterOptions(
  merged: RedisOptions,
  connection: Pick<ClusterOptions, 'dnsLookup'> & { redisOptions: RedisOptions },
  scripts: Record<string, ScriptDefinition>,
): ClusterOptions {
  const perNode = Object.fromEntries(
    Object.entries(merged).filter(([name]) => !NOT_PER_NODE.has(name)),
  ) as RedisOptions;
  return {
    ...connection,
    ...snapshotClusterRetries(merged.commandTimeout),
    lazyConnect: merged.lazyConnect ?? true,
    enableOfflineQueue: merged.enableOfflineQueue ?? false,
    scripts,
    redisOptions: { ...perNode, ...connection.redisOptions },
  };
}

/**
 * Snapshots in Redis: one hash per snapshot scope (`v` = version, `d` =
 * encoded snapshot), named `<keyPrefix>snap2:<snapshotId>` by
 * src/redis/keys.ts, written only through a Lua compare-and-set script, so a write
 * that lost the race never lands. The client is created once per store and
 * connects on first use; commands fail fast when Redis is down rather than
 * queueing behind an invocation's deadline.
 */
export class RedisSnapshotStore extends BaseSnapshotStore {
  readonly keyPrefix: string;
  private readonly where: SnapshotRedis;
  private readonly password: string | undefined;
  private readonly redisOptions: RedisOptions;
  private readonly ttlMs: number;
  private readonly scripts: Record<string, ScriptDefinition>;
  private redis: Redis | Cluster | undefined;
  private creating: Promise<Redis | Cluster> | undefined;
  private connecting: Promise<void> | undefined;

  constructor(options: RedisSnapshotStoreOptions = {}) {
    super(options);
    this.keyPrefix = options.keyPrefix ?? DEFAULT_SNAPSHOT_KEY_PREFIX;
    const ttl = options.ttlSeconds ?? 0;
    if (!Number.isFinite(ttl) || ttl < 0) {
      throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [`ttlSeconds ${String(ttl)}`]);
    }
    this.ttlMs = Math.round(ttl * 1000);
    this.where = snapshotRedisOf(options);
    const password = authPassword(options.password);
    this.password =
      password ??
      (options.url === undefined && options.clusterNodes === undefined
        ? functionEnv(FUNCTION_ENVIRONMENT.snapshotRedisPassword)
        : undefined);
    this.redisOptions = snapshotRedisOptions(options.redisOptions);
    // Read now so a broken install fails when the store is made, not mid-invocation.
    this.scripts = snapshotScripts();
  }

  /**
   * ioredis is loaded on first use, not when this module is imported:
   * `warmroute/lambda` re-exports this class, and loading ioredis eagerly
   * cost every environment ~60 ms and ~20 MB of its cold start even with
   * the file store.
   */
  private create(): Promise<Redis | Cluster> {
    this.creating ??= Promise.all([
      import('ioredis'),
      // The gateway's rules for a password beside a URL (ioredis would let the URL's
      // credentials win, a user name or a ?password= query included) and for a
      // cluster's AUTH and TLS.
      import('../../src/redis/client.js'),
    ]).then(([{ Redis: RedisClient, Cluster: ClusterClient }, client]) => {
      const merged: RedisOptions = { ...REDIS_SNAPSHOT_CLIENT_DEFAULTS, ...this.redisOptions };
      const where = this.where;
      let redis: Redis | Cluster;
      if (where.mode === 'cluster') {
        redis = new ClusterClient(
          client.startupNodes(where.target),
          snapshotClusterOptions(
            merged,
            client.clusterConnection(where.target, this.password),
            this.scripts,
          ),
        );
      } else {
        const connection = client.redisConnection(
          where.url,
          this.password,
          FUNCTION_ENVIRONMENT.snapshotRedisUrl.env,
        );
        redis = new RedisClient(connection.url, {
          // `REDISS://` (kept as written without a password) would otherwise be plain TCP.
          ...client.tlsOf(where.url),
          ...merged,
          ...connection.auth,
          scripts: this.scripts,
        });
      }
      // Errors surface on the commands; an unhandled 'error' event would crash the function.
      redis.on('error', () => undefined);
      this.redis = redis;
      return redis;
    });
    return this.creating;
  }

  /** Redis key of a scope's snapshot. */
  keyOf(scope: SnapshotScope): string {
    return snapshotKey(this.keyPrefix, snapshotId(scope));
  }

  private redisKey(id: string): string {
    return snapshotKey(this.keyPrefix, id);
  }

  private async client(): Promise<Redis | Cluster> {
    const redis = this.redis ?? (await this.create());
    if (redis.status === 'ready') return redis;
    if (redis.status === 'wait' || redis.status === 'end') {
      this.connecting ??= redis.connect().finally(() => {
        this.connecting = undefined;
      });
    }
    if (this.connecting !== undefined) await this.connecting;
    return redis;
  }

  protected async readRaw(id: string): Promise<Buffer | undefined> {
    const bytes = await (await this.client()).hgetBuffer(this.redisKey(id), 'd');
    return bytes ?? undefined;
  }

  protected async readVersionRaw(id: string): Promise<number> {
    const v = await (await this.client()).hget(this.redisKey(id), 'v');
    return v === null ? 0 : Number(v);
  }

  protected async compareAndSwapRaw(
    id: string,
    expectedVersion: number,
    newVersion: number,
    bytes: Buffer,
  ): Promise<{ swapped: boolean; currentVersion: number }> {
    const redis = await this.client();
    const [code, version] = await redis.wrCasSnapshot(
      this.redisKey(id),
      expectedVersion,
      newVersion,
      bytes,
      this.ttlMs,
    );
    switch (code) {
      case ReplyCode.OK:
        return { swapped: true, currentVersion: version };
      case ReplyCode.CAS_CONFLICT:
        return { swapped: false, currentVersion: version };
      default:
        throw new Error(`cas-snapshot-1.lua returned unknown code ${String(code)}`);
    }
  }

  protected async deleteRaw(id: string): Promise<void> {
    await (await this.client()).del(this.redisKey(id));
  }

  async close(): Promise<void> {
    // A client still being created (ioredis loading) is closed once it exists.
    const redis = this.redis ?? (this.creating === undefined ? undefined : await this.creating);
    if (redis === undefined) return;
    if (redis.status === 'end' || redis.status === 'wait') {
      redis.disconnect();
      return;
    }
    await redis.quit().catch(() => {
      redis.disconnect();
    });
  }
}
