import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GATEWAY_ACCESS_STRING } from '../../deploy/cdk/lib/redis.js';
import { RedisDirectoryStore } from '../../src/directory/redis-store.js';
import { DIRECTORY_KEY_PREFIX } from '../../src/redis/keys.js';
import { packageRoot } from '../../src/paths.js';
import { testStoreOptions } from '../helpers/directory-fixtures.js';
import { startRedisCluster, type RedisCluster } from '../helpers/redis-cluster.js';
import { aclRefusals, exerciseDirectory } from './helpers/directory-as-user.js';

/**
 * The gateway user's access string for a Redis Cluster, as docs/deploy.md
 * gives it (the stack deploys no cluster, so this is the only check of it):
 * the deployed string with sharded pub/sub instead of PUBLISH/SUBSCRIBE and
 * the CLUSTER subcommands ioredis needs, applied on every node of a local
 * three-primary cluster; the directory runs through it (exerciseDirectory)
 * and each cluster-only rule withheld breaks it.
 */

const USER = 'warmroute-gateway';
const CLUSTER_RULES = ['+spublish', '+ssubscribe', '+cluster|slots', '+cluster|info'];

/** The `--access-string '…'` of docs/deploy.md's create-user example. */
function documentedClusterAccessString(): string {
  const doc = readFileSync(join(packageRoot, 'docs/deploy.md'), 'utf8');
  const found = /--access-string '([^']*\+spublish[^']*)'/.exec(doc)?.[1];
  if (found === undefined) throw new Error('docs/deploy.md gives no cluster access string');
  return found;
}

let cluster: RedisCluster;
let roots: Redis[];
const password = randomBytes(24).toString('hex');

async function setUser(rules: readonly string[]): Promise<void> {
  for (const root of roots)
    await root.call('ACL', 'SETUSER', USER, 'reset', ...rules, `>${password}`);
}

async function runDirectory(): Promise<void> {
  await exerciseDirectory({
    make: () =>
      new RedisDirectoryStore(
        testStoreOptions({
          target: { mode: 'cluster', nodes: cluster.seeds, tls: false, username: USER },
          password,
          keyPrefix: DIRECTORY_KEY_PREFIX,
          commandTimeoutMs: 1_000,
          connectTimeoutMs: 3_000,
          maxReconnectDelayMs: 1_000,
          idleTtlSeconds: 3_600,
        }),
      ),
    resetRefusals: async () => {
      for (const root of roots) await root.call('ACL', 'LOG', 'RESET');
    },
    refusals: async () => (await Promise.all(roots.map((r) => aclRefusals(r, USER)))).flat(),
    exists: async (key) => {
      let count = 0;
      for (const root of roots) count += await root.exists(key).catch(() => 0);
      return count;
    },
    // A private cluster, stopped afterwards: nothing to remove.
    cleanup: () => Promise.resolve(),
  });
}

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
  roots = cluster.nodes.map((n) => new Redis(n.port, '127.0.0.1', { maxRetriesPerRequest: 1 }));
}, 120_000);

afterAll(async () => {
  for (const root of roots) root.disconnect();
  await cluster.stop();
});

describe('the gateway user on a Redis Cluster (docs/deploy.md)', () => {
  it('the documented string is the deployed one with SPUBLISH/SSUBSCRIBE for PUBLISH/SUBSCRIBE and the CLUSTER subcommands', () => {
    const deployed = GATEWAY_ACCESS_STRING.split(' ').filter(
      (r) => r !== '+publish' && r !== '+subscribe',
    );
    expect(documentedClusterAccessString().split(' ')).toEqual([...deployed, ...CLUSTER_RULES]);
  });

  it('runs the directory on a three-primary cluster, and fails without any one of its cluster rules', async () => {
    const rules = documentedClusterAccessString().split(' ');
    await setUser(rules);
    await runDirectory();
    const outcomes: Record<string, string> = {};
    try {
      for (const rule of CLUSTER_RULES) {
        await setUser(rules.filter((r) => r !== rule));
        outcomes[rule] = await runDirectory().then(
          () => 'allowed',
          (err: unknown) => (err instanceof Error ? err.message : String(err)),
        );
      }
    } finally {
      await setUser(rules);
    }
    expect(
      Object.entries(outcomes)
        .filter(([, outcome]) => outcome === 'allowed')
        .map(([rule]) => rule),
    ).toEqual([]);
  }, 180_000);
});
