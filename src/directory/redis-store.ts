import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { WarmrouteError } from '../errors.js';
import { createCommandClient, createSubscriberClient } from '../redis/client.js';
import type { ScriptReply } from '../redis/commands.js';
import { directoryKeys, type DirectoryKeys } from '../redis/keys.js';
import { checkScriptReply, replyInt, replyList } from '../redis/reply-errors.js';
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
} from './store.js';
import { isStateFunctionId } from './state-function.js';

/** Every option is required: the config schema is the only place that knows a default. */
export interface RedisStoreOptions {
  readonly url: string;
  /**
   * AUTH password for both connections, over any in `url`
   * (`WARMROUTE_REDIS_PASSWORD`). Optional, unlike the rest: absent is not a
   * default but "the URL's, if any".
   */
  readonly password?: string | undefined;
  /** Prefix of every key and of the channel (`DIRECTORY_KEY_PREFIX` in production; unique per test). */
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

/** Invalidation message on the channel (JSON). */
type ChannelMessage =
  | { readonly s: string; readonly o: MutationOp; readonly n: string; readonly k: string }
  | { readonly s: string; readonly o: 'epoch'; readonly n: string; readonly e: string }
  | {
      readonly s: string;
      readonly o: 'sv';
      readonly u: readonly StateVersionUpdate[];
    };

// Upper bound on one state-version broadcast, so a huge flush does not make a huge message.
const MAX_SV_UPDATES_PER_MESSAGE = 500;

function isMutationOp(value: unknown): value is MutationOp {
  return value === 'rotate' || value === 'bind' || value === 'unbind' || value === 'forget';
}

function parseMessage(raw: string): ChannelMessage | undefined {
  try {
    const parsed: unknown = JSON.parse(raw);
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
      msg['e'] !== ''
    ) {
      return { s: msg['s'], o: 'epoch', n: msg['n'], e: msg['e'] };
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
          typeof u[3] === 'number',
      );
      return { s: msg['s'], o: 'sv', u: updates };
    }
    return undefined;
  } catch {
    return undefined;
  }
}

function parseChain(flat: ScriptReply): ChainLink[] {
  const chain: ChainLink[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const key = flat[i];
    if (typeof key === 'string') chain.push({ key, generation: replyInt(flat, i + 1) });
  }
  return chain;
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * The Redis store: one Lua script per operation (one round trip each), a
 * dedicated subscriber connection for cross-replica invalidation, and the
 * fail-fast client from ../redis/client.ts. Every connection-level failure
 * surfaces as WR_ERR_STORE_UNAVAILABLE; the directory decides what to do.
 */
export class RedisDirectoryStore implements DirectoryStore {
  readonly kind = 'redis';
  readonly keys: DirectoryKeys;
  readonly #client: Redis;
  readonly #subscriber: Redis;
  readonly #options: RedisStoreOptions;
  readonly #listeners: ((event: StoreEvent) => void)[] = [];
  #commandsUp = false;
  #pubsubUp = false;
  #pubsubEverUp = false;
  #lastError: string | undefined;
  #closed = false;

  constructor(options: RedisStoreOptions) {
    this.#options = options;
    this.keys = directoryKeys(options.keyPrefix);
    this.#client = createCommandClient({
      url: options.url,
      password: options.password,
      connectionName: 'warmroute-directory',
      commandTimeoutMs: options.commandTimeoutMs,
      maxReconnectDelayMs: options.maxReconnectDelayMs,
    });
    this.#subscriber = createSubscriberClient({
      url: options.url,
      password: options.password,
      connectionName: 'warmroute-directory-sub',
      maxReconnectDelayMs: options.maxReconnectDelayMs,
    });
    this.#wire();
  }

  /**
   * The settings it runs with, read-only (test/integration/config-single-source.test.ts
   * compares them with the config); the logger and clock are not settings,
   * and the password is left out so that printing the settings cannot leak it.
   */
  get settings(): Readonly<Omit<RedisStoreOptions, 'logger' | 'clock' | 'password'>> {
    const o = this.#options;
    return {
      url: o.url,
      keyPrefix: o.keyPrefix,
      commandTimeoutMs: o.commandTimeoutMs,
      connectTimeoutMs: o.connectTimeoutMs,
      maxReconnectDelayMs: o.maxReconnectDelayMs,
      idleTtlSeconds: o.idleTtlSeconds,
      instanceId: o.instanceId,
    };
  }

  /** The command connection (tests and benchmarks inspect the server through it). */
  get client(): Redis {
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
    // connect() rejects on a failed first attempt, but ioredis keeps reconnecting by retryStrategy,
    // and the queued SUBSCRIBE goes out once the subscriber connects.
    const connected = Promise.allSettled([
      this.#client.connect(),
      this.#subscriber.connect().then(() => this.#subscriber.subscribe(this.keys.channel)),
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
        { url: redactUrl(this.#options.url), ...(reason === undefined ? {} : { reason }) },
        `directory: Redis is not reachable at start${reason === undefined ? '' : ` (${reason})`}; resolving by derivation until it is`,
      );
    }
  }

  available(): boolean {
    return !this.#closed && this.#client.status === 'ready';
  }

  unavailableReason(): string | undefined {
    return this.available() ? undefined : this.#lastError;
  }

  pubsubUp(): boolean {
    return this.#pubsubUp;
  }

  async epoch(namespace: string, candidate: string): Promise<string> {
    const reply = await this.#run('ensure-epoch', () =>
      this.#client.wrEnsureEpoch(
        this.keys.epoch(namespace),
        candidate,
        this.keys.channel,
        JSON.stringify({
          s: this.#options.instanceId,
          o: 'epoch',
          n: namespace,
          e: candidate,
        } satisfies ChannelMessage),
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
    const reply = await this.#run('resolve', () =>
      this.#client.wrResolveKey(
        this.keys.record(namespace, key),
        this.keys.epoch(namespace),
        this.keys.recordPrefix(namespace),
        this.#options.clock(),
        this.#options.idleTtlSeconds,
        MAX_CHAIN_DEPTH,
        epoch,
        fn,
      ),
    );
    return {
      created: replyInt(reply, 1) === 1,
      generation: replyInt(reply, 2),
      stateVersion: replyInt(reply, 3),
      chain: parseChain(replyList(reply, 4)),
      ownStateVersion: replyInt(reply, 5),
    };
  }

  async rotate(namespace: string, epoch: string, key: string): Promise<number> {
    const reply = await this.#run('rotate', () =>
      this.#client.wrRotateKey(
        this.keys.record(namespace, key),
        this.keys.epoch(namespace),
        this.#options.clock(),
        this.#options.idleTtlSeconds,
        this.keys.channel,
        this.#message('rotate', namespace, key),
        epoch,
      ),
    );
    return replyInt(reply, 1);
  }

  async bind(namespace: string, epoch: string, key: string, target: string): Promise<void> {
    await this.#run('bind', () =>
      this.#client.wrBindKey(
        this.keys.record(namespace, key),
        this.keys.epoch(namespace),
        this.keys.recordPrefix(namespace),
        key,
        target,
        MAX_CHAIN_DEPTH,
        this.#options.clock(),
        this.#options.idleTtlSeconds,
        this.keys.channel,
        this.#message('bind', namespace, key),
        epoch,
      ),
    );
  }

  async unbind(namespace: string, epoch: string, key: string): Promise<boolean> {
    const reply = await this.#run('unbind', () =>
      this.#client.wrUnbindKey(
        this.keys.record(namespace, key),
        this.keys.epoch(namespace),
        this.keys.channel,
        this.#message('unbind', namespace, key),
        epoch,
      ),
    );
    return replyInt(reply, 1) === 1;
  }

  async forget(namespace: string, epoch: string, key: string): Promise<boolean> {
    const reply = await this.#run('forget', () =>
      this.#client.wrForgetKey(
        this.keys.record(namespace, key),
        this.keys.epoch(namespace),
        this.keys.channel,
        this.#message('forget', namespace, key),
        epoch,
        this.#options.idleTtlSeconds,
      ),
    );
    return replyInt(reply, 1) === 1;
  }

  async recordOutcomes(batch: readonly OutcomeDelta[]): Promise<readonly OutcomeDelta[]> {
    if (batch.length === 0) return [];
    if (!this.available()) return batch;
    // One pipeline: the whole batch costs one round trip, off the request path.
    const pipeline = this.#client.pipeline();
    for (const d of batch) {
      const versions: (string | number)[] = [];
      for (const [functionId, version] of d.stateVersions) {
        if (isStateFunctionId(functionId) && version > 0) versions.push(functionId, version);
      }
      pipeline.wrRecordOutcome(
        this.keys.record(d.namespace, d.key),
        this.keys.epoch(d.namespace),
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
    const versioned: StateVersionUpdate[] = [];
    for (const d of batch) {
      for (const [functionId, version] of d.stateVersions) {
        if (isStateFunctionId(functionId) && version > 0)
          versioned.push([d.namespace, d.key, functionId, version]);
      }
    }
    for (let i = 0; i < versioned.length; i += MAX_SV_UPDATES_PER_MESSAGE) {
      const updates = versioned.slice(i, i + MAX_SV_UPDATES_PER_MESSAGE);
      const message: ChannelMessage = { s: this.#options.instanceId, o: 'sv', u: updates };
      pipeline.publish(this.keys.channel, JSON.stringify(message));
    }
    let results: [Error | null, unknown][] | null;
    try {
      results = await pipeline.exec();
    } catch (err) {
      this.#noteError(err);
      return batch;
    }
    if (results === null) return batch;
    const failed: OutcomeDelta[] = [];
    // A delta answered with the epoch-mismatch code belongs to data Redis no
    // longer holds: it is dropped, not retried (it would land in the new epoch).
    batch.forEach((delta, i) => {
      const error = results[i]?.[0];
      if (error !== null) {
        this.#noteError(error);
        failed.push(delta);
      }
    });
    return failed;
  }

  async explain(namespace: string, epoch: string, key: string): Promise<StoredKey> {
    const reply = await this.#run('explain', () =>
      this.#client.wrExplainKey(
        this.keys.record(namespace, key),
        this.keys.epoch(namespace),
        this.keys.recordPrefix(namespace),
        MAX_CHAIN_DEPTH,
        epoch,
      ),
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
    const ttl = replyInt(reply, 3);
    const binding = fields.get('bind');
    const env = fields.get('env');
    const stateVersions = new Map<string, number>();
    for (const [name, value] of fields) {
      // `sv:<function>`; a bare `sv` predates per-function versions and is not reported.
      if (!name.startsWith('sv:')) continue;
      const version = Number(value);
      if (Number.isSafeInteger(version) && version > 0) stateVersions.set(name.slice(3), version);
    }
    return {
      exists: fields.size > 0,
      generation: int('gen'),
      chain: parseChain(replyList(reply, 2)),
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
    await Promise.allSettled([quit(this.#client), quit(this.#subscriber)]);
  }

  #message(op: MutationOp, namespace: string, key: string): string {
    const message: ChannelMessage = { s: this.#options.instanceId, o: op, n: namespace, k: key };
    return JSON.stringify(message);
  }

  async #run(script: string, call: () => Promise<ScriptReply>): Promise<ScriptReply> {
    if (!this.available()) {
      throw new WarmrouteError(
        'WR_ERR_STORE_UNAVAILABLE',
        [this.#lastError ?? 'Redis is not connected'],
        {
          retryAfterSeconds: 1,
        },
      );
    }
    let reply: ScriptReply;
    try {
      reply = await call();
    } catch (err) {
      this.#noteError(err);
      throw new WarmrouteError('WR_ERR_STORE_UNAVAILABLE', [errorMessage(err)], {
        cause: err,
        retryAfterSeconds: 1,
      });
    }
    return checkScriptReply(script, reply);
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

  #wire(): void {
    const logger = this.#options.logger;
    this.#client.on('ready', () => {
      this.#commandsUp = true;
      this.#lastError = undefined;
      logger.info('directory: Redis connection ready');
      this.#emitStatus();
    });
    this.#client.on('close', () => {
      if (!this.#commandsUp) return;
      this.#commandsUp = false;
      if (!this.#closed)
        logger.warn({ reason: this.#lastError }, 'directory: Redis connection lost');
      this.#emitStatus();
    });
    this.#client.on('error', (err: Error) => {
      // Logged once per state change above; every reconnect attempt would repeat it.
      this.#noteError(err);
    });
    this.#subscriber.on('ready', () => {
      this.#pubsubUp = true;
      if (this.#pubsubEverUp) {
        // Invalidations published while we were disconnected are lost: start over.
        this.#emit({ type: 'resync' });
      }
      this.#pubsubEverUp = true;
      this.#emitStatus();
    });
    this.#subscriber.on('close', () => {
      if (!this.#pubsubUp) return;
      this.#pubsubUp = false;
      this.#emitStatus();
    });
    this.#subscriber.on('error', (err: Error) => {
      this.#noteError(err);
    });
    this.#subscriber.on('message', (channel: string, raw: string) => {
      if (channel !== this.keys.channel) return;
      const message = parseMessage(raw);
      // Own messages are skipped: the directory already invalidated its L1 when the mutation returned.
      if (message === undefined || message.s === this.#options.instanceId) return;
      if (message.o === 'sv') {
        this.#emit({ type: 'state-versions', updates: message.u });
      } else if (message.o === 'epoch') {
        this.#emit({ type: 'epoch', namespace: message.n, epoch: message.e });
      } else {
        this.#emit({
          type: 'invalidate',
          op: message.o,
          namespace: message.n,
          key: message.k,
          remote: true,
        });
      }
    });
  }
}

async function quit(client: Redis): Promise<void> {
  if (client.status === 'end') return;
  try {
    // QUIT only when connected; otherwise stop reconnecting at once.
    if (client.status === 'ready') await client.quit();
    else client.disconnect();
  } catch {
    client.disconnect();
  }
}

function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '<unparseable url>';
  }
}
