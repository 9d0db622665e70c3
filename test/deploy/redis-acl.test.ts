import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_ACCESS_STRING,
  ADMIN_ACCESS_STRING_ON,
  DIRECTORY_CHANNELS,
  GatewayRedis,
} from '../../deploy/cdk/lib/redis.js';
import { RedisSnapshotStore } from '../../lambda/stores/redis-snapshot-store.js';
import type { SnapshotScope } from '../../lambda/snapshot-scope.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import { epochBucket } from '../../src/directory/epoch-bucket.js';
import {
  DEFAULT_SNAPSHOT_KEY_PREFIX,
  DIRECTORY_KEY_PREFIX,
  directoryKeys,
} from '../../src/redis/keys.js';
import { testStoreOptions } from '../helpers/directory-fixtures.js';
import { startOwnRedis, type OwnRedis } from '../helpers/redis.js';
import { cfnText, resourcesOfType, type Json } from './helpers/cfn-template.js';
import { aclRefusals, exerciseDirectory } from './helpers/directory-as-user.js';

/**
 * The Redis servers and users the CDK stack creates (ElastiCache RBAC), on
 * real redis-servers: one private server per replication group, configured
 * with exactly the users of that group's user group (read from the
 * synthesized template), their access strings applied with ACL SETUSER as
 * written (plus the password, which ElastiCache keeps out of the access
 * string) and the group's maxmemory-policy. Then the gateway's directory
 * runs as the gateway user on the directory server and the functions'
 * snapshot store as the snapshot user on the snapshot server, with their own
 * clients and scripts. What each user must be refused is asserted against
 * the same servers.
 */

type Role = 'Default' | 'Gateway' | 'Snapshots' | 'Admin';
type ServerName = 'Directory' | 'Snapshots';

interface SynthesizedUser {
  readonly logicalId: string;
  readonly userName: string;
  readonly accessString: string;
}

interface SynthesizedServer {
  /** The roles of the users in its user group. */
  readonly roles: readonly Role[];
  readonly maxmemoryPolicy: string;
  readonly securityGroup: string;
}

interface Server {
  readonly own: OwnRedis;
  /** The test's own superuser on that server (ElastiCache's operators have none such). */
  readonly root: Redis;
}

let users: Map<Role, SynthesizedUser>;
let groups: Map<ServerName, SynthesizedServer>;
const servers = new Map<ServerName, Server>();
const passwords = new Map<Role, string>();

/** The users and groups as the template has them, by role (the logical ID's start). */
function synthesize(): {
  users: Map<Role, SynthesizedUser>;
  groups: Map<ServerName, SynthesizedServer>;
} {
  const app = new App();
  const stack = new Stack(app, 'Acl', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  new GatewayRedis(stack, 'Redis', {
    vpc,
    subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    namePrefix: 'warmroute',
  });
  const template = Template.fromStack(stack).toJSON();
  const foundUsers = new Map<Role, SynthesizedUser>();
  for (const u of resourcesOfType(template, 'AWS::ElastiCache::User')) {
    const role = /^Redis(Default|Gateway|Snapshots|Admin)User/.exec(u.id)?.[1] as Role | undefined;
    if (role === undefined) throw new Error(`unexpected user ${u.id}`);
    foundUsers.set(role, {
      logicalId: u.id,
      userName: cfnText(u.properties['UserName']),
      accessString: cfnText(u.properties['AccessString']),
    });
  }
  const roleOf = (ref: Json): Role => {
    const id = cfnText(ref).replace(/^<|>$/g, '');
    const found = [...foundUsers].find(([, u]) => u.logicalId === id)?.[0];
    if (found === undefined) throw new Error(`user group member ${id} is no user`);
    return found;
  };
  const byId = new Map(
    [
      ...resourcesOfType(template, 'AWS::ElastiCache::UserGroup'),
      ...resourcesOfType(template, 'AWS::ElastiCache::ParameterGroup'),
    ].map((r) => [r.id, r]),
  );
  const refOf = (value: Json | undefined): string => cfnText(value).replace(/^<|>$/g, '');
  const foundGroups = new Map<ServerName, SynthesizedServer>();
  for (const g of resourcesOfType(template, 'AWS::ElastiCache::ReplicationGroup')) {
    const name = /^Redis(Directory|Snapshots)ReplicationGroup/.exec(g.id)?.[1] as
      ServerName | undefined;
    if (name === undefined) throw new Error(`unexpected replication group ${g.id}`);
    const userGroupIds = g.properties['UserGroupIds'] as Json[];
    expect(userGroupIds).toHaveLength(1);
    const userGroup = byId.get(refOf(userGroupIds[0]));
    const parameters = byId.get(refOf(g.properties['CacheParameterGroupName']));
    if (userGroup === undefined || parameters === undefined) {
      throw new Error(`${g.id} names no user group or parameter group of this template`);
    }
    const sgs = g.properties['SecurityGroupIds'] as Json[];
    foundGroups.set(name, {
      roles: (userGroup.properties['UserIds'] as Json[]).map(roleOf),
      maxmemoryPolicy: cfnText(
        (parameters.properties['Properties'] as Record<string, Json>)['maxmemory-policy'],
      ),
      securityGroup: sgs.map((sg) => cfnText(sg)).join(','),
    });
  }
  return { users: foundUsers, groups: foundGroups };
}

function user(role: Role): SynthesizedUser {
  const found = users.get(role);
  if (found === undefined) throw new Error(`no ${role} user in the template`);
  return found;
}

function server(name: ServerName): Server {
  const found = servers.get(name);
  if (found === undefined) throw new Error(`no ${name} server`);
  return found;
}

/** A raw connection as one user to one server (fail fast, no retries). */
async function connectAs(role: Role, on: ServerName): Promise<Redis> {
  const u = user(role);
  const redis = new Redis(server(on).own.port, '127.0.0.1', {
    username: u.userName,
    password: passwords.get(role) ?? '',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  return redis;
}

/** Inline commands on a bare socket, one reply line each. */
async function rawReplies(on: ServerName, commands: readonly string[]): Promise<string[]> {
  const socket = createConnection({ host: '127.0.0.1', port: server(on).own.port });
  const lines: string[] = [];
  let buffer = '';
  return new Promise((resolve, reject) => {
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      buffer += chunk.toString();
      const parts = buffer.split('\r\n');
      buffer = parts.pop() ?? '';
      lines.push(...parts);
      if (lines.length >= commands.length) {
        socket.destroy();
        resolve(lines);
      }
    });
    socket.write(commands.map((c) => `${c}\r\n`).join(''));
  });
}

/** AUTH as one user with its own password, on a bare socket: the server's own reply. */
async function authReply(role: Role, on: ServerName): Promise<string> {
  const [reply] = await rawReplies(on, [
    `AUTH ${user(role).userName} ${passwords.get(role) ?? ''}`,
  ]);
  return reply ?? '';
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'allowed';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** A private server with exactly one group's users and its memory policy. */
async function startServer(name: ServerName): Promise<Server> {
  const group = groups.get(name);
  if (group === undefined) throw new Error(`no ${name} replication group in the template`);
  const own = await startOwnRedis();
  const root = new Redis(own.port, '127.0.0.1', { lazyConnect: true });
  await root.connect();
  // The test's own superuser, before `default` is switched off.
  const rootPassword = randomBytes(16).toString('hex');
  await root.call('ACL', 'SETUSER', 'acl-test-root', 'on', `>${rootPassword}`, '~*', '&*', '+@all');
  await root.auth('acl-test-root', rootPassword);
  await root.config('SET', 'maxmemory-policy', group.maxmemoryPolicy);
  for (const role of group.roles) {
    const u = user(role);
    const rules = u.accessString.split(' ');
    // The access string as ElastiCache would apply it; the password it keeps apart.
    const password = passwords.get(role);
    const withPassword = password === undefined ? rules : [...rules, `>${password}`];
    await root.call('ACL', 'SETUSER', u.userName, 'reset', ...withPassword);
  }
  return { own, root };
}

beforeAll(async () => {
  // Prepare: the template's users and groups, and one private server per group
  // (never the shared one: ACLs are server-wide).
  ({ users, groups } = synthesize());
  for (const role of users.keys()) {
    if (role !== 'Default') passwords.set(role, randomBytes(24).toString('hex'));
  }
  servers.set('Directory', await startServer('Directory'));
  servers.set('Snapshots', await startServer('Snapshots'));
}, 240_000);

afterAll(async () => {
  for (const s of servers.values()) {
    s.root.disconnect();
    await s.own.stop();
  }
});

/**
 * The gateway's directory as the gateway user on the directory server, as
 * the container runs it (user in the URL, password apart): see
 * exerciseDirectory.
 */
async function runDirectory(): Promise<void> {
  const url = `redis://${user('Gateway').userName}@127.0.0.1:${String(server('Directory').own.port)}`;
  const root = server('Directory').root;
  await exerciseDirectory({
    make: () =>
      new RedisDirectoryStore(
        testStoreOptions({
          target: { mode: 'standalone', url },
          password: passwords.get('Gateway'),
          keyPrefix: DIRECTORY_KEY_PREFIX,
          commandTimeoutMs: 1_000,
          connectTimeoutMs: 2_000,
          maxReconnectDelayMs: 1_000,
          idleTtlSeconds: 3_600,
        }),
      ),
    resetRefusals: async () => {
      await root.call('ACL', 'LOG', 'RESET');
    },
    refusals: () => aclRefusals(root, user('Gateway').userName),
    exists: (key) => root.exists(key),
    cleanup: (ns) => deleteMatching('Directory', `${DIRECTORY_KEY_PREFIX}{b???}:n:${ns}:*`),
  });
}

/** Delete every key matching `pattern` on one server, as the test's superuser (SCAN, never KEYS). */
async function deleteMatching(on: ServerName, pattern: string): Promise<void> {
  const root = server(on).root;
  let cursor = '0';
  do {
    const [next, found] = await root.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    if (found.length > 0) await root.del(...found);
  } while (cursor !== '0');
}

describe('ElastiCache servers and users on real redis-servers', () => {
  it('two groups: the directory has default, gateway and admin; the snapshots have default and snapshots', () => {
    expect([...users.keys()].sort()).toEqual(['Admin', 'Default', 'Gateway', 'Snapshots']);
    expect(user('Default').userName).toBe('default');
    expect([...(groups.get('Directory')?.roles ?? [])].sort()).toEqual([
      'Admin',
      'Default',
      'Gateway',
    ]);
    expect([...(groups.get('Snapshots')?.roles ?? [])].sort()).toEqual(['Default', 'Snapshots']);
  });

  it('each group has its own security group; the directory never evicts, the snapshots evict any key', () => {
    const directory = groups.get('Directory');
    const snapshots = groups.get('Snapshots');
    expect(directory?.securityGroup).toMatch(/^<RedisDirectorySecurityGroup[^,]*>$/);
    expect(snapshots?.securityGroup).toMatch(/^<RedisSnapshotsSecurityGroup[^,]*>$/);
    // An evicted rotation or binding record would send a key back to its old tenant.
    expect(directory?.maxmemoryPolicy).toBe('noeviction');
    // Most snapshots have no TTL: volatile-* would evict nothing and refuse every write.
    expect(snapshots?.maxmemoryPolicy).toBe('allkeys-lru');
  });

  it.each<ServerName>(['Directory', 'Snapshots'])(
    'nobody gets in as default on the %s server, with a password or without',
    async (name) => {
      // Act: raw RESP, no client library in between.
      const replies = await rawReplies(name, ['PING', 'AUTH default anything', 'GET x']);
      // Assess
      expect(replies[0]).toMatch(/^-NOAUTH/);
      expect(replies[1]).toMatch(/^-WRONGPASS/);
      expect(replies[2]).toMatch(/^-NOAUTH/);
      const flags = (await server(name).root.call('ACL', 'GETUSER', 'default')) as unknown[];
      expect(JSON.stringify(flags)).toContain('"off"');
    },
  );

  it('the snapshot user cannot authenticate on the directory server, nor the gateway user on the snapshot server', async () => {
    // Act: the right password, the wrong server.
    const snapshotsOnDirectory = await authReply('Snapshots', 'Directory');
    const gatewayOnSnapshots = await authReply('Gateway', 'Snapshots');
    // Assess: and on their own servers they do get in.
    expect(snapshotsOnDirectory).toMatch(/^-WRONGPASS/);
    expect(gatewayOnSnapshots).toMatch(/^-WRONGPASS/);
    expect(await authReply('Snapshots', 'Snapshots')).toBe('+OK');
    expect(await authReply('Gateway', 'Directory')).toBe('+OK');
  });

  it('the break-glass admin is off as deployed, and works once switched on with ADMIN_ACCESS_STRING_ON', async () => {
    // Prepare: a stuck client to look at, a key to remove.
    const root = server('Directory').root;
    const stray = directoryKeys(DIRECTORY_KEY_PREFIX).record('ns', 'stray');
    await root.set(stray, '1');
    // Act: its own password, as deployed.
    const asDeployed = await authReply('Admin', 'Directory');
    // Act: what `aws elasticache modify-user --access-string` does.
    await root.call('ACL', 'SETUSER', user('Admin').userName, ...ADMIN_ACCESS_STRING_ON.split(' '));
    const admin = await connectAs('Admin', 'Directory');
    try {
      const scanned = await admin.scan('0', 'MATCH', `${DIRECTORY_KEY_PREFIX}*`, 'COUNT', '1000');
      const clients = String(await admin.call('CLIENT', 'LIST'));
      const kill = await refusal(admin.call('SCRIPT', 'KILL'));
      const deleted = await admin.del(stray);
      // Assess
      expect(asDeployed).toMatch(/^-WRONGPASS/);
      expect(user('Admin').accessString).toBe(ADMIN_ACCESS_STRING);
      expect(scanned[1]).toContain(stray);
      expect(clients).toContain('acl-test-root');
      // NOTBUSY: allowed, and no script was running.
      expect(kill).toMatch(/NOTBUSY/);
      expect(deleted).toBe(1);
    } finally {
      admin.disconnect();
      await root.call('ACL', 'SETUSER', user('Admin').userName, ...ADMIN_ACCESS_STRING.split(' '));
      await root.del(stray);
    }
    expect(await authReply('Admin', 'Directory')).toMatch(/^-WRONGPASS/);
  });

  it('the gateway user runs the directory on the directory server: epochs, resolves, rotations, bindings across buckets, outcomes and invalidation between two replicas', async () => {
    // Prepare: an empty script cache, so every script goes EVALSHA, NOSCRIPT, EVAL.
    await server('Directory').root.call('SCRIPT', 'FLUSH');
    // Act / Assess: runDirectory asserts each step.
    await runDirectory();
  }, 60_000);

  it('the gateway user is granted nothing the directory does not use: without any one of its commands, or its channels, the directory fails', async () => {
    // Prepare: the synthesized rules that grant something, but AUTH, which
    // Redis allows whatever the ACL says, and QUIT, which Redis 7.0 (this
    // machine's) answers before any ACL check: it stays granted for a server
    // that checks it (close() would fall back to dropping the connection).
    // Without INFO (ioredis's ready check) or CLIENT SETNAME the store still
    // works but is refused them: runDirectory counts every refusal as a failure.
    const root = server('Directory').root;
    const gateway = user('Gateway');
    const rules = gateway.accessString.split(' ');
    const withheld = rules.filter(
      (rule) =>
        (rule.startsWith('+') || rule.startsWith('&')) && rule !== '+auth' && rule !== '+quit',
    );
    expect(withheld).toContain(`&${DIRECTORY_CHANNELS}`);
    expect(withheld).toEqual(expect.arrayContaining(['+set', '+publish', '+subscribe', '+eval']));
    const outcomes: Record<string, string> = {};
    try {
      for (const rule of withheld) {
        // Act: the access string without that one rule (ACL SETUSER as startServer applies it).
        const without = rules.filter((r) => r !== rule);
        await root.call(
          'ACL',
          'SETUSER',
          gateway.userName,
          'reset',
          ...without,
          `>${passwords.get('Gateway') ?? ''}`,
        );
        await root.call('SCRIPT', 'FLUSH');
        outcomes[rule] = await refusal(runDirectory());
      }
    } finally {
      await root.call(
        'ACL',
        'SETUSER',
        gateway.userName,
        'reset',
        ...rules,
        `>${passwords.get('Gateway') ?? ''}`,
      );
    }
    // Assess: each one alone breaks the directory (listed: every rule it did without).
    expect(
      Object.entries(outcomes)
        .filter(([, outcome]) => outcome === 'allowed')
        .map(([rule]) => rule),
    ).toEqual([]);
    // And with every rule back, it works again.
    await runDirectory();
  }, 240_000);

  it('the snapshot user runs the snapshot store on the snapshot server: write, read, a lost race, delete', async () => {
    // Prepare: as the functions run it (user in the URL, WARMROUTE_SNAPSHOT_REDIS_PASSWORD apart).
    const store = new RedisSnapshotStore({
      url: `redis://${user('Snapshots').userName}@127.0.0.1:${server('Snapshots').own.port}`,
      password: passwords.get('Snapshots'),
    });
    const scope: SnapshotScope = {
      functionName: 'warm-counter',
      namespace: 'ns',
      epoch: 'e1',
      generation: 1,
      key: 'blue',
    };
    try {
      // Act
      const written = await store.write(scope, 0, {
        state: Buffer.from('{"counter":1}'),
        dir: Buffer.alloc(0),
      });
      const lost = await store.write(scope, 0, { state: Buffer.from('x'), dir: Buffer.alloc(0) });
      const read = await store.read(scope);
      const version = await store.readVersion(scope);
      await store.delete(scope);
      // Assess
      expect(written).toEqual({ ok: true, version: 1 });
      expect(lost).toEqual({ ok: false, currentVersion: 1 });
      expect(read?.state.toString()).toBe('{"counter":1}');
      expect(version).toBe(1);
      expect(await store.readVersion(scope)).toBe(0);
    } finally {
      await store.close();
    }
  });

  it('the snapshot user is refused the directory keys, its channel and every server-wide command', async () => {
    // Prepare: a directory-shaped record and a snapshot, on the snapshot server.
    const root = server('Snapshots').root;
    const record = directoryKeys(DIRECTORY_KEY_PREFIX).record('ns', 'blue');
    const snapshot = `${DEFAULT_SNAPSHOT_KEY_PREFIX}snap2:${'a'.repeat(64)}`;
    await root.hset(record, 'g', '1');
    await root.hset(snapshot, 'v', '1');
    const fn = await connectAs('Snapshots', 'Snapshots');
    try {
      // Act
      const attempts = {
        readRecord: await refusal(fn.hgetall(record)),
        writeRecord: await refusal(fn.hset(record, 'g', '9')),
        deleteRecord: await refusal(fn.del(record)),
        scriptOnRecord: await refusal(
          fn.eval("return redis.call('HGET', KEYS[1], 'g')", 1, record),
        ),
        publish: await refusal(
          fn.publish(directoryKeys(DIRECTORY_KEY_PREFIX).channel(epochBucket('blue')), '{}'),
        ),
        flushall: await refusal(fn.flushall()),
        keys: await refusal(fn.keys('*')),
        config: await refusal(fn.config('GET', '*')),
        scan: await refusal(fn.scan('0', 'MATCH', `${DIRECTORY_KEY_PREFIX}*`)),
        hgetallSnapshot: await refusal(fn.hgetall(snapshot)),
        aclList: await refusal(fn.call('ACL', 'LIST')),
        scriptKill: await refusal(fn.call('SCRIPT', 'KILL')),
        clientList: await refusal(fn.call('CLIENT', 'LIST')),
      };
      // Assess: NOPERM for each; what it may do still works.
      for (const [what, outcome] of Object.entries(attempts)) {
        expect(outcome, what).toMatch(/NOPERM/);
      }
      expect(await fn.hget(snapshot, 'v')).toBe('1');
    } finally {
      fn.disconnect();
      await root.del(record, snapshot);
    }
  });

  it("a script that never ends, run as the snapshot user, stalls the snapshot server only: the gateway's directory keeps answering", async () => {
    // Prepare: BUSY after 100 ms instead of 5 s; the gateway connected to its own server.
    const snapshotsRoot = server('Snapshots').root;
    await snapshotsRoot.config('SET', 'busy-reply-threshold', '100');
    const fn = await connectAs('Snapshots', 'Snapshots');
    const gw = await connectAs('Gateway', 'Directory');
    const probe = await connectAs('Snapshots', 'Snapshots');
    const key = directoryKeys(DIRECTORY_KEY_PREFIX).record('ns', 'stall-probe');
    try {
      // Act: what any tenant's code holding WARMROUTE_SNAPSHOT_REDIS_PASSWORD can do.
      const loop = refusal(fn.eval('while true do end', 0));
      await new Promise((r) => setTimeout(r, 300));
      const snapshotServer = await refusal(
        probe.hget(`${DEFAULT_SNAPSHOT_KEY_PREFIX}snap2:x`, 'v'),
      );
      const directoryWrite = await gw.set(key, '1', 'EX', 60);
      const directoryRead = await gw.get(key);
      // Assess: the snapshot server is stalled, the directory is not.
      expect(snapshotServer).toMatch(/BUSY/);
      expect(directoryWrite).toBe('OK');
      expect(directoryRead).toBe('1');
      // (The test's own superuser can still end it: the script wrote nothing.)
      await snapshotsRoot.call('SCRIPT', 'KILL');
      expect(await loop).toMatch(/killed/i);
    } finally {
      fn.disconnect();
      probe.disconnect();
      gw.disconnect();
      await server('Directory').root.del(key);
      await snapshotsRoot.config('SET', 'busy-reply-threshold', '5000');
    }
  }, 30_000);

  it('a full directory server refuses the write (OOM) and evicts no record, TTL or not', async () => {
    // Prepare: room for a few hundred kB above what the server holds now; records with an idle TTL, as the directory writes them.
    const root = server('Directory').root;
    const used = Number(/used_memory:(\d+)/.exec(await root.info('memory'))?.[1]);
    await root.config('SET', 'maxmemory', String(used + 512 * 1024));
    const gw = await connectAs('Gateway', 'Directory');
    const written: string[] = [];
    let refused = '';
    try {
      // Act: fill it as the gateway.
      for (let i = 0; i < 100 && refused === ''; i++) {
        const key = directoryKeys(DIRECTORY_KEY_PREFIX).record('ns', `fill:${String(i)}`);
        refused = await refusal(gw.set(key, 'x'.repeat(64 * 1024), 'EX', 3_600));
        if (refused === 'allowed') {
          written.push(key);
          refused = '';
        }
      }
      // Assess: the write failed loudly, every earlier record is still there.
      expect(refused).toMatch(/OOM/);
      expect(written.length).toBeGreaterThan(0);
      expect(await root.exists(...written)).toBe(written.length);
      expect(await root.info('stats')).toMatch(/evicted_keys:0\r?\n/);
    } finally {
      gw.disconnect();
      await root.config('SET', 'maxmemory', '0');
      if (written.length > 0) await root.del(...written);
    }
  });

  it('the gateway user is refused the snapshots and every server-wide command', async () => {
    const root = server('Directory').root;
    const snapshot = `${DEFAULT_SNAPSHOT_KEY_PREFIX}snap2:${'b'.repeat(64)}`;
    await root.hset(snapshot, 'v', '1');
    const gw = await connectAs('Gateway', 'Directory');
    try {
      const attempts = {
        readSnapshot: await refusal(gw.hget(snapshot, 'v')),
        deleteSnapshot: await refusal(gw.del(snapshot)),
        flushall: await refusal(gw.flushall()),
        keys: await refusal(gw.keys('*')),
        config: await refusal(gw.config('GET', '*')),
        scan: await refusal(gw.scan('0')),
        otherChannel: await refusal(gw.publish('elsewhere', '{}')),
        scriptKill: await refusal(gw.call('SCRIPT', 'KILL')),
      };
      for (const [what, outcome] of Object.entries(attempts)) {
        expect(outcome, what).toMatch(/NOPERM/);
      }
    } finally {
      gw.disconnect();
      await root.del(snapshot);
    }
  });
});
