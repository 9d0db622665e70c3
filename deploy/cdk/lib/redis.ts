import type * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  DEFAULT_SNAPSHOT_KEY_PREFIX,
  directoryKeys,
  DIRECTORY_KEY_PREFIX,
  snapshotKey,
} from '../../../src/redis/keys.js';
import { RedisServer } from './redis-server.js';

export { REDIS_PORT } from './redis-server.js';

/** The directory's key prefix (records, epochs, bind locks: src/redis/keys.ts): the gateway user's only keys. */
const DIRECTORY_KEYS = `${DIRECTORY_KEY_PREFIX}*`;
/**
 * The directory's invalidation channels, one per epoch bucket
 * (`wr:{b000}:inv` … `wr:{b3ff}:inv`), as one glob: `?` is a glob
 * character, braces are not. Listing the 1,024 channels would make an access
 * string of some 16 kB; `&wr:*` would also grant channels the gateway never
 * uses. test/deploy/redis-acl.test.ts subscribes every channel of
 * directoryKeys().channels through it.
 */
const directory = directoryKeys(DIRECTORY_KEY_PREFIX);
export const DIRECTORY_CHANNELS = directory.channel(0).replace(directory.tag(0), '{b???}');
/** The snapshot store's keys (`<prefix>snap2:<id>`): the functions' only keys. */
const SNAPSHOT_KEYS = `${snapshotKey(DEFAULT_SNAPSHOT_KEY_PREFIX, '0'.repeat(64)).slice(0, -64)}*`;

/**
 * What each client runs, and nothing more. Both connect with ioredis, which
 * authenticates (AUTH/HELLO are always allowed), sends CLIENT SETNAME (the
 * gateway names its connections) and QUIT on close, and runs scripts as
 * EVALSHA with EVAL after a NOSCRIPT. INFO is its ready check: refused, it
 * still connects but writes an unstructured warning to stderr on every
 * connection (every cold start of a function), so INFO stays allowed; it
 * reveals server statistics (memory, clients, key counts), no key or value.
 * Commands a script calls are checked against the user as well, so they are
 * listed too:
 * - the gateway (src/directory/redis-store.ts, src/redis/lua/*.lua): the
 *   hash, string and expiry commands of its scripts, PUBLISH from them and
 *   directly (state-version broadcasts), SET … PX … NX (the namespace's bind
 *   lock, released by a script: GET, DEL), and SUBSCRIBE to every bucket
 *   channel on its dedicated connection. This is a standalone server (one
 *   shard, cluster mode disabled); on a Redis Cluster the gateway uses
 *   SPUBLISH and SSUBSCRIBE instead, and CLUSTER SLOTS and CLUSTER INFO
 *   (docs/deploy.md "Redis access", test/deploy/redis-acl-cluster.test.ts);
 * - the functions (lambda/stores/redis-snapshot-store.ts and
 *   lambda/stores/lua/cas-snapshot-1.lua): HGET, the CAS script's HSET and
 *   PEXPIRE (a TTL) or PERSIST (ttlSeconds 0, the store's default), DEL.
 *   EVAL/EVALSHA stay: the CAS is a script. A script cannot be interrupted
 *   (SCRIPT KILL needs a user no client has), so tenant code holding this
 *   password can stall the server it runs on: that server holds snapshots
 *   only (GatewayRedis), never the directory.
 * test/deploy/redis-acl.test.ts applies these exact strings to a real
 * redis-server and runs the directory and the snapshot store through them.
 */
export const GATEWAY_COMMANDS = [
  'auth',
  'info',

  'client|setname',

  'quit',
  'evalsha',
  'eval',
  'get',
  'set',
  'del',
  'expire',
  'ttl',
  'hget',
  'hmget',
  'hgetall',
  'hset',
  'hsetnx',
  'hdel',
  'hincrby',
  'hkeys',
  'hlen',
  'publish',
  'subscribe',
] as const;
export const SNAPSHOT_COMMANDS = [
  'auth',
  'info',

  'quit',
  'evalsha',
  'eval',
  'hget',
  'hset',
  'del',
  'pexpire',
  'persist',
] as const;

/**
 * An ElastiCache access string: `on`, the key and channel patterns, then no
 * command but those listed. ElastiCache takes Redis 6 ACL rules without a
 * password (`>…`, set through the user's AuthenticationMode instead) and
 * without `reset`; `resetchannels` first, so only the listed channels remain.
 */
function accessString(
  keys: string,
  channels: string | undefined,
  commands: readonly string[],
): string {
  return [
    'on',
    `~${keys}`,
    'resetchannels',
    ...(channels === undefined ? [] : [`&${channels}`]),
    '-@all',
    ...commands.map((c) => `+${c}`),
  ].join(' ');
}

export const GATEWAY_ACCESS_STRING = accessString(
  DIRECTORY_KEYS,
  DIRECTORY_CHANNELS,
  GATEWAY_COMMANDS,
);
export const SNAPSHOT_ACCESS_STRING = accessString(SNAPSHOT_KEYS, undefined, SNAPSHOT_COMMANDS);
/** ElastiCache requires a user named `default` in every group: this one can do nothing. */
export const DEFAULT_USER_ACCESS_STRING = 'off resetchannels -@all';
/**
 * The break-glass user of the directory server (SCRIPT KILL, CLIENT LIST,
 * SCAN, DEL of any key): everything, but `off`, so its password alone lets
 * nobody in. An operator switches it on for an incident with
 * `aws elasticache modify-user --access-string "<ADMIN_ACCESS_STRING_ON>"`
 * and back off afterwards (docs/deploy.md "Redis access").
 */
export const ADMIN_ACCESS_STRING = 'off ~* &* +@all';
export const ADMIN_ACCESS_STRING_ON = ADMIN_ACCESS_STRING.replace(/^off /, 'on ');

/**
 * What Secrets Manager may put in a generated password (its documented set:
 * letters, digits and this punctuation) and what ElastiCache accepts in an
 * AUTH token besides letters and digits (`! & # $ ^ < > -`, CreateReplicationGroup
 * AuthToken): everything else is excluded from the generated token.
 */
export const SECRETS_MANAGER_PUNCTUATION = '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~';
export const AUTH_TOKEN_PUNCTUATION = '!&#$^<>-';
export const AUTH_TOKEN_EXCLUDED = Array.from(SECRETS_MANAGER_PUNCTUATION)
  .filter((c) => !AUTH_TOKEN_PUNCTUATION.includes(c))
  .join('');

export interface GatewayRedisProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  /** The directory server's node type. Default `cache.t4g.small`. */
  readonly cacheNodeType?: string;
  /** The snapshot server's node type. Default `cache.t4g.micro`. */
  readonly snapshotCacheNodeType?: string;
  readonly namePrefix: string;
}

/** One ElastiCache user with its generated password. */
export interface RedisUser {
  readonly userName: string;
  readonly password: secretsmanager.Secret;
  readonly user: elasticache.CfnUser;
}

/** Default node types: the directory holds small records; snapshots are a disposable cache. */
export const DIRECTORY_NODE_TYPE = 'cache.t4g.small';
export const SNAPSHOT_NODE_TYPE = 'cache.t4g.micro';

/**
 * Redis for warmroute on ElastiCache, as two replication groups that share
 * nothing but the VPC, each with role-based access (an RBAC user group)
 * instead of one AUTH token for everyone:
 * - `directory`: the gateway's directory (bindings, rotations, epochs). Its
 *   users: `gateway` (the directory's keys `wr:*` and channel, only the
 *   commands the gateway runs), `admin` (break-glass, switched off) and
 *   `default` (required by ElastiCache, switched off). `maxmemory-policy
 *   noeviction`: an evicted rotation or binding record would send a key back
 *   to its pre-rotation tenant; full, Redis refuses writes instead and the
 *   gateway degrades (README "How it fits together").
 * - `snapshots`: the functions' snapshots. Its users: `snapshots` (the
 *   snapshot keys `warmroute:snap2:*` and the store's commands) and
 *   `default` (off). The functions' code runs tenants' requests, so this
 *   password is as good as public to every tenant: whatever it can do
 *   (run a script that never ends, fill memory) happens to this server only.
 *   `maxmemory-policy allkeys-lru`: every key here is a disposable
 *   snapshot, most without a TTL (the store's ttlSeconds defaults to 0), so
 *   under volatile-lru or noeviction a full server would refuse every
 *   tenant's writes; evicting the least recently used snapshot costs its
 *   tenant a rebuild of its state.
 * Each password is generated in Secrets Manager and reaches the template
 * only as a dynamic reference. Neither security group has any ingress until
 * `allowFrom` opens 6379 to one client security group at a time.
 */
export class GatewayRedis extends Construct {
  readonly directory: RedisServer;
  readonly snapshots: RedisServer;
  readonly gatewayUser: RedisUser;
  readonly snapshotUser: RedisUser;
  readonly adminUser: RedisUser;

  constructor(scope: Construct, id: string, props: GatewayRedisProps) {
    super(scope, id);

    // User IDs are unique per account and region (and lower case): the prefix keeps stacks apart.
    const idOf = (role: string): string => `${props.namePrefix}-${role}`.toLowerCase();
    if (!/^[a-z][a-z0-9-]*$/.test(idOf('x'))) {
      throw new Error(
        `namePrefix ${props.namePrefix} cannot start an ElastiCache user ID ([a-z][a-z0-9-]*)`,
      );
    }
    // One `default` user, switched off, in both groups (a user may belong to several).
    const defaultUser = new elasticache.CfnUser(this, 'DefaultUser', {
      engine: 'redis',
      userId: idOf('default'),
      userName: 'default',
      accessString: DEFAULT_USER_ACCESS_STRING,
      authenticationMode: { Type: 'no-password-required' },
    });
    this.gatewayUser = this.user(
      'Gateway',
      idOf('gateway'),
      GATEWAY_ACCESS_STRING,
      'WARMROUTE_REDIS_PASSWORD: the gateway (directory server)',
    );
    this.adminUser = this.user(
      'Admin',
      idOf('admin'),
      ADMIN_ACCESS_STRING,
      'break-glass operator of the directory server, switched off until modify-user turns it on',
    );
    this.snapshotUser = this.user(
      'Snapshots',
      idOf('snapshots'),
      SNAPSHOT_ACCESS_STRING,
      'WARMROUTE_SNAPSHOT_REDIS_PASSWORD: the functions (snapshot server)',
    );

    this.directory = new RedisServer(this, 'Directory', {
      vpc: props.vpc,
      subnets: props.subnets,
      cacheNodeType: props.cacheNodeType ?? DIRECTORY_NODE_TYPE,
      purpose: `${props.namePrefix} directory`,
      userGroupId: idOf('directory-users'),
      userIds: [defaultUser.ref, this.gatewayUser.user.ref, this.adminUser.user.ref],
      maxmemoryPolicy: 'noeviction',
      // Writes start failing at 100%: warn well before.
      memoryAlarmPercent: 80,
    });
    this.snapshots = new RedisServer(this, 'Snapshots', {
      vpc: props.vpc,
      subnets: props.subnets,
      cacheNodeType: props.snapshotCacheNodeType ?? SNAPSHOT_NODE_TYPE,
      purpose: `${props.namePrefix} snapshots`,
      userGroupId: idOf('snapshot-users'),
      userIds: [defaultUser.ref, this.snapshotUser.user.ref],
      maxmemoryPolicy: 'allkeys-lru',
      // Full is normal for an LRU cache; this says evictions are under way.
      memoryAlarmPercent: 95,
    });
  }

  private user(id: string, userId: string, access: string, purpose: string): RedisUser {
    const password = new secretsmanager.Secret(this, `${id}Password`, {
      description: `warmroute Redis password of user ${userId} (${purpose})`,
      generateSecretString: {
        passwordLength: 64,
        excludeCharacters: AUTH_TOKEN_EXCLUDED,
        includeSpace: false,
      },
    });
    const user = new elasticache.CfnUser(this, `${id}User`, {
      engine: 'redis',
      userId,
      // The name clients authenticate as; the ID only names the resource.
      userName: userId,
      accessString: access,
      // A dynamic reference ({{resolve:secretsmanager:…}}): CloudFormation reads
      // the value at deploy time; the template holds only the secret's ARN.
      authenticationMode: { Type: 'password', Passwords: [password.secretValue.unsafeUnwrap()] },
    });
    return { userName: userId, password, user };
  }
}
