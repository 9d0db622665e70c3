import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as elasticache from 'aws-cdk-lib/aws-elasticache';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import {
  DEFAULT_SNAPSHOT_KEY_PREFIX,
  directoryKeys,
  DIRECTORY_KEY_PREFIX,
  snapshotKey,
} from '../../../src/redis/keys.js';

/** The port every artifact of deploy/ uses for Redis (REDIS_URL, security groups). */
export const REDIS_PORT = 6379;

/** The directory's key prefix and its pub/sub channel (src/redis/keys.ts): the gateway user's only keys and channels. */
const DIRECTORY_KEYS = `${DIRECTORY_KEY_PREFIX}*`;
const DIRECTORY_CHANNEL = directoryKeys(DIRECTORY_KEY_PREFIX).channel;
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
 *   hash, string and expiry commands of its scripts, PUBLISH from them, and
 *   SUBSCRIBE on its dedicated connection;
 * - the functions (lambda/stores/redis-snapshot-store.ts and
 *   lambda/stores/lua/cas-snapshot-1.lua): HGET, the CAS script's HSET and
 *   PEXPIRE/PERSIST, DEL.
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
  'pexpire',
  'persist',
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
  DIRECTORY_CHANNEL,
  GATEWAY_COMMANDS,
);
export const SNAPSHOT_ACCESS_STRING = accessString(SNAPSHOT_KEYS, undefined, SNAPSHOT_COMMANDS);
/** ElastiCache requires a user named `default` in every group: this one can do nothing. */
export const DEFAULT_USER_ACCESS_STRING = 'off resetchannels -@all';

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
  /** Default `cache.t4g.small`. */
  readonly cacheNodeType?: string;
  readonly namePrefix: string;
}

/** One ElastiCache user with its generated password. */
export interface RedisUser {
  readonly userName: string;
  readonly password: secretsmanager.Secret;
  readonly user: elasticache.CfnUser;
}

/**
 * Redis for the directory and the functions' snapshots: ElastiCache, cluster
 * mode disabled (one shard; warmroute's keys carry hash tags, so cluster mode
 * can come later), a primary and one replica in two AZs with automatic
 * failover, TLS in transit, encryption at rest, and role-based access
 * (an RBAC user group) instead of one AUTH token for everyone:
 * - `gateway`: the directory's keys (`wr:*`) and channel, and only the
 *   commands the gateway runs;
 * - `snapshots`: the snapshot store's keys (`warmroute:snap2:*`) and only
 *   its commands, for the functions, whose code runs tenants' requests and
 *   must not be able to read the directory, rewrite bindings or FLUSHALL;
 * - `default` (ElastiCache requires one in every group): switched off.
 * Each password is generated in Secrets Manager and reaches the template
 * only as a dynamic reference.
 *
 * The security group starts with no ingress at all: `allowFrom` opens 6379
 * to one client security group at a time (the gateway's tasks, the functions).
 */
export class GatewayRedis extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly gatewayUser: RedisUser;
  readonly snapshotUser: RedisUser;
  readonly userGroup: elasticache.CfnUserGroup;
  readonly replicationGroup: elasticache.CfnReplicationGroup;
  /** Primary endpoint's host name (a token). */
  readonly host: string;
  readonly port: number = REDIS_PORT;

  constructor(scope: Construct, id: string, props: GatewayRedisProps) {
    super(scope, id);
    this.securityGroup = new ec2.SecurityGroup(this, 'SecurityGroup', {
      vpc: props.vpc,
      description: 'warmroute Redis: 6379 from the gateway tasks and the functions only',
      // Redis answers; it never opens a connection.
      allowAllOutbound: false,
    });

    // User IDs are unique per account and region (and lower case): the prefix keeps stacks apart.
    const userIdOf = (role: string): string => `${props.namePrefix}-${role}`.toLowerCase();
    if (!/^[a-z][a-z0-9-]*$/.test(userIdOf('x'))) {
      throw new Error(
        `namePrefix ${props.namePrefix} cannot start an ElastiCache user ID ([a-z][a-z0-9-]*)`,
      );
    }
    const defaultUser = new elasticache.CfnUser(this, 'DefaultUser', {
      engine: 'redis',
      userId: userIdOf('default'),
      userName: 'default',
      accessString: DEFAULT_USER_ACCESS_STRING,
      authenticationMode: { Type: 'no-password-required' },
    });
    this.gatewayUser = this.user(
      'Gateway',
      userIdOf('gateway'),
      GATEWAY_ACCESS_STRING,
      'WARMROUTE_REDIS_PASSWORD: the gateway (directory)',
    );
    this.snapshotUser = this.user(
      'Snapshots',
      userIdOf('snapshots'),
      SNAPSHOT_ACCESS_STRING,
      'WARMROUTE_SNAPSHOT_REDIS_PASSWORD: the functions (snapshot store)',
    );
    this.userGroup = new elasticache.CfnUserGroup(this, 'Users', {
      engine: 'redis',
      userGroupId: userIdOf('users'),
      userIds: [defaultUser.ref, this.gatewayUser.user.ref, this.snapshotUser.user.ref],
    });

    const subnetGroup = new elasticache.CfnSubnetGroup(this, 'SubnetGroup', {
      description: 'warmroute Redis: the private subnets',
      subnetIds: props.vpc.selectSubnets(props.subnets).subnetIds,
    });

    this.replicationGroup = new elasticache.CfnReplicationGroup(this, 'ReplicationGroup', {
      replicationGroupDescription: `${props.namePrefix} directory and snapshots`,
      engine: 'redis',
      engineVersion: '7.1',
      cacheNodeType: props.cacheNodeType ?? 'cache.t4g.small',
      // Cluster mode disabled: one node group, a primary and one replica.
      numNodeGroups: 1,
      replicasPerNodeGroup: 1,
      multiAzEnabled: true,
      automaticFailoverEnabled: true,
      transitEncryptionEnabled: true,
      transitEncryptionMode: 'required',
      atRestEncryptionEnabled: true,
      // RBAC: the user group replaces the AUTH token (ElastiCache takes one or the other).
      userGroupIds: [this.userGroup.ref],
      port: REDIS_PORT,
      cacheSubnetGroupName: subnetGroup.ref,
      securityGroupIds: [this.securityGroup.securityGroupId],
      snapshotRetentionLimit: 1,
      autoMinorVersionUpgrade: true,
    });
    this.host = this.replicationGroup.attrPrimaryEndPointAddress;
  }

  /**
   * Opens 6379 to one client security group and nothing else (and the
   * client's egress to it, when the client restricts its egress).
   */
  allowFrom(client: ec2.ISecurityGroup, description: string): void {
    this.securityGroup.connections.allowFrom(client, ec2.Port.tcp(REDIS_PORT), description);
  }

  /** `rediss://host:port`: TLS, no credentials. */
  url(): string {
    return `rediss://${this.host}:${this.port}`;
  }

  /**
   * `rediss://<user>@host:port`: the user name in the URL, the password apart
   * (WARMROUTE_REDIS_PASSWORD / WARMROUTE_SNAPSHOT_REDIS_PASSWORD; both
   * clients pass a URL user name and a separate password to ioredis, src/redis/client.ts).
   */
  urlFor(user: RedisUser): string {
    return `rediss://${user.userName}@${this.host}:${this.port}`;
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
