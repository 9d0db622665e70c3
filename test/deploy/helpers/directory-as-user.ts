import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { expect } from 'vitest';
import { epochBucket } from '../../../src/directory/epoch-bucket.js';
import type { RedisDirectoryStore } from '../../../src/directory/redis-store.js';
import type { StoreEvent } from '../../../src/directory/store.js';
import { DIRECTORY_KEY_PREFIX, directoryKeys } from '../../../src/redis/keys.js';

/** The directory's Redis as one ACL user: how to run it and what the server refused it. */
export interface DirectoryAsUser {
  /** One gateway replica's store, connecting as the user. */
  make(): RedisDirectoryStore;
  /** Clears the record of refusals (ACL LOG RESET on every server). */
  resetRefusals(): Promise<void>;
  /** What was refused the user since the reset (aclRefusals on every server). */
  refusals(): Promise<string[]>;
  /** EXISTS, as a superuser. */
  exists(key: string): Promise<number>;
  /** Removes the namespace's keys, as a superuser. */
  cleanup(namespace: string): Promise<void>;
}

/** Polls `check` for up to 5 s (a loaded machine subscribes 1,024 channels slowly). */
async function waitFor(check: () => boolean): Promise<void> {
  for (let i = 0; i < 250 && !check(); i++) await new Promise((r) => setTimeout(r, 20));
}

/** Two distinct keys in distinct epoch buckets, so a binding crosses buckets (a follow-link step). */
function keysInTwoBuckets(): [string, string] {
  const first = 'blue';
  for (let i = 0; ; i++) {
    const other = `green-${String(i)}`;
    if (epochBucket(other) !== epochBucket(first)) return [first, other];
  }
}

/**
 * What one server refused `userName` (ACL LOG, read as a superuser): one
 * `reason object` line per refused command, key or channel. (Redis 7.0 has
 * no refusal counters in INFO.)
 */
export async function aclRefusals(root: Redis, userName: string): Promise<string[]> {
  const entries = (await root.call('ACL', 'LOG')) as unknown[][];
  return entries.flatMap((entry) => {
    const fields = new Map<unknown, unknown>();
    for (let i = 0; i + 1 < entry.length; i += 2) fields.set(entry[i], entry[i + 1]);
    return fields.get('username') === userName
      ? [`${String(fields.get('reason'))} ${String(fields.get('object'))}`]
      : [];
  });
}

/**
 * The gateway's directory as one ACL user: two replicas through every store
 * operation and every command the store sends: the epoch scripts (announced
 * on a bucket channel), resolve, rotate, a binding from one bucket to
 * another (bind lock SET NX PX, the target's chain walked with follow-link,
 * the write, the lock released by compare-and-delete), outcomes with a state
 * version (a script per delta, then a (S)PUBLISH of the versions), explain
 * and a bound resolve (follow-link), unbind, forget; the other replica must
 * hear each change on its bucket channel. Throws on the first thing that
 * does not work: the store swallows some failures (a lock it could not
 * release, a broadcast it could not send), so their effects are checked, and
 * so is every refusal the server logged, not only the calls' results.
 */
export async function exerciseDirectory(user: DirectoryAsUser): Promise<void> {
  const keys = directoryKeys(DIRECTORY_KEY_PREFIX);
  // A namespace per run: the epochs must be created (and announced) each time.
  const ns = `acl-${randomBytes(4).toString('hex')}`;
  const [blue, green] = keysInTwoBuckets();
  await user.resetRefusals();
  const a = user.make();
  const b = user.make();
  const events: StoreEvent[] = [];
  b.onEvent((e) => events.push(e));
  const invalidations = (): [string, string, boolean][] =>
    events
      .filter((e): e is Extract<StoreEvent, { type: 'invalidate' }> => e.type === 'invalidate')
      .map((e) => [e.op, e.key, e.remote]);
  try {
    await a.start();
    await b.start();
    await waitFor(() => a.pubsubUp() && b.pubsubUp());
    expect(a.unavailableReason()).toBeUndefined();
    expect([a.available(), b.available(), a.pubsubUp(), b.pubsubUp()]).toEqual([
      true,
      true,
      true,
      true,
    ]);
    const blueEpoch = await a.epoch(ns, epochBucket(blue), randomBytes(16).toString('hex'));
    const greenEpoch = await a.epoch(ns, epochBucket(green), randomBytes(16).toString('hex'));
    expect(await b.epoch(ns, epochBucket(blue), randomBytes(16).toString('hex'))).toBe(blueEpoch);
    await waitFor(() => events.filter((e) => e.type === 'epoch').length >= 2);
    expect(events.filter((e) => e.type === 'epoch')).toEqual(
      expect.arrayContaining([
        { type: 'epoch', namespace: ns, bucket: epochBucket(blue), epoch: blueEpoch },
        { type: 'epoch', namespace: ns, bucket: epochBucket(green), epoch: greenEpoch },
      ]),
    );
    const first = await a.resolve(ns, blueEpoch, blue, 'warm-counter');
    expect(first).toMatchObject({ created: true, chain: [] });
    const generation = await a.rotate(ns, blueEpoch, blue);
    expect(generation).toBe(first.generation + 1);
    await a.bind(ns, greenEpoch, green, blue);
    expect(await user.exists(keys.bindLock(ns))).toBe(0);
    const failed = await a.recordOutcomes([
      {
        namespace: ns,
        epoch: blueEpoch,
        key: blue,
        hit: 1,
        rehydrated: 0,
        fresh: 1,
        unknown: 0,
        envId: 'env-1',
        stateVersions: new Map([['warm-counter', 3]]),
        lastSeenMs: Date.now(),
      },
    ]);
    expect(failed).toEqual([]);
    const explained = await b.explain(ns, greenEpoch, green);
    expect(explained.binding).toBe(blue);
    expect(explained.chain).toEqual([{ key: blue, generation, epoch: blueEpoch }]);
    const bound = await b.resolve(ns, greenEpoch, green, 'warm-counter');
    expect(bound.chain).toEqual([{ key: blue, generation, epoch: blueEpoch }]);
    expect(bound.stateVersion).toBe(3);
    expect(await a.unbind(ns, greenEpoch, green)).toBe(true);
    expect(await a.forget(ns, blueEpoch, blue)).toBe(true);
    await waitFor(
      () => invalidations().length >= 4 && events.some((e) => e.type === 'state-versions'),
    );
    expect(invalidations()).toEqual(
      expect.arrayContaining([
        ['rotate', blue, true],
        ['bind', green, true],
        ['unbind', green, true],
        ['forget', blue, true],
      ]),
    );
    expect(events).toContainEqual({
      type: 'state-versions',
      updates: [[ns, blue, 'warm-counter', 3]],
    });
  } finally {
    await a.close();
    await b.close();
    await user.cleanup(ns);
  }
  // Nothing was refused, not even what the store or ioredis only log (CLIENT
  // SETNAME, which names the connections in CLIENT LIST for operators; QUIT
  // on close; the lock's release; a state-version broadcast).
  expect(await user.refusals()).toEqual([]);
}
