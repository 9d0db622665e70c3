import { Cluster, Redis } from 'ioredis';
import { describe, expect, it, onTestFinished } from 'vitest';
import { defaults } from '../../src/config/schema.js';
import { epochBucket, EPOCH_BUCKETS } from '../../src/directory/epoch-bucket.js';
import { migrateDirectory, type MigrationReport } from '../../src/directory/migrate-layout.js';
import { deriveTenantId } from '../../src/directory/tenant-id.js';
import { DIRECTORY_KEY_PREFIX, directoryKeys } from '../../src/redis/keys.js';
import { openRedisDirectory, TEST_SECRET } from '../helpers/directory-fixtures.js';
import { passwordRedis } from '../helpers/password-redis.js';
import { startRedisCluster } from '../helpers/redis-cluster.js';
import { deleteByPrefix, privateRedis, SHARED_REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { runCli } from '../helpers/run-cli.js';

/**
 * `warmroute migrate-directory`: a directory written in key layout v2 (one
 * hash tag and one epoch per namespace) copied to layout v3 (an epoch per
 * (namespace, bucket)) keeps every key's tenant ID, binding and TTL; a
 * rerun changes nothing; a dry run writes nothing; a bucket a v3 gateway
 * already gave another epoch is a conflict. The v2 data is written here by
 * hand, in the v2 layout as it was (not through the code under test).
 */

const TENANT_PREFIX = defaults.tenantPrefix;
const HOUR_MS = 3_600_000;

/** The v2 name of a namespace (keys.ts before layout v3). */
function v2Namespace(prefix: string, namespace: string): string {
  const encoded = encodeURIComponent(namespace).replace(
    /[*?[\]]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${prefix}{ns:${encoded}}`;
}

interface V2Record {
  readonly key: string;
  readonly gen?: number;
  readonly bind?: string;
  /** Remaining TTL to give the record; none: no TTL. */
  readonly pttl?: number;
  /** Stamp of another epoch (a record v2 itself already treats as absent). */
  readonly ep?: string;
  readonly extra?: Readonly<Record<string, string>>;
}

interface V2Namespace {
  readonly namespace: string;
  readonly epoch: string;
  readonly records: readonly V2Record[];
}

/** The fixture: plain, rotated, bound, no-TTL, non-ASCII and stale keys in two namespaces. */
const FIXTURE: readonly V2Namespace[] = [
  {
    namespace: 'default',
    epoch: '5f0c1e2d3a4b5c6d7e8f90a1b2c3d4e5',
    records: [
      { key: 'plain-1', pttl: HOUR_MS, extra: { hit: '4', seen: '1700000000000' } },
      { key: 'rotated', gen: 3, pttl: 2 * HOUR_MS, extra: { 'sv:counter': '17' } },
      { key: 'bound', bind: 'workspace', pttl: HOUR_MS },
      { key: 'workspace', gen: 1, pttl: HOUR_MS, extra: { env: 'env-42' } },
      { key: 'forever', gen: 2 },
      { key: 'clé ünïcode', gen: 1, pttl: HOUR_MS },
      { key: 'stale', gen: 9, pttl: HOUR_MS, ep: 'an-older-epoch' },
    ],
  },
  {
    namespace: 'team-b.eu',
    epoch: '0123456789abcdef0123456789abcdef',
    records: [
      { key: 'plain-1', pttl: HOUR_MS },
      { key: 'user:7', gen: 5, pttl: HOUR_MS },
    ],
  },
];
/** Records a migration copies (every one but the stale). */
const LIVE = FIXTURE.flatMap((ns) =>
  ns.records.filter((r) => r.ep === undefined).map((r) => ({ ns, r })),
);

async function writeV2(redis: Redis, prefix: string, data: readonly V2Namespace[]): Promise<void> {
  for (const ns of data) {
    const base = v2Namespace(prefix, ns.namespace);
    await redis.set(`${base}:epoch`, ns.epoch);
    for (const r of ns.records) {
      const name = `${base}:k:${r.key}`;
      await redis.hset(name, {
        created: '1690000000000',
        ep: r.ep ?? ns.epoch,
        ...(r.gen === undefined ? {} : { gen: String(r.gen) }),
        ...(r.bind === undefined ? {} : { bind: r.bind }),
        ...r.extra,
      });
      if (r.pttl !== undefined) await redis.pexpire(name, r.pttl);
    }
  }
}

/** The tenant ID a v2 gateway derived for a key (its own: bindings are followed by the caller). */
function v2Tenant(ns: V2Namespace, key: string): string {
  const generation = ns.records.find((r) => r.key === key)?.gen ?? 0;
  return deriveTenantId(TEST_SECRET, TENANT_PREFIX, {
    namespace: ns.namespace,
    epoch: ns.epoch,
    key,
    generation,
  });
}

/** The tenant ID layout v3 data gives a key: its bucket's epoch and its record's generation. */
async function v3Tenant(
  redis: Redis | Cluster,
  prefix: string,
  namespace: string,
  key: string,
): Promise<string> {
  const keys = directoryKeys(prefix);
  const epoch = await redis.get(keys.epoch(namespace, epochBucket(key)));
  if (epoch === null) throw new Error(`no epoch for ${key}`);
  const generation = Number((await redis.hget(keys.record(namespace, key), 'gen')) ?? '0');
  return deriveTenantId(TEST_SECRET, TENANT_PREFIX, { namespace, epoch, key, generation });
}

async function client(url: string): Promise<Redis> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  onTestFinished(() => {
    redis.disconnect();
  });
  return redis;
}

/** Source and target prefixes on the shared Redis, deleted when the test ends. */
function prefixes(label: string): { from: string; to: string } {
  const from = uniquePrefix(`${label}-v2`);
  const to = uniquePrefix(`${label}-v3`);
  onTestFinished(async () => {
    await deleteByPrefix(SHARED_REDIS_URL, from);
    await deleteByPrefix(SHARED_REDIS_URL, to);
  });
  return { from, to };
}

/** Every key under `prefix` with its hash fields or string value (TTLs apart). */
async function dump(redis: Redis, prefix: string): Promise<Map<string, unknown>> {
  const out = new Map<string, unknown>();
  let cursor = '0';
  do {
    const [next, names] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    for (const name of names) {
      const type = await redis.type(name);
      out.set(name, type === 'hash' ? await redis.hgetall(name) : await redis.get(name));
    }
  } while (cursor !== '0');
  return out;
}

/** Migrates `p.from` on `source` to `p.to` on `target`. */
function run(
  source: Redis,
  target: Redis | Cluster,
  p: { from: string; to: string },
  dryRun = false,
  onWarning?: (message: string) => void,
): Promise<MigrationReport> {
  return migrateDirectory({
    source,
    target,
    sourcePrefix: p.from,
    targetPrefix: p.to,
    dryRun,
    ...(onWarning === undefined ? {} : { onWarning }),
  });
}

/** Every key under `prefix` whose name contains `part`. */
async function namesWith(redis: Redis, prefix: string, part: string): Promise<string[]> {
  return [...(await dump(redis, prefix)).keys()].filter((name) => name.includes(part));
}

/** C0, DEL and C1 controls: what must never reach an operator's terminal raw. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

describe('migrateDirectory (layout v2 -> v3)', () => {
  it('keeps every key’s tenant ID, binding, fields and TTL, and sets every bucket’s epoch', async () => {
    // Prepare
    const p = prefixes('migrate');
    const redis = await client(SHARED_REDIS_URL);
    const target = await client(SHARED_REDIS_URL);
    await writeV2(redis, p.from, FIXTURE);

    // Act
    const report = await run(redis, target, p);

    // Assess: the same tenant for every live key
    for (const { ns, r } of LIVE) {
      expect(await v3Tenant(target, p.to, ns.namespace, r.key), r.key).toBe(v2Tenant(ns, r.key));
    }
    const keys = directoryKeys(p.to);
    const bound = await target.hgetall(keys.record('default', 'bound'));
    expect(bound['bind']).toBe('workspace');
    expect(await target.hgetall(keys.record('default', 'plain-1'))).toEqual({
      created: '1690000000000',
      ep: FIXTURE[0]?.epoch,
      hit: '4',
      seen: '1700000000000',
    });
    expect(await target.hget(keys.record('default', 'rotated'), 'sv:counter')).toBe('17');
    // TTLs: what was left of them (minus the test's own run time), none where none
    const rotatedTtl = await target.pttl(keys.record('default', 'rotated'));
    expect(rotatedTtl).toBeGreaterThan(2 * HOUR_MS - 60_000);
    expect(rotatedTtl).toBeLessThanOrEqual(2 * HOUR_MS);
    expect(await target.pttl(keys.record('default', 'forever'))).toBe(-1);
    // The stale record is dead in v2 too: not copied
    expect(await target.exists(keys.record('default', 'stale'))).toBe(0);
    // Every bucket of both namespaces holds the namespace's v2 epoch
    for (const ns of FIXTURE) {
      const epochs = await Promise.all(
        Array.from({ length: EPOCH_BUCKETS }, (_, b) => target.get(keys.epoch(ns.namespace, b))),
      );
      expect(new Set(epochs)).toEqual(new Set([ns.epoch]));
    }
    expect(report.totals).toEqual({
      namespaces: 2,
      bucketsSet: 2 * EPOCH_BUCKETS,
      bucketsAlreadySet: 0,
      conflictBuckets: 0,
      copied: LIVE.length,
      merged: 0,
      unchanged: 0,
      skippedStale: 1,
      skippedConflict: 0,
      skippedInvalid: 0,
      bindingsDropped: 0,
      namespacesRefused: 0,
    });
    expect(report.refused).toEqual([]);
  });

  it('a migrated key resolves to its v2 tenant through KeyDirectory and the Redis store', async () => {
    // Prepare
    const p = prefixes('migrate-resolve');
    const redis = await client(SHARED_REDIS_URL);
    await writeV2(redis, p.from, FIXTURE);
    await run(redis, await client(SHARED_REDIS_URL), p);
    const [defaultNs] = FIXTURE;
    if (defaultNs === undefined) throw new Error('fixture');

    // Act
    const directory = await openRedisDirectory(SHARED_REDIS_URL, p.to);
    const plain = await directory.resolve('plain-1');
    const rotated = await directory.resolve('rotated');
    const bound = await directory.resolve('bound');

    // Assess: a bound key uses its target's tenant, as on v2
    expect(plain.tenantId).toBe(v2Tenant(defaultNs, 'plain-1'));
    expect(rotated).toMatchObject({ tenantId: v2Tenant(defaultNs, 'rotated'), generation: 3 });
    expect(bound).toMatchObject({
      tenantId: v2Tenant(defaultNs, 'workspace'),
      boundTo: 'workspace',
      generation: 1,
    });
  });

  it('a second run changes nothing and says so', async () => {
    // Prepare
    const p = prefixes('migrate-twice');
    const redis = await client(SHARED_REDIS_URL);
    const target = await client(SHARED_REDIS_URL);
    await writeV2(redis, p.from, FIXTURE);
    await run(redis, target, p);
    const before = await dump(target, p.to);
    const ttlBefore = await target.pttl(directoryKeys(p.to).record('default', 'plain-1'));

    // Act
    const again = await run(redis, target, p);

    // Assess
    expect(await dump(target, p.to)).toEqual(before);
    expect(await target.pttl(directoryKeys(p.to).record('default', 'plain-1'))).toBeLessThanOrEqual(
      ttlBefore,
    );
    expect(again.totals).toMatchObject({
      bucketsSet: 0,
      bucketsAlreadySet: 2 * EPOCH_BUCKETS,
      copied: 0,
      merged: 0,
      unchanged: LIVE.length,
    });
  });

  it('a dry run writes nothing and counts what a run then does', async () => {
    // Prepare
    const p = prefixes('migrate-dry');
    const redis = await client(SHARED_REDIS_URL);
    const target = await client(SHARED_REDIS_URL);
    await writeV2(redis, p.from, FIXTURE);
    const sourceBefore = await dump(redis, p.from);

    // Act
    const dry = await run(redis, target, p, true);
    const written = await dump(target, p.to);
    const real = await run(redis, target, p);

    // Assess
    expect(written.size).toBe(0);
    expect(dry.totals).toEqual(real.totals);
    expect(await dump(redis, p.from)).toEqual(sourceBefore);
  });

  it('a bucket already holding another epoch is a conflict: its records stay, the rest move', async () => {
    // Prepare: a v3 gateway already created the epoch of 'rotated''s bucket
    const p = prefixes('migrate-conflict');
    const redis = await client(SHARED_REDIS_URL);
    const target = await client(SHARED_REDIS_URL);
    await writeV2(redis, p.from, FIXTURE);
    const keys = directoryKeys(p.to);
    const bucket = epochBucket('rotated');
    await target.set(keys.epoch('default', bucket), 'a-v3-epoch');
    const inBucket = LIVE.filter(
      ({ ns, r }) => ns.namespace === 'default' && epochBucket(r.key) === bucket,
    );

    // Act
    const report = await run(redis, target, p);

    // Assess
    expect(report.namespaces.find((n) => n.namespace === 'default')?.conflictBuckets).toEqual([
      bucket,
    ]);
    expect(report.totals).toMatchObject({
      conflictBuckets: 1,
      skippedConflict: inBucket.length,
      copied: LIVE.length - inBucket.length,
      bucketsSet: 2 * EPOCH_BUCKETS - 1,
    });
    expect(await target.get(keys.epoch('default', bucket))).toBe('a-v3-epoch');
    expect(await target.exists(keys.record('default', 'rotated'))).toBe(0);
    const [defaultNs] = FIXTURE;
    if (defaultNs === undefined) throw new Error('fixture');
    expect(await v3Tenant(target, p.to, 'default', 'plain-1')).toBe(v2Tenant(defaultNs, 'plain-1'));
  });

  it('a rerun merges: the larger generation wins, the target’s fields are kept, missing ones filled', async () => {
    // Prepare: migrated; then a v3 gateway rotates 'rotated' and counts a hit
    // on 'plain-1' while an old v2 replica rotates 'plain-1' (a rolling deploy)
    const p = prefixes('migrate-merge');
    const redis = await client(SHARED_REDIS_URL);
    const target = await client(SHARED_REDIS_URL);
    await writeV2(redis, p.from, FIXTURE);
    await run(redis, target, p);
    const keys = directoryKeys(p.to);
    const base = v2Namespace(p.from, 'default');
    await target.hset(keys.record('default', 'rotated'), { gen: '4', 'sv:counter': '20' });
    await target.hset(keys.record('default', 'plain-1'), { hit: '9' });
    await redis.hset(`${base}:k:plain-1`, { gen: '1', env: 'env-v2' });
    await redis.hset(`${base}:k:rotated`, { 'sv:counter': '18' });

    // Act
    const report = await run(redis, target, p);

    // Assess
    expect(await target.hmget(keys.record('default', 'rotated'), 'gen', 'sv:counter')).toEqual([
      '4',
      '20',
    ]);
    expect(await target.hmget(keys.record('default', 'plain-1'), 'gen', 'hit', 'env')).toEqual([
      '1',
      '9',
      'env-v2',
    ]);
    expect(report.totals).toMatchObject({ copied: 0, merged: 1, unchanged: LIVE.length - 1 });
  });

  it('refuses a namespace whose epoch or name no v2 gateway wrote, copies none of it, migrates the rest', async () => {
    // Prepare: beside the fixture, namespaces a v2 gateway could not have written:
    // an empty epoch (the scripts' "none": copied, it breaks every bucket for good),
    // an epoch not 32 lower-case hex, an epoch key that is a hash (WRONGTYPE),
    // a non-canonical name (`%41` is `A`), and one with a control character
    const p = prefixes('migrate-refuse');
    const redis = await client(SHARED_REDIS_URL);
    const target = await client(SHARED_REDIS_URL);
    await writeV2(redis, p.from, [
      ...FIXTURE,
      { namespace: 'empty-epoch', epoch: '', records: [{ key: 'victim', gen: 2 }] },
      { namespace: 'upper', epoch: 'ABCDEF0123456789ABCDEF0123456789', records: [{ key: 'k' }] },
      { namespace: 'short', epoch: 'E', records: [{ key: 'k' }] },
    ]);
    await redis.hset(`${p.from}{ns:aaa}:epoch`, { x: '1' });
    await redis.set(`${p.from}{ns:%41}:epoch`, '0123456789abcdef0123456789abcdef');
    await redis.hset(`${p.from}{ns:%41}:k:k`, { gen: '1', ep: '0123456789abcdef0123456789abcdef' });
    await redis.set(`${p.from}{ns:%0A}:epoch`, '0123456789abcdef0123456789abcdef');

    // Act
    const report = await run(redis, target, p);

    // Assess: each refused, with a reason, named safely
    expect(report.refused).toEqual([
      { name: '"%0A"', reason: 'not a valid namespace (it contains a control character)' },
      { name: '"%41"', reason: 'the name is not encoded as warmroute writes it' },
      { name: '"aaa"', reason: 'its epoch key is not a string' },
      {
        name: '"empty-epoch"',
        reason: 'its epoch "" is not one warmroute wrote (32 lower-case hex digits)',
      },
      {
        name: '"short"',
        reason: 'its epoch "E" is not one warmroute wrote (32 lower-case hex digits)',
      },
      {
        name: '"upper"',
        reason:
          'its epoch "ABCDEF0123456789ABCDEF0123456789" is not one warmroute wrote (32 lower-case hex digits)',
      },
    ]);
    expect(report.totals).toMatchObject({
      namespaces: 2,
      namespacesRefused: 6,
      copied: LIVE.length,
    });
    // Nothing of them in the target: no bucket epoch, no record
    for (const ns of ['empty-epoch', 'upper', 'short', 'aaa', 'A', '\n']) {
      expect(await namesWith(target, p.to, `:n:${encodeURIComponent(ns)}:`), ns).toEqual([]);
    }
    for (const { ns, r } of LIVE) {
      expect(await v3Tenant(target, p.to, ns.namespace, r.key), r.key).toBe(v2Tenant(ns, r.key));
    }
  });

  it('skips records no gateway wrote, warns with their names quoted and cut, and goes on', async () => {
    // Prepare: odd records in 'default' (the first namespace), the fixture's 'team-b.eu' after it
    const p = prefixes('migrate-invalid');
    const redis = await client(SHARED_REDIS_URL);
    const target = await client(SHARED_REDIS_URL);
    await writeV2(redis, p.from, FIXTURE);
    const [defaultNs] = FIXTURE;
    if (defaultNs === undefined) throw new Error('fixture');
    const base = `${v2Namespace(p.from, 'default')}:k:`;
    const ep = defaultNs.epoch;
    const longKey = 'h'.repeat(200_000);
    const invalid: Record<string, Record<string, string>> = {
      'gen-abc': { gen: 'abc', ep },
      'gen-big': { gen: '1e400', ep },
      'gen-past-2^53': { gen: '9007199254740993', ep },
      'gen-neg': { gen: '-3', ep },
      'sv-frac': { gen: '1', 'sv:counter': '1.5', ep },
      'esc\u001b[31mred': { gen: '1', ep },
      ' padded': { gen: '1', ep },
      [longKey]: { gen: '1', ep },
    };
    for (const [key, fields] of Object.entries(invalid)) await redis.hset(`${base}${key}`, fields);
    await redis.set(`${base}a-string`, 'x');
    await redis.hset(`${base}bad-bind`, { gen: '2', bind: 'bell\u0007', ep });
    await redis.hset(`${base}self-bound`, { bind: 'self-bound', ep });
    // The target key of one valid record is not a hash (left by hand)
    const keys = directoryKeys(p.to);
    await target.set(keys.record('default', 'forever'), 'x');
    const warnings: string[] = [];

    // Act
    const report = await run(redis, target, p, false, (message) => warnings.push(message));

    // Assess: counted, the rest copied, the next namespace migrated
    const skipped = Object.keys(invalid).length + 2; // + the string + the target's string
    expect(report.totals).toMatchObject({
      namespaces: 2,
      namespacesRefused: 0,
      skippedInvalid: skipped,
      bindingsDropped: 1,
      copied: LIVE.length - 1 + 2, // - 'forever' + 'bad-bind' + 'self-bound'
    });
    expect(warnings).toHaveLength(skipped + 1);
    for (const warning of warnings) {
      expect(warning).not.toMatch(CONTROL);
      expect(warning.length).toBeLessThan(400);
    }
    expect(warnings).toContain(
      'record "gen-big" of namespace "default" not copied: field "gen" is "1e400", not a whole number from 0 to 9007199254740991',
    );
    expect(warnings).toContain(
      'record "esc\\u001b[31mred" of namespace "default" not copied: not a valid key (it contains a control character)',
    );
    expect(warnings).toContain(
      `record "${'h'.repeat(100)}"… of namespace "default" not copied: not a valid key (it is 200000 bytes long (at most 1024))`,
    );
    expect(warnings).toContain(
      'record "a-string" of namespace "default" not copied: it is not a hash',
    );
    expect(warnings).toContain(
      'record "bad-bind" of namespace "default": binding to "bell\\u0007" dropped (not a valid key)',
    );
    for (const key of Object.keys(invalid)) {
      expect(await target.exists(keys.record('default', key)), key).toBe(0);
    }
    expect(await target.hgetall(keys.record('default', 'bad-bind'))).toEqual({ gen: '2', ep });
    // A self-binding is copied as it was: resolve stops at the chain depth, as on v2
    expect(await target.hget(keys.record('default', 'self-bound'), 'bind')).toBe('self-bound');
    expect(await target.get(keys.record('default', 'forever'))).toBe('x');
    const teamB = FIXTURE[1];
    if (teamB === undefined) throw new Error('fixture');
    expect(await v3Tenant(target, p.to, 'team-b.eu', 'user:7')).toBe(v2Tenant(teamB, 'user:7'));
  });

  it('replaces a target record stamped with another epoch (dead there) by the v2 one', async () => {
    // Prepare
    const p = prefixes('migrate-stale-target');
    const redis = await client(SHARED_REDIS_URL);
    const target = await client(SHARED_REDIS_URL);
    await writeV2(redis, p.from, FIXTURE);
    const keys = directoryKeys(p.to);
    await target.hset(keys.record('default', 'rotated'), { gen: '8', ep: 'gone', hit: '1' });

    // Act
    await run(redis, target, p);

    // Assess
    const record = await target.hgetall(keys.record('default', 'rotated'));
    expect(record).toMatchObject({ gen: '3', ep: FIXTURE[0]?.epoch });
    expect(record['hit']).toBeUndefined();
  });
});

describe('warmroute migrate-directory (built CLI)', () => {
  const summary = (counts: Record<string, number>): string =>
    Object.entries(counts)
      .map(([name, n]) => `${name}: ${n}\n`)
      .join('');

  it('refuses bad arguments with exit 2 and says why', async () => {
    // Act
    const target = { REDIS_URL: 'redis://127.0.0.1:1' };
    const [missing, secret, unknown, scheme, noTarget] = await Promise.all([
      runCli(['migrate-directory'], target),
      runCli(['migrate-directory', '--from', 'redis://:hunter2@127.0.0.1:1'], target),
      runCli(['migrate-directory', '--from=redis://127.0.0.1:1', '--force'], target),
      runCli(['migrate-directory', '--from', 'http://127.0.0.1:1'], target),
      runCli(['migrate-directory', '--from', 'redis://127.0.0.1:1']),
    ]);

    // Assess
    for (const result of [missing, secret, unknown, scheme, noTarget]) {
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toContain('usage: warmroute migrate-directory');
    }
    expect(missing.stderr).toContain('--from: required');
    expect(secret.stderr).toContain(
      '--from: must not hold a password (the command line is visible to every user of the machine): put it in WARMROUTE_MIGRATE_FROM_PASSWORD',
    );
    expect(secret.stderr).not.toContain('hunter2');
    expect(unknown.stderr).toContain('unknown argument "--force"');
    expect(scheme.stderr).toContain('--from: must be a redis:// or rediss:// URL, not http://');
    expect(noTarget.stderr).toContain('REDIS_URL or WARMROUTE_REDIS_CLUSTER_NODES: neither is set');
  });

  it('warmroute --help includes warmroute migrate-directory --help', async () => {
    // Act
    const [top, own] = await Promise.all([
      runCli(['--help']),
      runCli(['migrate-directory', '--help']),
    ]);

    // Assess
    expect(own.code).toBe(0);
    expect(own.stdout).toContain('--dry-run');
    expect(top.stdout).toContain(own.stdout);
  });

  it('an unreachable source or target is exit 1, named with the reason', async () => {
    // Prepare
    const up = await privateRedis();

    // Act
    const [source, target] = await Promise.all([
      runCli(['migrate-directory', '--from', 'redis://127.0.0.1:1'], { REDIS_URL: up.url }),
      runCli(['migrate-directory', '--from', up.url], { REDIS_URL: 'redis://127.0.0.1:1' }),
    ]);

    // Assess
    expect(source.code).toBe(1);
    expect(source.stderr).toBe(
      'warmroute migrate-directory: cannot reach the source redis://127.0.0.1:1 (--from): connect ECONNREFUSED 127.0.0.1:1 (running it again is safe)\n',
    );
    expect(target.code).toBe(1);
    expect(target.stderr).toBe(
      'warmroute migrate-directory: cannot reach the target redis://127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1 (running it again is safe)\n',
    );
  });

  it('migrates from a password-protected server, then reruns as a no-op; --dry-run writes nothing', async () => {
    // Prepare: the source demands AUTH, the password comes from the environment
    const source = await passwordRedis();
    const sourceRedis = new Redis(source.url, { password: source.password, lazyConnect: true });
    await sourceRedis.connect();
    onTestFinished(() => {
      sourceRedis.disconnect();
    });
    await writeV2(sourceRedis, DIRECTORY_KEY_PREFIX, FIXTURE);
    const target = await privateRedis();
    const targetRedis = await client(target.url);
    const env = { REDIS_URL: target.url, WARMROUTE_MIGRATE_FROM_PASSWORD: source.password };
    const args = ['migrate-directory', '--from', source.url];

    // Act
    const dry = await runCli([...args, '--dry-run'], env);
    const afterDry = await targetRedis.dbsize();
    const first = await runCli(args, env);
    const second = await runCli(args, env);

    // Assess
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('dry run: nothing is written');
    expect(afterDry).toBe(0);
    expect(first.code).toBe(0);
    expect(first.stderr).toBe('');
    expect(first.stdout).toContain(
      summary({
        namespaces: 2,
        'buckets set': 2 * EPOCH_BUCKETS,
        'buckets already set': 0,
        'bucket conflicts': 0,
        'records copied': LIVE.length,
        'records merged': 0,
        'records unchanged': 0,
        'records skipped (older epoch)': 1,
        'records skipped (conflict)': 0,
        'records skipped (invalid)': 0,
        'bindings dropped (invalid)': 0,
        'namespaces refused': 0,
      }),
    );
    expect(first.stdout).not.toContain(source.password);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('records copied: 0\nrecords merged: 0\n');
    expect(second.stdout).toContain(`records unchanged: ${LIVE.length}\n`);
    for (const { ns, r } of LIVE) {
      expect(await v3Tenant(targetRedis, DIRECTORY_KEY_PREFIX, ns.namespace, r.key)).toBe(
        v2Tenant(ns, r.key),
      );
    }
  });

  it('a conflict is exit 1, named on stderr', async () => {
    // Prepare
    const server = await privateRedis();
    const redis = await client(server.url);
    await writeV2(redis, DIRECTORY_KEY_PREFIX, FIXTURE);
    await redis.set(
      directoryKeys(DIRECTORY_KEY_PREFIX).epoch('team-b.eu', epochBucket('user:7')),
      'a-v3-epoch',
    );

    // Act: in place (source and target one server: the layouts' names never collide)
    const result = await runCli(['migrate-directory', '--from', server.url], {
      REDIS_URL: server.url,
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('bucket conflicts: 1\n');
    expect(result.stderr).toContain(
      `conflict: namespace "team-b.eu": 1 bucket(s) (${epochBucket('user:7')}) already hold another epoch`,
    );
  });

  it('a refused namespace is exit 1, named on stderr; invalid records are warnings, cut and escaped', async () => {
    // Prepare
    const server = await privateRedis();
    const redis = await client(server.url);
    await writeV2(redis, DIRECTORY_KEY_PREFIX, [
      ...FIXTURE,
      { namespace: 'broken', epoch: '', records: [{ key: 'victim', gen: 2 }] },
    ]);
    await redis.hset(`${v2Namespace(DIRECTORY_KEY_PREFIX, 'default')}:k:evil\u001b]0;x\u0007`, {
      gen: '1',
      ep: FIXTURE[0]?.epoch ?? '',
    });

    // Act
    const result = await runCli(['migrate-directory', '--from', server.url], {
      REDIS_URL: server.url,
    });

    // Assess
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`records copied: ${LIVE.length}\n`);
    expect(result.stdout).toContain(
      'records skipped (invalid): 1\nbindings dropped (invalid): 0\nnamespaces refused: 1\n',
    );
    expect(result.stderr).toContain(
      'refused: namespace "broken": its epoch "" is not one warmroute wrote (32 lower-case hex digits); none of its records were copied\n',
    );
    expect(result.stderr).toContain(
      'warning: record "evil\\u001b]0;x\\u0007" of namespace "default" not copied: not a valid key (it contains a control character)\n',
    );
    expect((result.stdout + result.stderr).replaceAll('\n', '')).not.toMatch(CONTROL);
    expect(await namesWith(redis, DIRECTORY_KEY_PREFIX, ':n:broken:')).toEqual([]);
  });

  it('migrates into a Redis Cluster (WARMROUTE_REDIS_CLUSTER_NODES), records spread over the masters', async () => {
    // Prepare
    const cluster = await startRedisCluster({ masters: 3, replicasPerMaster: 0 });
    onTestFinished(() => cluster.stop());
    const source = await privateRedis();
    const sourceRedis = await client(source.url);
    await writeV2(sourceRedis, DIRECTORY_KEY_PREFIX, FIXTURE);
    const nodes = cluster.seeds.map((s) => `${s.host}:${s.port}`).join(',');

    // Act
    const result = await runCli(['migrate-directory', '--from', source.url], {
      WARMROUTE_REDIS_CLUSTER_NODES: nodes,
    });

    // Assess
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`records copied: ${LIVE.length}\n`);
    const reader = new Cluster([...cluster.seeds], { lazyConnect: true });
    await reader.connect();
    onTestFinished(() => {
      reader.disconnect();
    });
    for (const { ns, r } of LIVE) {
      expect(await v3Tenant(reader, DIRECTORY_KEY_PREFIX, ns.namespace, r.key)).toBe(
        v2Tenant(ns, r.key),
      );
    }
    const perMaster = await cluster.countKeysPerMaster(`${DIRECTORY_KEY_PREFIX}*`);
    expect(perMaster).toHaveLength(3);
    for (const master of perMaster) expect(master.keys).toBeGreaterThan(0);
  });
});
