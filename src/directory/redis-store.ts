import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { WarmrouteError } from '../errors.js';
import { createCommandClient, createSubscriberClient, type RedisClient } from '../redis/client.js';
import type { PublishCommand, ScriptReply } from '../redis/commands.js';
import { directoryKeys, type DirectoryKeys } from '../redis/keys.js';
import { ReplyCode } from '../redis/reply-codes.js';
import { describeRedisTarget } from '../redis/describe-target.js';
import { redisErrorReason } from '../redis/error-reason.js';
import {
  checkScriptReply,
  isCommandErrorReply,
  replyInt,
  replyList,
  storeError,
} from '../redis/reply-errors.js';
import type { RedisTarget } from '../redis/target.js';
import { epochBucket, newEpoch } from './epoch-bucket.js';
import { isStateFunctionId } from './state-function.js';
import {
  MAX_CHAIN_DEPTH,
  type ChainLink,
  type DirectoryStore,
  type MutationOp,
  type OutcomeDelta,
  type StoreEvent,
  type StateVersionUpdate,
  type StoreResolution,
  type StoredKey,
  StoreBusyError,
} from './store.js';

/** Every option is required: the config schema is the only place that knows a default. */
export interface RedisStoreOptions {
  /** One server (`REDIS_URL`) or a cluster (`WARMROUTE_REDIS_CLUSTER_NODES`). */
  readonly target: RedisTarget;
  /**
   * AUTH password for every connection, over any in a standalone URL
   * (`WARMROUTE_REDIS_PASSWORD`). Optional, unlike the rest: absent is not a
   * default but "the URL's, if any".
   */
  readonly password?: string | undefined;
  /** Prefix of every key and channel (`DIRECTORY_KEY_PREFIX` in production; unique per test). */
  readonly keyPrefix: string;
  /** Per-command deadline on the request path (ms). */
  readonly commandTimeoutMs: number;
  /** How long start() waits for the first connection before going on degraded (ms). */
  readonly connectTimeoutMs: number;
  /** Upper bound of the reconnect backoff of both connections (ms). */
  readonly maxReconnectDelayMs: number;
  /** 0 = never expire. */
  readonly idleTtlSeconds: number;
  readonly clock: () => number;
  readonly logger: Logger;
  /** Identifies this replica in invalidation messages (its own are ignored). */
  readonly instanceId: string;
}

/** Invalidation message on a bucket's channel (JSON). */
type ChannelMessage =
  | { readonly s: string; readonly o: MutationOp; readonly n: string; readonly k: string }
  | {
      readonly s: string;
      readonly o: 'epoch';
      readonly n: string;
      /** The bucket whose epoch was created (the channel's own). */
      readonly b: number;
      readonly e: string;
    }
  | {
      readonly s: string;
      readonly o: 'sv';
      readonly u: readonly StateVersionUpdate[];
    };

// Upper bound on one state-version broadcast, so a huge flush does not make a huge message.
const MAX_SV_UPDATES_PER_MESSAGE = 500;
/** After a "pub/sub down" line, the next one waits at least this long (a flapping node). */
const PUBSUB_LOG_INTERVAL_MS = 30_000;

/**
 * The namespace bind lock's lease (ms). A bind holds it for 2 + d round trips
 * (d = the target's chain length), far below this; a holder that stalls
 * longer gives up before writing (#bindLocked), so the lease never lets two
 * binds' checks and writes interleave.
 */
const BIND_LOCK_LEASE_MS = 5000;
/**
 * How long a bind waits while another replica holds the lock before it is
 * refused (StoreBusyError: 503 with Retry-After, not a store failure).
 */
const BIND_LOCK_WAIT_MS = 2000;
/**
 * Pause between attempts to take a lock another replica holds: short (a bind
 * holds it for a few round trips), jittered so that waiting replicas do not
 * poll in step.
 */
const BIND_LOCK_POLL_MIN_MS = 2;
const BIND_LOCK_POLL_MAX_MS = 10;
/** Time kept in hand: the write is not sent once less than this is left of the lease. */
const BIND_LOCK_MARGIN_MS = 1000;

const lockPollPause = (): number =>
  BIND_LOCK_POLL_MIN_MS + Math.random() * (BIND_LOCK_POLL_MAX_MS - BIND_LOCK_POLL_MIN_MS);

/** A bind waiting for its turn under its namespace's lock (RedisDirectoryStore#bind). */
interface QueuedBind {
  readonly epoch: string;
  readonly key: string;
  readonly target: string;
  /** Date.now() after which it stops waiting for a lock another replica holds. */
  readonly giveUpAt: number;
  readonly resolve: () => void;
  readonly reject: (err: unknown) => void;
}

function isMutationOp(value: unknown): value is MutationOp {
  return value === 'rotate' || value === 'bind' || value === 'unbind' || value === 'forget';
}

/**
 * A channel message, or undefined when it is not one this version
 * understands (skipped: a malformed or foreign message must never throw in
 * the subscriber). `bucket` is the bucket of the channel it came on: an
 * epoch announcement must name that bucket.
 */
export function parseMessage(raw: string, bucket: number): ChannelMessage | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const msg = parsed as Record<string, unknown>;
  if (typeof msg['s'] !== 'string') return undefined;
  if (isMutationOp(msg['o']) && typeof msg['n'] === 'string' && typeof msg['k'] === 'string') {
    return { s: msg['s'], o: msg['o'], n: msg['n'], k: msg['k'] };
  }
  if (
    msg['o'] === 'epoch' &&
    typeof msg['n'] === 'string' &&
    typeof msg['e'] === 'string' &&
    msg['e'] !== '' &&
    Number.isInteger(msg['b']) &&
    msg['b'] === bucket
  ) {
    return { s: msg['s'], o: 'epoch', n: msg['n'], b: bucket, e: msg['e'] };
  }
  if (msg['o'] === 'sv' && Array.isArray(msg['u'])) {
    // Per-function updates only: a replica from before versions were per
    // function sends [namespace, key, version], which says nothing about
    // which function's state it was, so it is skipped.
    const updates = (msg['u'] as unknown[]).filter(
      (u): u is [string, string, string, number] =>
        Array.isArray(u) &&
        u.length === 4 &&
        typeof u[0] === 'string' &&
        typeof u[1] === 'string' &&
        typeof u[2] === 'string' &&
        isStateFunctionId(u[2]) &&
        // A version is a positive safe integer (what recordOutcome accepts):
        // 1e400 parses to Infinity and must not raise a cached version.
        Number.isSafeInteger(u[3]) &&
        (u[3] as number) > 0,
    );
    return { s: msg['s'], o: 'sv', u: updates };
  }
  return undefined;
}

function errorMessage(err: unknown): string {
  return redisErrorReason(err);
}

const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** One link as follow-link-2.lua reads it. */
interface WalkedLink extends ChainLink {
  /** The key the link is bound to ('' = none). */
  readonly binding: string;
  /** The link's version of the function asked for (0 = none). */
  readonly stateVersion: number;
}

interface Walk {
  readonly links: readonly WalkedLink[];
  /** The key the chain goes on to after MAX_CHAIN_DEPTH links ('' when it ends within them). */
  readonly rest: string;
}

function chainOf(links: readonly WalkedLink[]): ChainLink[] {
  return links.map(({ key, generation, epoch }) => ({ key, generation, epoch }));
}

/**
 * The Redis store, on layout v3 (src/redis/keys.ts): every Lua script
 * touches one key's record and its bucket's epoch, one cluster slot, so the
 * same scripts run on one server and on a Redis Cluster. Operations that span
 * keys (a binding chain) take one round trip per link. A dedicated
 * subscriber listens on every bucket's channel (SSUBSCRIBE on a cluster), and
 * the fail-fast clients come from ../redis/client.ts. Every connection-level
 * failure surfaces as WR_ERR_STORE_UNAVAILABLE; the directory decides what
 * to do.
 *
 * Round trips per operation (L1 miss; d = links followed):
 *   epoch 1; resolve 1 unbound, 1 + d bound; explain 1 + d; bind 3 + d
 *   (lock, d-link walk of the target, write, unlock); rotate, unbind,
 *   forget 1; recordOutcomes one script per delta plus one publish per 500
 *   state versions per bucket, all sent concurrently (auto-pipelined into
 *   one write on one server; on a cluster, sent one by one to their nodes).
 */
export class RedisDirectoryStore implements DirectoryStore {
  readonly kind = 'redis';
  readonly keys: DirectoryKeys;
  readonly #client: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #options: RedisStoreOptions;
  readonly #cluster: boolean;
  readonly #publish: PublishCommand;
  /** Channel name → its bucket (messages on anything else are ignored). */
  readonly #bucketOfChannel: ReadonlyMap<string, number>;
  readonly #listeners: ((event: StoreEvent) => void)[] = [];
  /** Binds waiting for (or running under) each namespace's bind lock, in call order. */
  readonly #bindQueues = new Map<string, QueuedBind[]>();
  #commandsUp = false;
  #pubsubUp = false;
  #pubsubEverUp = false;
  /** Cluster: every SSUBSCRIBE of start() has been answered once. */
  #subscribedAll = false;
  /** Cluster: a subscriber failed to (re)connect since pub/sub went down. */
  #subscriberFailed = false;
  /** Pub/sub went down at least once (so coming up again means messages may have been lost). */
  #pubsubWasDown = false;
  #lastError: string | undefined;
  /** The last pub/sub line logged said "down" (#logPubsub). */
  #pubsubLoggedDown = false;
  #pubsubDownLoggedAtMs = Number.NEGATIVE_INFINITY;
  /** Down/up flaps not logged since the last pub/sub line. */
  #pubsubFlaps = 0;
  #pubsubLogTimer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.keys = directoryKeys(options.keyPrefix);
    this.#cluster = options.target.mode === 'cluster';
    this.#publish = this.#cluster ? 'SPUBLISH' : 'PUBLISH';
    this.#bucketOfChannel = new Map(this.keys.channels.map((channel, bucket) => [channel, bucket]));
    this.#client = createCommandClient({
      target: options.target,
      password: options.password,
      connectionName: 'warmroute-directory',
      commandTimeoutMs: options.commandTimeoutMs,
      maxReconnectDelayMs: options.maxReconnectDelayMs,
    });
    this.#subscriber = createSubscriberClient({
      target: options.target,
      password: options.password,
      connectionName: 'warmroute-directory-sub',
      maxReconnectDelayMs: options.maxReconnectDelayMs,
    });
    this.#wire();
  }

  /**
   * The settings it runs with, read-only (test/integration/config-single-source.test.ts
   * compares them with the config); the logger and clock are not settings,
   * and passwords are left out so that printing the settings cannot leak them.
   */
  get settings(): Readonly<Omit<RedisStoreOptions, 'logger' | 'clock' | 'password'>> {
    const o = this.#options;
    return {
      target: redactTarget(o.target),
      keyPrefix: o.keyPrefix,
      commandTimeoutMs: o.commandTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      maxReconnectDelayMs: o.maxReconnectDelayMs,
      idleTtlSeconds: o.idleTtlSeconds,
      instanceId: o.instanceId,
    };
  }

  /** The command connection (tests and benchmarks inspect the server through it). */
  get client(): RedisClient {
    return this.#client;
  }

  async start(): Promise<void> {
    const timeoutMs = this.#options.connectTimeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        resolve('timeout');
      }, timeoutMs);
    });
    // connect() rejects on a failed first attempt, but ioredis keeps reconnecting by its retry
    // strategy, and the queued (S)SUBSCRIBE goes out once the subscriber connects.
    const connected = Promise.allSettled([
      this.#client.connect(),
      this.#subscriber.connect().then(() => this.#subscribeAll()),
    ]);
    const outcome = await Promise.race([connected, deadline]);
    clearTimeout(timer);
    if (
      outcome === 'timeout' ||
      outcome.some((r) => r.status === 'rejected') ||
      !this.#commandsUp
    ) {
      // Say why: a wrong password (WRONGPASS, NOAUTH) must not read like a Redis
      // that is down. The message only: ioredis errors carry the AUTH command's
      // arguments (the password) in err.command.args.
      const rejected = outcome === 'timeout' ? [] : outcome.filter((r) => r.status === 'rejected');
      const reason =
        this.#lastError ?? rejected.map((r) => errorMessage(r.reason)).find((m) => m !== '');
      this.#options.logger.warn(
        {
          target: describeRedisTarget(this.#options.target),
          ...(reason === undefined ? {} : { reason }),
        },
        `directory: Redis is not reachable at start${reason === undefined ? '' : ` (${reason})`}; resolving by derivation until it is`,
      );
    }
  }

  /** Standalone: one SUBSCRIBE naming every bucket channel. Cluster: one SSUBSCRIBE per channel (each its own slot; ioredis routes it to the node owning it). */
  async #subscribeAll(): Promise<void> {
    const channels = this.keys.channels;
    if (!this.#cluster) {
      await this.#subscriber.subscribe(...channels);
      return;
    }
    await Promise.all(channels.map((channel) => this.#subscriber.ssubscribe(channel)));
    this.#subscribedAll = true;
    this.#pubsubEverUp = true;
    this.#setPubsub(true);
  }

  /** Ready to take commands. On a cluster, 'ready' means the slot map is known; a shard that is down still fails its own commands. */
  available(): boolean {
    return !this.#closed && this.#client.status === 'ready';
  }

  unavailableReason(): string | undefined {
    return this.available() ? undefined : this.#lastError;
  }

  pubsubUp(): boolean {
    return this.#pubsubUp;
  }

  async epoch(namespace: string, bucket: number, candidate: string): Promise<string> {
    const reply = await this.#run('ensure-epoch', () =>
      this.#client.wrEnsureEpoch(
        this.keys.epoch(namespace, bucket),
        candidate,
        this.#publish,
        this.keys.channel(bucket),
        this.#announcement(namespace, bucket, candidate),
      ),
    );
    const epoch = reply[1];
    if (typeof epoch !== 'string' || epoch === '') {
      throw new WarmrouteError('WR_ERR_INTERNAL', [], {
        cause: new Error('ensure-epoch: malformed reply'),
      });
    }
    return epoch;
  }

  async resolve(
    namespace: string,
    epoch: string,
    key: string,
    functionId: string,
  ): Promise<StoreResolution> {
    // Validated again here: the name becomes part of a hash field's name.
    const fn = isStateFunctionId(functionId) ? functionId : '';
    const names = this.keys.keyNames(namespace, key);
    const reply = await this.#run('resolve', () =>
      this.#client.wrResolveKey(
        names.record,
        names.epoch,
        this.#options.clock(),
        this.#options.idleTtlSeconds,
        epoch,
        fn,
      ),
    );
    const ownStateVersion = replyInt(reply, 4);
    const binding = replyString(reply, 3);
    // Resolve has no binding failure: bind rejects cycles and chains deeper
    // than MAX_CHAIN_DEPTH, so a longer chain (only reachable when a target
    // gained its own binding later) is cut there instead of failing the request.
    const { links } =
      binding === ''
        ? { links: [] }
        : await this.#walk(namespace, binding, this.#options.idleTtlSeconds, fn);
    return {
      created: replyInt(reply, 1) === 1,
      generation: replyInt(reply, 2),
      // A bound key uses its chain end's state (outcomes are recorded under it).
      stateVersion: links.at(-1)?.stateVersion ?? ownStateVersion,
      chain: chainOf(links),
      ownStateVersion,
    };
  }

  async rotate(namespace: string, epoch: string, key: string): Promise<number> {
    const names = this.keys.keyNames(namespace, key);
    const reply = await this.#run('rotate', () =>
      this.#client.wrRotateKey(
        names.record,
        names.epoch,
        this.#options.clock(),
        this.#options.idleTtlSeconds,
        names.channel,
        this.#message('rotate', namespace, key),
        epoch,
        this.#publish,
      ),
    );
    return replyInt(reply, 1);
  }

  /**
   * Under the namespace's bind lock: walk the target's chain, check it (the
   * same checks, codes and messages as the memory store), write the key's
   * record. The lock stands in for the atomic one-script check of layout v2:
   * the chain spans slots, and without it two concurrent binds (a → b on one
   * replica, b → a on another) could both pass their checks and build a cycle.
   */
  bind(namespace: string, epoch: string, key: string, target: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const queued: QueuedBind = {
        epoch,
        key,
        target,
        giveUpAt: Date.now() + BIND_LOCK_WAIT_MS,
        resolve,
        reject,
      };
      const queue = this.#bindQueues.get(namespace);
      if (queue !== undefined) {
        queue.push(queued);
        return;
      }
      this.#bindQueues.set(namespace, [queued]);
      void this.#runBinds(namespace);
    });
  }

  /**
   * Run a namespace's queued binds, one at a time, until none is left. This
   * replica never competes with itself for the lock (a hundred concurrent
   * binds used to poll against each other and most timed out): one lock
   * taken serves every bind queued at that moment (a batch), then the lock
   * is released, and before the next batch the replica pauses as long as a
   * waiting replica's poll, so that one busy replica does not keep the lock
   * from the others.
   */
  async #runBinds(namespace: string): Promise<void> {
    const queue = this.#bindQueues.get(namespace);
    if (queue === undefined) return;
    const lock = this.keys.bindLock(namespace);
    try {
      while (queue.length > 0) {
        const token = randomBytes(16).toString('hex');
        const leaseEnds = await this.#lock(lock, token, queue);
        if (leaseEnds === undefined) continue;
        // Answered only once the lock is released: a caller that saw its bind
        // succeed must find the namespace free for its next one (and an ACL
        // or a test checking the lock key finds it gone).
        const answers: (() => void)[] = [];
        try {
          // The binds queued now; later ones wait for the next batch.
          for (let left = queue.length; left > 0 && queue.length > 0; left--) {
            if (Date.now() > leaseEnds - BIND_LOCK_MARGIN_MS) break;
            const next = queue.shift();
            if (next === undefined) break;
            try {
              await this.#bindLocked(namespace, next.epoch, next.key, next.target, leaseEnds);
              answers.push(() => {
                next.resolve();
              });
            } catch (err) {
              answers.push(() => {
                next.reject(err);
              });
            }
          }
        } finally {
          await this.#unlock(lock, token);
          for (const answer of answers) answer();
        }
        if (queue.length > 0) await sleep(BIND_LOCK_POLL_MAX_MS);
      }
    } catch (err) {
      // Taking the lock failed (the store, not contention): every waiting bind would fail alike.
      for (const waiting of queue.splice(0)) waiting.reject(err);
    } finally {
      this.#bindQueues.delete(namespace);
    }
  }

  async #bindLocked(
    namespace: string,
    epoch: string,
    key: string,
    target: string,
    leaseEnds: number,
  ): Promise<void> {
    if (target === key) throw storeError(ReplyCode.SELF_BINDING);
    // The key's new chain is the target and the target's own chain: one hop
    // per link (key -> target is the first), so at most MAX_CHAIN_DEPTH links.
    const { links, rest } = await this.#walk(namespace, target, 0, '');
    if (links.some((link) => link.binding === key)) throw storeError(ReplyCode.CYCLE);
    if (rest !== '') throw storeError(ReplyCode.TOO_DEEP);
    if (Date.now() > leaseEnds - BIND_LOCK_MARGIN_MS) {
      // The checks may be stale: another bind may hold the lock by now.
      throw unavailable('the bind lock lease ran out before the write');
    }
    const names = this.keys.keyNames(namespace, key);
    await this.#run('bind', () =>
      this.#client.wrBindKey(
        names.record,
        names.epoch,
        target,
        this.#options.clock(),
        this.#options.idleTtlSeconds,
        this.#publish,
        names.channel,
        this.#message('bind', namespace, key),
        epoch,
      ),
    );
  }

  /**
   * Take `lock` (SET NX PX) for the binds in `queue`, polling while another
   * replica holds it; when the lease ends (Date.now() ms). A queued bind
   * whose wait (BIND_LOCK_WAIT_MS) runs out meanwhile is refused with
   * StoreBusyError; undefined when that left none. A failed SET throws.
   */
  async #lock(lock: string, token: string, queue: QueuedBind[]): Promise<number | undefined> {
    for (;;) {
      const started = Date.now();
      const taken = await this.#call(() =>
        this.#client.set(lock, token, 'PX', BIND_LOCK_LEASE_MS, 'NX'),
      );
      if (taken === 'OK') return started + BIND_LOCK_LEASE_MS;
      const pause = lockPollPause();
      const now = Date.now();
      for (let i = queue.length - 1; i >= 0; i--) {
        const waiting = queue[i];
        if (waiting === undefined || waiting.giveUpAt > now + pause) continue;
        queue.splice(i, 1);
        waiting.reject(
          new StoreBusyError('another bind in the namespace holds the bind lock; try again'),
        );
      }
      if (queue.length === 0) return undefined;
      await sleep(pause);
    }
  }

  /** Release by compare-and-delete; a failure only leaves the lock to expire with its lease. */
  async #unlock(lock: string, token: string): Promise<void> {
    try {
      await this.#call(() => this.#client.wrReleaseLock(lock, token));
    } catch (err) {
      this.#options.logger.warn(
        { reason: errorMessage(err) },
        'directory: could not release the bind lock; it expires with its lease',
      );
    }
  }

  async unbind(namespace: string, epoch: string, key: string): Promise<boolean> {
    const names = this.keys.keyNames(namespace, key);
    const reply = await this.#run('unbind', () =>
      this.#client.wrUnbindKey(
        names.record,
        names.epoch,
        names.channel,
        this.#message('unbind', namespace, key),
        epoch,
        this.#publish,
      ),
    );
    return replyInt(reply, 1) === 1;
  }

  async forget(namespace: string, epoch: string, key: string): Promise<boolean> {
    const names = this.keys.keyNames(namespace, key);
    const reply = await this.#run('forget', () =>
      this.#client.wrForgetKey(
        names.record,
        names.epoch,
        names.channel,
        this.#message('forget', namespace, key),
        epoch,
        this.#options.idleTtlSeconds,
        this.#publish,
      ),
    );
    return replyInt(reply, 1) === 1;
  }

  /**
   * One script per delta, all sent at once: on one server the client
   * auto-pipelines them into one write; on a cluster each goes to its node
   * on its own (one pipeline could not span nodes, and src/redis/client.ts
   * says why the cluster client does not auto-pipeline). Then the written deltas' state versions are
   * broadcast, grouped by the bucket of each key (its channel).
   */
  async recordOutcomes(batch: readonly OutcomeDelta[]): Promise<readonly OutcomeDelta[]> {
    if (batch.length === 0) return [];
    if (!this.available()) return batch;
    const results = await Promise.allSettled(batch.map((d) => this.#recordOutcome(d)));
    const failed: OutcomeDelta[] = [];
    const versioned = new Map<number, StateVersionUpdate[]>();
    let rejected = 0;
    let rejectedReason = '';
    batch.forEach((d, i) => {
      const result = results[i];
      if (result?.status !== 'fulfilled') {
        if (isCommandErrorReply(result?.reason)) {
          // The key's record is corrupt (e.g. a counter that is not an
          // integer): retrying repeats the error and would hold every later
          // flush back, so the delta is dropped.
          rejected += 1;
          rejectedReason = errorMessage(result?.reason);
          return;
        }
        this.#noteError(result?.reason);
        failed.push(d);
        return;
      }
      // A delta answered with the epoch-mismatch code belongs to data Redis no
      // longer holds: it is dropped, not retried (it would land in the new epoch).
      if (replyInt(result.value, 0) !== ReplyCode.OK) return;
      let updates: StateVersionUpdate[] | undefined;
      for (const [functionId, version] of d.stateVersions) {
        if (!isStateFunctionId(functionId) || version <= 0) continue;
        if (updates === undefined) {
          const bucket = epochBucket(d.key);
          updates = versioned.get(bucket) ?? [];
          versioned.set(bucket, updates);
        }
        updates.push([d.namespace, d.key, functionId, version]);
      }
    });
    const publishes: Promise<unknown>[] = [];
    for (const [bucket, updates] of versioned) {
      for (let i = 0; i < updates.length; i += MAX_SV_UPDATES_PER_MESSAGE) {
        const message: ChannelMessage = {
          s: this.#options.instanceId,
          o: 'sv',
          u: updates.slice(i, i + MAX_SV_UPDATES_PER_MESSAGE),
        };
        const channel = this.keys.channel(bucket);
        const text = JSON.stringify(message);
        publishes.push(
          this.#cluster
            ? this.#client.spublish(channel, text)
            : this.#client.publish(channel, text),
        );
      }
    }
    if (rejected > 0) {
      this.#options.logger.error(
        { deltas: rejected, reason: rejectedReason },
        'directory: Redis refused outcome counts of corrupt key records; they are dropped',
      );
    }
    // A lost broadcast only leaves other replicas' cached versions low until their L1 entries expire.
    for (const result of await Promise.allSettled(publishes)) {
      if (result.status === 'rejected') this.#noteError(result.reason);
    }
    return failed;
  }

  #recordOutcome(d: OutcomeDelta): Promise<ScriptReply> {
    const versions: (string | number)[] = [];
    for (const [functionId, version] of d.stateVersions) {
      if (isStateFunctionId(functionId) && version > 0) versions.push(functionId, version);
    }
    const names = this.keys.keyNames(d.namespace, d.key);
    return this.#client.wrRecordOutcome(
      names.record,
      names.epoch,
      d.lastSeenMs,
      this.#options.idleTtlSeconds,
      d.hit,
      d.rehydrated,
      d.fresh,
      d.unknown,
      d.envId,
      0,
      d.epoch,
      ...versions,
    );
  }

  async explain(namespace: string, epoch: string, key: string): Promise<StoredKey> {
    const names = this.keys.keyNames(namespace, key);
    const reply = await this.#run('explain', () =>
      this.#client.wrExplainKey(names.record, names.epoch, epoch),
    );
    const flat = replyList(reply, 1);
    const fields = new Map<string, string>();
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const name = flat[i];
      const value = flat[i + 1];
      if (typeof name === 'string' && typeof value === 'string') fields.set(name, value);
    }
    const int = (name: string): number => {
      const value = Number(fields.get(name) ?? '0');
      return Number.isFinite(value) ? value : 0;
    };
    const ttl = replyInt(reply, 2);
    const binding = fields.get('bind');
    const env = fields.get('env');
    const stateVersions = new Map<string, number>();
    for (const [name, value] of fields) {
      // `sv:<function>`; a bare `sv` predates per-function versions and is not reported.
      if (!name.startsWith('sv:')) continue;
      const version = Number(value);
      if (Number.isSafeInteger(version) && version > 0) stateVersions.set(name.slice(3), version);
    }
    // Read-only walk: explain must not extend any link's idle TTL.
    const { links } =
      binding === undefined || binding === ''
        ? { links: [] }
        : await this.#walk(namespace, binding, 0, '');
    return {
      exists: fields.size > 0,
      generation: int('gen'),
      chain: chainOf(links),
      stateVersions: Object.fromEntries(stateVersions),
      counts: { hit: int('hit'), rehydrated: int('reh'), fresh: int('fresh'), unknown: int('unk') },
      ...(binding === undefined ? {} : { binding }),
      ...(env === undefined ? {} : { lastEnvId: env }),
      ...(fields.has('created') ? { createdMs: int('created') } : {}),
      ...(fields.has('seen') ? { lastSeenMs: int('seen') } : {}),
      ...(ttl >= 0 ? { expiresInSeconds: ttl } : {}),
    };
  }

  onEvent(listener: (event: StoreEvent) => void): void {
    this.#listeners.push(listener);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#pubsubLogTimer);
    await Promise.allSettled([quit(this.#client), quit(this.#subscriber)]);
  }

  /**
   * Follow a binding chain from `first`, one follow-link call (one round
   * trip, on the link's own slot) per link, up to MAX_CHAIN_DEPTH links.
   * `slideTtlSeconds` 0 leaves the links' TTLs alone.
   */
  async #walk(
    namespace: string,
    first: string,
    slideTtlSeconds: number,
    functionId: string,
  ): Promise<Walk> {
    const links: WalkedLink[] = [];
    let cur = first;
    while (cur !== '' && links.length < MAX_CHAIN_DEPTH) {
      const key = cur;
      const names = this.keys.keyNames(namespace, key);
      const candidate = newEpoch();
      const reply = await this.#run('follow-link', () =>
        this.#client.wrFollowLink(
          names.record,
          names.epoch,
          candidate,
          slideTtlSeconds,
          functionId,
          this.#publish,
          names.channel,
          this.#announcement(namespace, names.bucket, candidate),
        ),
      );
      const epoch = replyString(reply, 1);
      if (epoch === '') {
        throw new WarmrouteError('WR_ERR_INTERNAL', [], {
          cause: new Error('follow-link: malformed reply'),
        });
      }
      cur = replyString(reply, 3);
      links.push({
        key,
        generation: replyInt(reply, 2),
        epoch,
        binding: cur,
        stateVersion: replyInt(reply, 4),
      });
    }
    return { links, rest: cur };
  }

  #message(op: MutationOp, namespace: string, key: string): string {
    const message: ChannelMessage = { s: this.#options.instanceId, o: op, n: namespace, k: key };
    return JSON.stringify(message);
  }

  #announcement(namespace: string, bucket: number, candidate: string): string {
    const message: ChannelMessage = {
      s: this.#options.instanceId,
      o: 'epoch',
      n: namespace,
      b: bucket,
      e: candidate,
    };
    return JSON.stringify(message);
  }

  /** A script call, its reply checked (reply-errors.ts). */
  async #run(script: string, call: () => Promise<ScriptReply>): Promise<ScriptReply> {
    return checkScriptReply(script, await this.#call(call));
  }

  /** A command, failing fast with WR_ERR_STORE_UNAVAILABLE when not connected or when it fails. */
  async #call<T>(call: () => Promise<T>): Promise<T> {
    if (!this.available()) throw unavailable(this.#lastError ?? 'Redis is not connected');
    try {
      return await call();
    } catch (err) {
      throw this.#failure(err);
    }
  }

  /**
   * The error a failed command surfaces as. A server-side error reply to the
   * command itself (a script failing on a record corrupted outside warmroute)
   * is WR_ERR_INTERNAL: Redis is up, and retrying repeats it, so it is not
   * noted as the store's failure. Anything else (connection, timeout,
   * CLUSTERDOWN, LOADING, …) is WR_ERR_STORE_UNAVAILABLE.
   */
  #failure(err: unknown): WarmrouteError {
    if (isCommandErrorReply(err)) return new WarmrouteError('WR_ERR_INTERNAL', [], { cause: err });
    this.#noteError(err);
    // The Redis error's text is the message's reason; no `cause`: pino's err
    // serializer appends a cause's message, so the log would say it twice
    // ("…: Connection is closed.: Connection is closed."), and its stack is
    // ioredis internals.
    return unavailable(errorMessage(err));
  }

  #noteError(err: unknown): void {
    this.#lastError = errorMessage(err);
  }

  #emit(event: StoreEvent): void {
    for (const listener of this.#listeners) listener(event);
  }

  #emitStatus(): void {
    const event: StoreEvent = {
      type: 'status',
      commands: this.#commandsUp,
      pubsub: this.#pubsubUp,
      ...(this.#lastError === undefined ? {} : { reason: this.#lastError }),
    };
    this.#emit(event);
  }

  #setCommands(up: boolean): void {
    if (this.#commandsUp === up) return;
    this.#commandsUp = up;
    const logger = this.#options.logger;
    if (up) {
      this.#lastError = undefined;
      logger.info('directory: Redis connection ready');
    } else if (!this.#closed) {
      logger.warn({ reason: this.#lastError }, 'directory: Redis connection lost');
    }
    this.#emitStatus();
  }

  /** Pub/sub state; coming back up after it was up emits 'resync' (invalidations may have been lost meanwhile). */
  #setPubsub(up: boolean): void {
    if (this.#pubsubUp === up) return;
    this.#pubsubUp = up;
    const resync = up && this.#pubsubEverUp && this.#pubsubWasDown;
    if (resync) this.#emit({ type: 'resync' });
    if (!up) this.#pubsubWasDown = true;
    if (!up || resync) this.#logPubsub();
    this.#emitStatus();
  }

  /**
   * One warning when pub/sub goes down (with the reason) and one line when it
   * is back. A node flapping fast would repeat the pair: after a down line,
   * the next one waits PUBSUB_LOG_INTERVAL_MS, the flaps in between are
   * counted in it, and a pub/sub still down at the end of the wait is logged
   * then (so the last line never says "back" while it is down).
   */
  #logPubsub(): void {
    if (this.#closed) return;
    const logger = this.#options.logger;
    if (this.#pubsubUp) {
      if (!this.#pubsubLoggedDown) {
        this.#pubsubFlaps += 1;
        return;
      }
      this.#pubsubLoggedDown = false;
      logger.info(
        "directory: Redis pub/sub subscribed again; L1 dropped (resync): other replicas' changes sent while it was down may have been missed",
      );
      return;
    }
    const now = this.#options.clock();
    const next = this.#pubsubDownLoggedAtMs + PUBSUB_LOG_INTERVAL_MS;
    if (now < next) {
      this.#pubsubLogTimer ??= setTimeout(() => {
        this.#pubsubLogTimer = undefined;
        if (!this.#pubsubUp && !this.#pubsubLoggedDown) this.#logPubsub();
      }, next - now).unref();
      return;
    }
    this.#pubsubDownLoggedAtMs = now;
    this.#pubsubLoggedDown = true;
    const flaps = this.#pubsubFlaps;
    this.#pubsubFlaps = 0;
    logger.warn(
      {
        reason: this.#lastError ?? 'connection closed',
        ...(flaps > 0 ? { flapsNotLogged: flaps } : {}),
      },
      `directory: Redis pub/sub down (${this.#lastError ?? 'connection closed'}): other replicas' changes reach this one within the L1 TTL`,
    );
  }

  #wire(): void {
    const client = this.#client;
    client.on('ready', () => {
      this.#setCommands(true);
    });
    // A standalone connection closes; a cluster goes 'close' when it lost every node, 'end' when it gives up.
    for (const event of ['close', 'end']) {
      client.on(event, () => {
        this.#setCommands(false);
      });
    }
    // Logged once per state change above; every reconnect attempt would repeat it.
    client.on('error', (err: Error) => {
      this.#noteError(err);
    });
    client.on('node error', (err: Error) => {
      this.#noteError(err);
    });
    if (this.#cluster) this.#wireClusterSubscriber(this.#subscriber);
    else this.#wireSubscriber(this.#subscriber);
  }

  #wireSubscriber(subscriber: RedisClient): void {
    subscriber.on('ready', () => {
      // ioredis re-subscribes every channel after a reconnect.
      this.#pubsubEverUp = true;
      this.#setPubsub(true);
    });
    subscriber.on('close', () => {
      this.#setPubsub(false);
    });
    subscriber.on('error', (err: Error) => {
      this.#noteError(err);
    });
    subscriber.on('message', (channel: string, raw: string) => {
      this.#onMessage(channel, raw);
    });
  }

  /**
   * Sharded subscribers (ioredis 6 `shardedSubscribers`: one connection per
   * master, which does not reconnect itself): a subscriber connection that
   * ends emits '-node' (its connection name starts `ioredis-cluster(ssubscriber)`),
   * the cluster refreshes its slot map and replaces it, re-subscribes its
   * channels and emits 'subscribersReady'. A replacement that failed to
   * connect emits 'error' first, and is retried by a later refresh, so a
   * 'subscribersReady' after an 'error' does not count as recovered.
   */
  #wireClusterSubscriber(subscriber: RedisClient): void {
    const down = (): void => {
      this.#subscriberFailed = false;
      this.#setPubsub(false);
    };
    subscriber.on('-node', (node: Redis | null) => {
      const name = node?.options.connectionName ?? '';
      if (name.startsWith('ioredis-cluster(ssubscriber)')) down();
    });
    for (const event of ['close', 'end']) subscriber.on(event, down);
    subscriber.on('error', (err: Error) => {
      this.#noteError(err);
      if (!this.#pubsubUp) this.#subscriberFailed = true;
    });
    subscriber.on('subscribersReady', () => {
      if (!this.#subscribedAll || this.#pubsubUp) return;
      if (this.#subscriberFailed) {
        this.#subscriberFailed = false;
        return;
      }
      this.#setPubsub(true);
    });
    subscriber.on('smessage', (channel: string, raw: string) => {
      this.#onMessage(channel, raw);
    });
  }

  #onMessage(channel: string, raw: string): void {
    const bucket = this.#bucketOfChannel.get(channel);
    if (bucket === undefined) return;
    const message = parseMessage(raw, bucket);
    // Own messages are skipped: the directory already invalidated its L1 when the mutation returned.
    if (message === undefined || message.s === this.#options.instanceId) return;
    if (message.o === 'sv') {
      this.#emit({ type: 'state-versions', updates: message.u });
    } else if (message.o === 'epoch') {
      this.#emit({ type: 'epoch', namespace: message.n, bucket: message.b, epoch: message.e });
    } else {
      this.#emit({
        type: 'invalidate',
        op: message.o,
        namespace: message.n,
        key: message.k,
        remote: true,
      });
    }
  }
}

function unavailable(reason: string): WarmrouteError {
  return new WarmrouteError('WR_ERR_STORE_UNAVAILABLE', [reason], { retryAfterSeconds: 1 });
}

/** A string element of a script reply ('' when absent or not a string). */
function replyString(reply: ScriptReply, index: number): string {
  const value = reply[index];
  return typeof value === 'string' ? value : '';
}

async function quit(client: RedisClient): Promise<void> {
  if (client.status === 'end') return;
  try {
    // QUIT only when connected; otherwise stop reconnecting at once.
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

/**
 * The target without secrets, for settings: a standalone URL redacted by
 * describeRedisTarget (the one redaction: userinfo password and `?password=`);
 * a cluster target holds none.
 */
function redactTarget(target: RedisTarget): RedisTarget {
  if (target.mode === 'cluster') return target;
  return { mode: 'standalone', url: describeRedisTarget(target) };
}
