import { isIP } from 'node:net';
import { Cluster, Redis, type ClusterOptions, type RedisOptions } from 'ioredis';
import { WarmrouteError } from '../errors.js';
import { backoffWindowMs } from '../retry/backoff.js';
import './commands.js';
import { directoryScripts } from './script-loader.js';
import type { ClusterTarget } from './cluster-seeds.js';
import type { RedisTarget } from './target.js';
import { authPassword, userinfoDecodes } from './url.js';

/**
 * Every option is required: the values come resolved from the config (its
 * schema is the only place that knows a default), so a client never runs on a
 * default of its own that disagrees with the documented one.
 */
export interface RedisClientOptions {
  /** One server (`REDIS_URL`) or a Redis Cluster's seed nodes (`WARMROUTE_REDIS_CLUSTER_NODES`). */
  readonly target: RedisTarget;
  /**
   * AUTH password (`WARMROUTE_REDIS_PASSWORD`), kept out of the URL so a
   * secret store can supply it; when set it wins over a password in a
   * standalone URL, and it is the only password a cluster uses (seeds carry
   * none). Undefined or '': the URL's, if any; for a cluster, no AUTH.
   */
  readonly password: string | undefined;
  /** Shown in CLIENT LIST, to tell warmroute's connections apart. */
  readonly connectionName: string;
  /** Per-command deadline on the request path (ms). Not used by the subscriber. */
  readonly commandTimeoutMs: number;
  /** Upper bound of the reconnect backoff (ms). */
  readonly maxReconnectDelayMs: number;
}

function retryStrategy(maxDelayMs: number): (times: number) => number {
  // Keep retrying forever: the directory must resume by itself when Redis returns.
  // `times` counts from 1: waits of 100 ms, 200 ms, … up to the cap.
  const backoff = { baseDelayMs: 100, maxDelayMs };
  return (times) => backoffWindowMs(backoff, times);
}

/** What to hand ioredis: the URL, and the credentials to pass as options. */
export interface RedisConnection {
  readonly url: string;
  readonly auth: Pick<RedisOptions, 'username' | 'password'>;
}

/** Query parameters ioredis would read as credentials (its URL parser copies every query item into the options). */
const CREDENTIAL_PARAMS = ['username', 'password'] as const;

/** The gateway's setting these clients connect with (src/config/schema.ts `settings`), named in errors. */
const GATEWAY_URL_SETTING = 'REDIS_URL';

/**
 * The URL, parsed, with its user name decoded; refuses a URL that is not a
 * URL or whose userinfo is not valid percent-encoding (ioredis itself would
 * throw a bare "URIError: URI malformed" naming nothing), naming `setting`
 * and never echoing the URL (it may hold a password).
 */
function parseRedisUrl(url: string, setting: string): { parsed: URL; username: string } {
  const refuse = (problem: string): never => {
    throw new WarmrouteError('WR_ERR_CONFIG', [`${setting}: ${problem}`]);
  };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return refuse('must be an absolute redis:// or rediss:// URL');
  }
  if (!userinfoDecodes(parsed)) {
    return refuse(
      'the user name or password in the URL is not valid percent-encoding (write a literal % as %25)',
    );
  }
  return { parsed, username: decodeURIComponent(parsed.username) };
}

/**
 * ioredis fills its options from the URL first and lets the options object
 * only fill what is still unset, so anything the URL says about credentials
 * wins over the options: a stale `:old@` password, `?password=`, and even a
 * bare user name (`redis://app@host` gives password "", which is not
 * undefined, so the option never fills it: AUTH app "" -> WRONGPASS).
 * With an explicit password the whole userinfo and any credential query
 * items leave the URL, and the user name (an ACL user) travels as an option
 * beside the password. Without one (undefined or '', which no Redis AUTH
 * token is) the URL is used as written. `setting` names where the URL came
 * from (REDIS_URL, WARMROUTE_SNAPSHOT_REDIS_URL) in the error a malformed
 * one gives.
 */
export function redisConnection(
  url: string,
  password: string | undefined,
  setting: string,
): RedisConnection {
  const separate = authPassword(password);
  // Only a redis:// or rediss:// URL can carry credentials ioredis reads
  // (a unix socket path has none); anything else is passed on untouched.
  if (!/^rediss?:\/\//i.test(url)) {
    return { url, auth: separate === undefined ? {} : { password: separate } };
  }
  const { parsed, username: urlUser } = parseRedisUrl(url, setting);
  if (separate === undefined) return { url, auth: {} };
  const username = urlUser !== '' ? urlUser : (parsed.searchParams.get('username') ?? undefined);
  parsed.username = '';
  parsed.password = '';
  for (const name of CREDENTIAL_PARAMS) parsed.searchParams.delete(name);
  return {
    url: parsed.toString(),
    auth:
      username === undefined || username === ''
        ? { password: separate }
        : { username, password: separate },
  };
}

/** Either kind of client; callers that need node-by-node work test `instanceof Cluster`. */
export type RedisClient = Redis | Cluster;

/**
 * TLS options for a cluster. Node verifies each node's certificate against
 * `servername` when given, else against the host it connects to. Seeds that
 * all name one DNS host (ElastiCache's configuration endpoint, a Serverless
 * endpoint) verify every node against that name: nodes announced by IP
 * would otherwise be checked against an IP their certificate does not list.
 * An IP literal may not be sent as SNI, and seeds naming several hosts have
 * no one name, so then each node is verified against its own host.
 */
function clusterTls(target: ClusterTarget): RedisOptions['tls'] {
  const hosts = new Set(target.nodes.map((node) => node.host));
  const [only] = hosts;
  return hosts.size === 1 && only !== undefined && isIP(only) === 0 ? { servername: only } : {};
}

/** AUTH for every cluster node: the seeds' user name (if any) and the separate password. */
function clusterAuth(
  target: ClusterTarget,
  password: string | undefined,
): Pick<RedisOptions, 'username' | 'password'> {
  const separate = authPassword(password);
  return {
    ...(target.username === undefined ? {} : { username: target.username }),
    ...(separate === undefined ? {} : { password: separate }),
  };
}

/**
 * How every node of a cluster is reached: AUTH (the seeds' user name and the
 * separate password) and TLS. With TLS, host names are kept as written (no
 * DNS lookup to an IP first) so certificates can be verified against them,
 * as AWS documents for ElastiCache in-transit encryption. Shared with the
 * function library's snapshot store (lambda/stores/redis-snapshot-store.ts).
 */
export function clusterConnection(
  target: ClusterTarget,
  password: string | undefined,
): Pick<ClusterOptions, 'dnsLookup'> & {
  redisOptions: Pick<RedisOptions, 'username' | 'password' | 'tls'>;
} {
  return {
    ...(target.tls ? { dnsLookup: keepHostName } : {}),
    redisOptions: {
      ...clusterAuth(target, password),
      ...(target.tls ? { tls: clusterTls(target) } : {}),
    },
  };
}

/**
 * One of the gateway's two cluster clients: the options both share (AUTH,
 * TLS, connection name, reconnect backoff, lazy connect), then the client's
 * `own` cluster options and its `perNode` options over every node's.
 */
function gatewayCluster(
  target: ClusterTarget,
  options: Omit<RedisClientOptions, 'target' | 'commandTimeoutMs'>,
  own: Omit<ClusterOptions, 'redisOptions'>,
  perNode: RedisOptions,
): Cluster {
  const connection = clusterConnection(target, options.password);
  return new Cluster(startupNodes(target), {
    ...connection,
    clusterRetryStrategy: retryStrategy(options.maxReconnectDelayMs),
    lazyConnect: true,
    ...own,
    redisOptions: {
      connectionName: options.connectionName,
      ...connection.redisOptions,
      ...perNode,
    },
  });
}

function keepHostName(
  hostname: string,
  callback: (err: NodeJS.ErrnoException | null, address: string) => void,
): void {
  callback(null, hostname);
}

/** ioredis wants mutable seeds. */
export function startupNodes(target: ClusterTarget): { host: string; port: number }[] {
  return target.nodes.map(({ host, port }) => ({ host, port }));
}

/** ioredis's own default: how many redirections and retries one command may take on a cluster. */
const MAX_REDIRECTIONS = 16;
/** Delay between a request-path command's retries after a closed connection or CLUSTERDOWN (ms). */
const FAILOVER_RETRY_MS = 20;

/**
 * How the request path's cluster client retries. ioredis's defaults hold a
 * command through a failover: one whose node connection closed, or that was
 * answered CLUSTERDOWN, waits in the cluster's delay queue (then a slots
 * refresh) and is sent again, up to 16 times; with auto-pipelining (which
 * the cluster client no longer uses) each resend started a new
 * `commandTimeout`, and admin mutations were held 2-4 s through a whole
 * election. Without auto-pipelining the `commandTimeout` runs from a
 * command's first send and bounds all its retries, so short delays are
 * safe: a command meets a closed connection or CLUSTERDOWN, is retried every
 * FAILOVER_RETRY_MS, and fails when its `commandTimeout` (200 ms by default)
 * is up: resolves fall back to L1 or derivation, mutations answer 503,
 * /readyz reports degraded. Zero delays (tried) failed too much: while the
 * client settles its node connections at start, a command that met a
 * connection being replaced failed at once instead of a few ms later, and
 * the start's epoch prefetch lost a third of its reads. A MOVED or ASK (a
 * slot that moved, not a node that died) is followed at once. TRYAGAIN (a
 * multi-key script on a slot being migrated) is retried the same way.
 */
export function requestPathClusterRetries(
  commandTimeoutMs: number,
): Pick<
  ClusterOptions,
  | 'retryDelayOnFailover'
  | 'retryDelayOnClusterDown'
  | 'retryDelayOnMoved'
  | 'retryDelayOnTryAgain'
  | 'maxRedirections'
> {
  return {
    retryDelayOnFailover: FAILOVER_RETRY_MS,
    retryDelayOnClusterDown: FAILOVER_RETRY_MS,
    retryDelayOnMoved: 0,
    retryDelayOnTryAgain: Math.max(1, Math.floor(commandTimeoutMs / MAX_REDIRECTIONS)),
    // Enough retries to last the whole commandTimeout; the timeout ends them.
    maxRedirections: Math.max(
      MAX_REDIRECTIONS,
      Math.ceil(commandTimeoutMs / FAILOVER_RETRY_MS) + MAX_REDIRECTIONS,
    ),
  };
}

/**
 * A client for the request path: a dead or slow Redis fails fast
 * (`commandTimeout`, no offline queue, one retry) so callers can fall back to
 * derivation instead of queueing behind a reconnect (on a cluster, also
 * instead of waiting out an election: {@link requestPathClusterRetries}).
 * The directory's Lua
 * scripts are registered through the `scripts` option. On one server,
 * auto-pipelining batches concurrent commands (a flush of outcome deltas)
 * into one write. Not on a cluster: ioredis follows a MOVED inside a
 * pipeline only when every failed command of it got the same reply, so after
 * a failover, concurrent commands for several slots of the old master came
 * back as errors instead of being redirected (measured: the directory went
 * degraded again for 0.15–1.2 s after the election, and mutations answered
 * 503); sent one by one, each follows its own MOVED, and its
 * `commandTimeout` runs from its first send.
 */
export function createCommandClient(options: RedisClientOptions): RedisClient {
  const { target } = options;
  if (target.mode === 'cluster') {
    return gatewayCluster(
      target,
      options,
      {
        ...requestPathClusterRetries(options.commandTimeoutMs),
        scripts: directoryScripts(),
        enableOfflineQueue: false,
        enableAutoPipelining: false,
      },
      { commandTimeout: options.commandTimeoutMs, maxRetriesPerRequest: 1 },
    );
  }
  const connection = redisConnection(target.url, options.password, GATEWAY_URL_SETTING);
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    ...connection.auth,
    ...tlsOf(target.url),
    commandTimeout: options.commandTimeoutMs,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    retryStrategy: retryStrategy(options.maxReconnectDelayMs),
    scripts: directoryScripts(),
    lazyConnect: true,
  };
  return new Redis(connection.url, redisOptions);
}

/**
 * ioredis turns TLS on only for a URL starting with lower-case `rediss://`;
 * the scheme is case-insensitive, so say it explicitly. Shared with the
 * function library's snapshot store.
 */
export function tlsOf(url: string): Pick<RedisOptions, 'tls'> {
  return /^rediss:\/\//i.test(url) ? { tls: {} } : {};
}

/**
 * A dedicated subscriber connection (a subscribed connection can run no other
 * commands). It keeps its offline queue so SUBSCRIBE waits for a connection,
 * and ioredis re-subscribes after every reconnect. On a cluster, sharded
 * subscribers: one subscriber connection per master, each SSUBSCRIBE routed to
 * the node owning the channel's slot (an SSUBSCRIBE on a plain connection
 * fails with "Too many Cluster redirections").
 */
export function createSubscriberClient(
  options: Omit<RedisClientOptions, 'commandTimeoutMs'>,
): RedisClient {
  const { target } = options;
  if (target.mode === 'cluster') {
    return gatewayCluster(
      target,
      options,
      { shardedSubscribers: true, enableOfflineQueue: true },
      { maxRetriesPerRequest: null },
    );
  }
  const connection = redisConnection(target.url, options.password, GATEWAY_URL_SETTING);
  const redisOptions: RedisOptions = {
    connectionName: options.connectionName,
    ...connection.auth,
    ...tlsOf(target.url),
    maxRetriesPerRequest: null,
    enableOfflineQueue: true,
    autoResubscribe: true,
    retryStrategy: retryStrategy(options.maxReconnectDelayMs),
    lazyConnect: true,
  };
  return new Redis(connection.url, redisOptions);
}
