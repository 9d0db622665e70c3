import { describe, expect, it, onTestFinished } from 'vitest';
import type { KeyDirectory } from '../../src/directory/directory.js';
import { EPOCH_BUCKETS, epochBucket } from '../../src/directory/epoch-bucket.js';
import { deriveTenantId } from '../../src/directory/tenant-id.js';
import { directoryKeys } from '../../src/redis/keys.js';
import {
  TEST_SECRET,
  inspector,
  nextInvalidation,
  openRedisDirectory,
} from '../helpers/directory-fixtures.js';
import { freePort } from '../helpers/ports.js';
import { SHARED_REDIS_URL, deleteByPrefix, privateRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * Issue 11, defect 8: losing Redis data must never send a rotated key back to
 * a tenant it had before. Tenant IDs are derived from (namespace, epoch, key,
 * generation); the epoch is a random id in Redis, one per bucket of keys
 * (epoch-bucket.ts), so a Redis that came back empty gets new ones, and
 * generations that restart at 0 derive tenants no key ever had. Every case
 * runs on a private redis-server (FLUSHALL, kill).
 */

/** A directory that asks the store on every resolve (no L1), so each answer shows the store's view. */
function open(url: string, prefix: string): Promise<KeyDirectory> {
  // A generous command timeout: these tests are about epochs, not about
  // timeouts, and a call timed out on a loaded CI machine is resolved by
  // derivation on the cached epoch (degraded mode), which is not the case
  // under test.
  return openRedisDirectory(url, prefix, { l1Max: 0, commandTimeoutMs: 2_000 });
}

/** Every tenant `key` could have had in `epoch` up to `maxGeneration`. */
function tenantsOf(epoch: string, key: string, maxGeneration: number): string[] {
  return Array.from({ length: maxGeneration + 1 }, (_, generation) =>
    deriveTenantId(TEST_SECRET, 'wr-', { namespace: 'default', epoch, key, generation }),
  );
}

describe.each([
  { loss: 'the server restarts empty', flushall: false },
  { loss: 'FLUSHALL', flushall: true },
])('a rotated key after Redis lost its data ($loss)', ({ flushall }) => {
  it('never lands in a tenant it had, on this replica, on a replica that cached the old epoch, and for bound sessions', async () => {
    // Prepare: two replicas; the key rotated twice; a session bound to it.
    const redis = await privateRedis();
    const prefix = uniquePrefix('dir-epoch');
    const a = await open(redis.url, prefix);
    const b = await open(redis.url, prefix);
    const seen = new Set<string>();
    seen.add((await a.resolve('ws')).tenantId);
    seen.add((await a.rotate('ws')).tenantId);
    seen.add((await a.rotate('ws')).tenantId);
    await a.bind('session', 'ws');
    const boundBefore = await b.resolve('session');
    seen.add(boundBefore.tenantId);
    seen.add((await b.resolve('ws')).tenantId);
    expect(epochBucket('ws')).not.toBe(epochBucket('session'));
    const oldWs = a.epochOf('default', 'ws');
    const oldSession = a.epochOf('default', 'session');
    expect(b.epochOf('default', 'ws')).toBe(oldWs);
    expect(b.epochOf('default', 'session')).toBe(oldSession);
    expect(boundBefore.tenantId).toBe((await a.resolve('ws')).tenantId);
    // Everything the key and the session could ever have been derived to in the old epochs.
    const old = new Set([
      ...seen,
      ...tenantsOf(oldWs, 'ws', 2),
      ...tenantsOf(oldSession, 'session', 2),
    ]);

    // Act: lose every byte of Redis data.
    if (flushall) {
      await (await inspector(redis.url)).flushall();
    } else {
      await redis.kill();
      await redis.restart();
      await expect.poll(() => a.health().status, { timeout: 10_000 }).toBe('ok');
      await expect.poll(() => b.health().status, { timeout: 10_000 }).toBe('ok');
    }
    const afterA = await a.resolve('ws');
    const afterB = await b.resolve('ws');
    const sessionAfter = await b.resolve('session');

    // Assess: new epochs both replicas agree on, and no tenant from before.
    expect(a.epochOf('default', 'ws')).not.toBe(oldWs);
    expect(a.epochOf('default', 'session')).not.toBe(oldSession);
    expect(b.epochOf('default', 'ws')).toBe(a.epochOf('default', 'ws'));
    expect(b.epochOf('default', 'session')).toBe(a.epochOf('default', 'session'));
    expect(afterA.generation).toBe(0);
    expect(old.has(afterA.tenantId)).toBe(false);
    expect(afterB.tenantId).toBe(afterA.tenantId);
    // The binding went with the data: the session is back in its own (new) tenant.
    expect(sessionAfter.boundTo).toBeUndefined();
    expect(sessionAfter.tenantId).toBe(tenantsOf(a.epochOf('default', 'session'), 'session', 0)[0]);
    expect(old.has(sessionAfter.tenantId)).toBe(false);
    // The state scope moved with it: no snapshot of the old epoch is named.
    expect(afterA.state).toMatchObject({
      epoch: a.epochOf('default', 'ws'),
      generation: 0,
      key: 'ws',
    });

    // And rotating again under the new epoch still never meets an old tenant.
    const rotatedAgain = await b.rotate('ws');
    expect(old.has(rotatedAgain.tenantId)).toBe(false);
    expect((await a.resolve('ws')).tenantId).toBe(rotatedAgain.tenantId);
  });
});

describe('replicas after a FLUSHALL (no connection drops, so no resync)', () => {
  it('drop their cached entries when another replica announces the new epoch', async () => {
    // Prepare: B caches the rotated key in L1 (30 s TTL).
    const redis = await privateRedis();
    const prefix = uniquePrefix('dir-epoch-announce');
    const a = await open(redis.url, prefix);
    const b = await openRedisDirectory(redis.url, prefix, { commandTimeoutMs: 2_000 });
    const rotationSeen = nextInvalidation(b, (n) => n.op === 'rotate' && n.key === 'ws');
    await a.rotate('ws');
    await rotationSeen;
    const cached = await b.resolve('ws');
    expect((await b.resolve('ws')).source).toBe('l1');
    // Both know every bucket's epoch before the loss (the start's prefetch has ended).
    await Promise.all([a.epochsLoaded(), b.epochsLoaded()]);

    // Act: data lost; A is the first to notice and creates the new epoch.
    await (await inspector(redis.url)).flushall();
    const fresh = await a.resolve('ws');
    await expect
      .poll(() => b.epochOf('default', 'ws'), { timeout: 5_000 })
      .toBe(a.epochOf('default', 'ws'));
    const fromB = await b.resolve('ws');

    // Assess: B asks the store again at once instead of serving its L1 entry.
    expect(fromB).toMatchObject({ source: 'store', tenantId: fresh.tenantId, generation: 0 });
    expect(fromB.tenantId).not.toBe(cached.tenantId);
    // FLUSHALL lost every bucket's epoch: A, having found one changed, read all
    // 1,024 again (recreating and announcing each), and B adopted every one.
    // On a loaded machine a batch of those reads can time out (200 ms): A
    // reads what it missed again at a store call after EPOCH_PREFETCH_RETRY_MS,
    // so requests keep coming here as they would in service, and the bound is
    // generous (B also confirms each announcement with a read of its own).
    let n = 0;
    await expect
      .poll(
        async () => {
          await a.resolve(`traffic-${String(n++)}`);
          return a.counters().epochChanges;
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(EPOCH_BUCKETS);
    await expect.poll(() => b.counters().epochChanges, { timeout: 20_000 }).toBe(EPOCH_BUCKETS);
  }, 45_000);
});

describe('records that outlive their bucket’s epoch key (evicted alone, or a shard that lost its data)', () => {
  it('count as absent in the new epoch of their bucket only: generation, binding and state version start over there', async () => {
    // Prepare: a rotated key with a known state version, and a session (another bucket) bound to it.
    const redis = await privateRedis();
    const prefix = uniquePrefix('dir-epoch-partial');
    const a = await open(redis.url, prefix);
    await a.rotate('ws');
    await a.rotate('ws');
    await a.bind('session', 'ws');
    await a.resolve('ws');
    a.recordOutcome('ws', { envId: 'env-1', state: 'hit', stateVersion: 7, functionName: 'fn' });
    await a.flush();
    const sessionEpoch = a.epochOf('default', 'session');
    const old = new Set([
      ...tenantsOf(a.epochOf('default', 'ws'), 'ws', 2),
      ...tenantsOf(sessionEpoch, 'session', 2),
    ]);
    const admin = await inspector(redis.url);
    const keys = directoryKeys(prefix);
    const epochKey = keys.epoch('default', epochBucket('ws'));
    expect(await admin.get(epochKey)).toBe(a.epochOf('default', 'ws'));

    // Act: only ws's bucket epoch goes (as an allkeys eviction policy may do); the records stay.
    await admin.del(epochKey);
    const ws = await a.resolve('ws', { functionName: 'fn' });
    const session = await a.resolve('session');

    // Assess: ws's old generation and version do not carry into its bucket's new epoch;
    expect(await admin.get(epochKey)).toBe(a.epochOf('default', 'ws'));
    expect(ws).toMatchObject({ generation: 0, stateVersion: 0 });
    expect(old.has(ws.tenantId)).toBe(false);
    expect(await a.explain('ws')).toMatchObject({
      generation: 0,
      stateVersions: {},
      counts: { hit: 0 },
    });
    // the session's bucket kept its epoch, so its binding holds, now to ws's new tenant.
    expect(a.epochOf('default', 'session')).toBe(sessionEpoch);
    expect(await admin.get(keys.epoch('default', epochBucket('session')))).toBe(sessionEpoch);
    expect(session).toMatchObject({ boundTo: 'ws', tenantId: ws.tenantId });
    expect(old.has(session.tenantId)).toBe(false);
  });
});

describe('a directory that has never seen the epoch', () => {
  it('started while Redis is down, routes to tenants of a process-local epoch, never to old ones', async () => {
    // Prepare: a key rotated in a namespace whose epoch lives in Redis.
    const redis = await privateRedis();
    const prefix = uniquePrefix('dir-epoch-late');
    const a = await open(redis.url, prefix);
    await a.rotate('ws');
    const epoch = a.epochOf('default', 'ws');
    const old = new Set(tenantsOf(epoch, 'ws', 1));

    // Act: a new replica starts while it cannot reach Redis.
    const unreachable = `redis://127.0.0.1:${await freePort()}`;
    const late = await openRedisDirectory(unreachable, prefix, {
      commandTimeoutMs: 200,
      connectTimeoutMs: 300,
    });
    const guessed = await late.resolve('ws');

    // Assess: degraded, derived, and not generation 0 of the real epoch (the pre-rotation tenant).
    expect(late.health().status).toBe('degraded');
    expect(guessed.source).toBe('derived');
    expect(late.epochOf('default', 'ws')).not.toBe(epoch);
    expect(old.has(guessed.tenantId)).toBe(false);
    expect(guessed.state.epoch).toBe(late.epochOf('default', 'ws'));
  });

  it('while Redis is merely unreachable, keeps routing on the epoch it cached (affinity holds)', async () => {
    const redis = await privateRedis();
    const prefix = uniquePrefix('dir-epoch-down');
    const a = await openRedisDirectory(redis.url, prefix);
    const before = await a.resolve('k');
    const epoch = a.epochOf('default', 'k');
    a.recordOutcome('k', { envId: 'e', state: 'hit' });
    // The start prefetched every bucket's epoch, including that of a key never resolved.
    await a.epochsLoaded('default');
    const stored = await (
      await inspector(redis.url)
    ).get(directoryKeys(prefix).epoch('default', epochBucket('never-seen-before')));
    expect(stored).not.toBeNull();

    await redis.kill();
    await expect.poll(() => a.health().status, { timeout: 5_000 }).toBe('degraded');
    const unseen = await a.resolve('never-seen-before');

    expect(a.epochOf('default', 'k')).toBe(epoch);
    expect((await a.resolve('k')).tenantId).toBe(before.tenantId);
    expect(unseen.tenantId).toBe(tenantsOf(stored ?? '', 'never-seen-before', 0)[0]);
  });
});

describe('stored epochs written outside warmroute, and announcements anyone can publish', () => {
  function sharedPrefix(label: string): string {
    const prefix = uniquePrefix(label);
    onTestFinished(() => deleteByPrefix(SHARED_REDIS_URL, prefix));
    return prefix;
  }

  it('an empty stored epoch counts as missing: the bucket gets a new one and its keys resolve again', async () => {
    // Prepare: the epochs of a key's bucket and of a bound target's bucket set to ''.
    const prefix = sharedPrefix('epoch-empty');
    const redis = await inspector(SHARED_REDIS_URL);
    const keys = directoryKeys(prefix);
    expect(epochBucket('k')).not.toBe(epochBucket('ws'));
    await redis.set(keys.epoch('default', epochBucket('k')), '');
    await redis.set(keys.epoch('default', epochBucket('ws')), '');
    const directory = await open(SHARED_REDIS_URL, prefix);
    await directory.epochsLoaded();
    await redis.set(keys.epoch('default', epochBucket('ws')), '');

    // Act
    const resolved = await directory.resolve('k');
    await directory.bind('session', 'ws');
    const bound = await directory.resolve('session');

    // Assess
    expect(resolved.source).toBe('store');
    expect(bound).toMatchObject({ source: 'store', boundTo: 'ws' });
    for (const key of ['k', 'ws']) {
      const stored = await redis.get(keys.epoch('default', epochBucket(key)));
      expect(stored).not.toBe('');
      expect(directory.epochOf('default', key)).toBe(stored);
    }
    expect(directory.counters()).toMatchObject({ storeErrors: 0, degraded: false });
  });

  it('an epoch announced on the channel is adopted only when the store holds it', async () => {
    // Prepare: a replica that caches its keys.
    const prefix = sharedPrefix('epoch-forged');
    const redis = await inspector(SHARED_REDIS_URL);
    const keys = directoryKeys(prefix);
    const directory = await openRedisDirectory(SHARED_REDIS_URL, prefix);
    await directory.epochsLoaded();
    const first = await directory.resolve('victim');
    const real = directory.epochOf('default', 'victim');
    const bucket = epochBucket('victim');
    const announce = (epoch: string): Promise<number> =>
      redis.publish(
        keys.channel(bucket),
        JSON.stringify({ s: 'someone', o: 'epoch', n: 'default', b: bucket, e: epoch }),
      );

    // Act 1: a forged announcement.
    await announce('attacker-epoch');
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Assess 1: nothing adopted, L1 kept.
    expect(directory.epochOf('default', 'victim')).toBe(real);
    expect(await directory.resolve('victim')).toMatchObject({
      source: 'l1',
      tenantId: first.tenantId,
    });
    expect(directory.counters().epochChanges).toBe(0);

    // Act 2: the store's epoch really changed (as after a loss), then announced.
    await redis.set(keys.epoch('default', bucket), 'new-real-epoch');
    await announce('new-real-epoch');
    const deadline = Date.now() + 5_000;
    while (directory.epochOf('default', 'victim') === real && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    // Assess 2
    expect(directory.epochOf('default', 'victim')).toBe('new-real-epoch');
    expect(directory.counters().epochChanges).toBe(1);
  });
});
