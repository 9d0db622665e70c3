import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayRedis } from '../../deploy/cdk/lib/redis.js';
import { RedisSnapshotStore } from '../../lambda/stores/redis-snapshot-store.js';
import type { SnapshotScope } from '../../lambda/snapshot-scope.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import type { StoreEvent } from '../../src/directory/store.js';
import { DIRECTORY_KEY_PREFIX, DEFAULT_SNAPSHOT_KEY_PREFIX } from '../../src/redis/keys.js';
import { startOwnRedis, type OwnRedis } from '../helpers/redis.js';
import { cfnText, resourcesOfType } from './helpers/cfn-template.js';

/**
 * The Redis users the CDK stack creates (ElastiCache RBAC), on a real
 * redis-server: the access strings are read from the synthesized template,
 * applied with ACL SETUSER exactly as written (plus the password, which
 * ElastiCache keeps out of the access string), and then the gateway's
 * directory runs as the gateway user and the functions' snapshot store as
 * the snapshot user, with their own clients and scripts. What each user must
 * be refused is asserted against the same server.
 */

interface SynthesizedUser {
  readonly userName: string;
  readonly accessString: string;
}

let server: OwnRedis;
let admin: Redis;
let users: Map<string, SynthesizedUser>;
const passwords = new Map<string, string>();

/** The users as the template has them, by role (the logical ID's start). */
function synthesizedUsers(): Map<string, SynthesizedUser> {
  const app = new App();
  const stack = new Stack(app, 'Acl', { env: { account: '123456789012', region: 'eu-west-1' } });
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  new GatewayRedis(stack, 'Redis', {
    vpc,
    subnets: { subnetType: ec2.SubnetType.PRIVATE_ISOLATED },
    namePrefix: 'warmroute',
  });
  const template = Template.fromStack(stack).toJSON();
  const found = new Map<string, SynthesizedUser>();
  for (const u of resourcesOfType(template, 'AWS::ElastiCache::User')) {
    const role = /^Redis(Default|Gateway|Snapshots)User/.exec(u.id)?.[1];
    if (role === undefined) throw new Error(`unexpected user ${u.id}`);
    found.set(role, {
      userName: cfnText(u.properties['UserName']),
      accessString: cfnText(u.properties['AccessString']),
    });
  }
  return found;
}

function user(role: string): SynthesizedUser {
  const found = users.get(role);
  if (found === undefined) throw new Error(`no ${role} user in the template`);
  return found;
}

/** A raw connection as one user (fail fast, no retries). */
async function connectAs(role: string): Promise<Redis> {
  const u = user(role);
  const redis = new Redis(server.port, '127.0.0.1', {
    username: u.userName,
    password: passwords.get(role) ?? '',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  await redis.connect();
  return redis;
}

/** Inline commands on a bare socket, one reply line each. */
async function rawReplies(commands: readonly string[]): Promise<string[]> {
  const socket = createConnection({ host: '127.0.0.1', port: server.port });
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

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'allowed';
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

beforeAll(async () => {
  // Prepare: the template's users, and a private server (never the shared one: ACLs are server-wide).
  users = synthesizedUsers();
  server = await startOwnRedis();
  admin = new Redis(server.port, '127.0.0.1', { lazyConnect: true });
  await admin.connect();
  // An admin for the test itself, before `default` is switched off.
  const adminPassword = randomBytes(16).toString('hex');
  await admin.call(
    'ACL',
    'SETUSER',
    'acl-test-admin',
    'on',
    `>${adminPassword}`,
    '~*',
    '&*',
    '+@all',
  );
  await admin.auth('acl-test-admin', adminPassword);
  for (const [role, u] of users) {
    const password = randomBytes(24).toString('hex');
    passwords.set(role, password);
    const rules = u.accessString.split(' ');
    // The access string as ElastiCache would apply it; the password it keeps apart.
    const withPassword = role === 'Default' ? rules : [...rules, `>${password}`];
    await admin.call('ACL', 'SETUSER', u.userName, 'reset', ...withPassword);
  }
}, 240_000);

afterAll(async () => {
  admin.disconnect();
  await server.stop();
});

describe('ElastiCache users on a real redis-server', () => {
  it('the template has the three users, default switched off', async () => {
    expect([...users.keys()].sort()).toEqual(['Default', 'Gateway', 'Snapshots']);
    expect(user('Default').userName).toBe('default');
    // Nobody gets in as default, with a password or without (raw RESP, no client library in between).
    const replies = await rawReplies(['PING', 'AUTH default anything', 'GET x']);
    expect(replies[0]).toMatch(/^-NOAUTH/);
    expect(replies[1]).toMatch(/^-WRONGPASS/);
    expect(replies[2]).toMatch(/^-NOAUTH/);
    const flags = (await admin.call('ACL', 'GETUSER', 'default')) as unknown[];
    expect(JSON.stringify(flags)).toContain('"off"');
  });

  it('the gateway user runs the directory: epochs, resolves, rotations, bindings, outcomes and invalidation between two replicas', async () => {
    // Prepare: two gateway replicas, as the container would run them (user in the URL, password apart).
    const url = `redis://${user('Gateway').userName}@127.0.0.1:${server.port}`;
    const make = (): RedisDirectoryStore =>
      new RedisDirectoryStore({
        url,
        password: passwords.get('Gateway'),
        keyPrefix: DIRECTORY_KEY_PREFIX,
        commandTimeoutMs: 1_000,
        connectTimeoutMs: 3_000,
        maxReconnectDelayMs: 1_000,
        idleTtlSeconds: 3_600,
        clock: Date.now,
        logger: pino({ level: 'silent' }),
        instanceId: randomBytes(4).toString('hex'),
      });
    const a = make();
    const b = make();
    const events: StoreEvent[] = [];
    b.onEvent((e) => events.push(e));
    try {
      await a.start();
      await b.start();
      const waitFor = async (check: () => boolean): Promise<void> => {
        for (let i = 0; i < 100 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
      };
      await waitFor(() => a.pubsubUp() && b.pubsubUp());
      expect(a.unavailableReason()).toBeUndefined();
      expect(a.available() && b.available() && a.pubsubUp() && b.pubsubUp()).toBe(true);
      // Act
      const epoch = await a.epoch('ns', randomBytes(16).toString('hex'));
      expect(await b.epoch('ns', randomBytes(16).toString('hex'))).toBe(epoch);
      const first = await a.resolve('ns', epoch, 'blue', 'warm-counter');
      const generation = await a.rotate('ns', epoch, 'blue');
      await a.bind('ns', epoch, 'green', 'blue');
      await a.recordOutcomes([
        {
          namespace: 'ns',
          epoch,
          key: 'blue',
          hit: 1,
          rehydrated: 0,
          fresh: 1,
          unknown: 0,
          envId: 'env-1',
          stateVersions: new Map([['warm-counter', 3]]),
          lastSeenMs: Date.now(),
        },
      ]);
      const explained = await b.explain('ns', epoch, 'green');
      const unbound = await a.unbind('ns', epoch, 'green');
      const forgotten = await a.forget('ns', epoch, 'blue');
      await waitFor(() => events.filter((e) => e.type === 'invalidate').length >= 4);
      // Assess
      expect(first).toBeDefined();
      expect(generation).toBeGreaterThan(0);
      expect(explained.binding).toBe('blue');
      expect(unbound).toBe(true);
      expect(forgotten).toBe(true);
      expect(
        events
          .filter((e): e is Extract<StoreEvent, { type: 'invalidate' }> => e.type === 'invalidate')
          .map((e) => [e.op, e.key, e.remote]),
      ).toEqual(
        expect.arrayContaining([
          ['rotate', 'blue', true],
          ['bind', 'green', true],
          ['unbind', 'green', true],
          ['forget', 'blue', true],
        ]),
      );
    } finally {
      await a.close();
      await b.close();
    }
  }, 60_000);

  it('the snapshot user runs the snapshot store: write, read, a lost race, delete', async () => {
    // Prepare: as the functions run it (user in the URL, WARMROUTE_SNAPSHOT_REDIS_PASSWORD apart).
    const store = new RedisSnapshotStore({
      url: `redis://${user('Snapshots').userName}@127.0.0.1:${server.port}`,
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

  it('the snapshot user is refused the directory, its channel and every server-wide command', async () => {
    // Prepare: a directory record and a snapshot written by their owners.
    const record = `${DIRECTORY_KEY_PREFIX}{ns:ns}:k:blue`;
    const snapshot = `${DEFAULT_SNAPSHOT_KEY_PREFIX}snap2:${'a'.repeat(64)}`;
    await admin.hset(record, 'g', '1');
    await admin.hset(snapshot, 'v', '1');
    const fn = await connectAs('Snapshots');
    try {
      // Act
      const attempts = {
        readRecord: await refusal(fn.hgetall(record)),
        writeRecord: await refusal(fn.hset(record, 'g', '9')),
        deleteRecord: await refusal(fn.del(record)),
        scriptOnRecord: await refusal(
          fn.eval("return redis.call('HGET', KEYS[1], 'g')", 1, record),
        ),
        publish: await refusal(fn.publish(`${DIRECTORY_KEY_PREFIX}{wr}:invalidate`, '{}')),
        flushall: await refusal(fn.flushall()),
        keys: await refusal(fn.keys('*')),
        config: await refusal(fn.config('GET', '*')),
        scan: await refusal(fn.scan('0', 'MATCH', `${DIRECTORY_KEY_PREFIX}*`)),
        hgetallSnapshot: await refusal(fn.hgetall(snapshot)),
        aclList: await refusal(fn.call('ACL', 'LIST')),
      };
      // Assess: NOPERM for each; what it may do still works.
      for (const [what, outcome] of Object.entries(attempts)) {
        expect(outcome, what).toMatch(/NOPERM/);
      }
      expect(await fn.hget(snapshot, 'v')).toBe('1');
    } finally {
      fn.disconnect();
      await admin.del(record, snapshot);
    }
  });

  it('the gateway user is refused the snapshots and every server-wide command', async () => {
    const snapshot = `${DEFAULT_SNAPSHOT_KEY_PREFIX}snap2:${'b'.repeat(64)}`;
    await admin.hset(snapshot, 'v', '1');
    const gw = await connectAs('Gateway');
    try {
      const attempts = {
        readSnapshot: await refusal(gw.hget(snapshot, 'v')),
        deleteSnapshot: await refusal(gw.del(snapshot)),
        flushall: await refusal(gw.flushall()),
        keys: await refusal(gw.keys('*')),
        config: await refusal(gw.config('GET', '*')),
        scan: await refusal(gw.scan('0')),
        otherChannel: await refusal(gw.publish('elsewhere', '{}')),
      };
      for (const [what, outcome] of Object.entries(attempts)) {
        expect(outcome, what).toMatch(/NOPERM/);
      }
    } finally {
      gw.disconnect();
      await admin.del(snapshot);
    }
  });
});
