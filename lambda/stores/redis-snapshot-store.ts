import { Redis, type RedisOptions, type Result } from 'ioredis';
import { WarmStateError } from '../errors.js';
import { BaseSnapshotStore, type BaseSnapshotStoreOptions } from './base-snapshot-store.js';
import { loadLuaScript } from './lua-script.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** lambda/stores/lua/cas-snapshot-1.lua */
    warmrouteCasSnapshot(
      key: string,
      expectedVersion: number,
      newVersion: number,
      bytes: Buffer,
      ttlMs: number,
    ): Result<[number, number], Context>;
  }
}

/** Return codes of cas-snapshot-1.lua. */
const CAS_WRITTEN = 1;
const CAS_CONFLICT = -1;

export interface RedisSnapshotStoreOptions extends BaseSnapshotStoreOptions {
  /** Default: `WARMROUTE_SNAPSHOT_REDIS_URL`, else redis://127.0.0.1:6379. Ignored when `client` is given. */
  readonly url?: string;
  /** Extra ioredis options (merged over the fail-fast defaults). */
  readonly redisOptions?: RedisOptions;
  /** Prefix of every key this store writes. Default `warmroute:`. */
  readonly keyPrefix?: string;
  /** Expire snapshots this long after their last write. Default: never. */
  readonly ttlSeconds?: number;
}

/**
 * Snapshots in Redis: one hash per key (`v` = version, `d` = encoded
 * snapshot), written only through a Lua compare-and-set script, so a write
 * that lost the race never lands. The client is created once per store and
 * connects on first use; commands fail fast when Redis is down rather than
 * queueing behind an invocation's deadline.
 */
export class RedisSnapshotStore extends BaseSnapshotStore {
  readonly keyPrefix: string;
  private readonly redis: Redis;
  private readonly ttlMs: number;
  private connecting: Promise<void> | undefined;

  constructor(options: RedisSnapshotStoreOptions = {}) {
    super(options);
    this.keyPrefix = options.keyPrefix ?? 'warmroute:';
    const ttl = options.ttlSeconds ?? 0;
    if (!Number.isFinite(ttl) || ttl < 0) {
      throw new WarmStateError('WR_ERR_WARM_STATE_OPTIONS', [`ttlSeconds ${String(ttl)}`]);
    }
    this.ttlMs = Math.round(ttl * 1000);
    const url =
      options.url ?? process.env['WARMROUTE_SNAPSHOT_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
    this.redis = new Redis(url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 5_000,
      connectTimeout: 2_000,
      ...options.redisOptions,
      scripts: {
        warmrouteCasSnapshot: { lua: loadLuaScript('cas-snapshot-1.lua'), numberOfKeys: 1 },
      },
    });
    // Errors surface on the commands; an unhandled 'error' event would crash the function.
    this.redis.on('error', () => undefined);
  }

  /** Redis key of a snapshot. */
  keyOf(key: string): string {
    return `${this.keyPrefix}snap:${key}`;
  }

  private async client(): Promise<Redis> {
    if (this.redis.status === 'ready') return this.redis;
    if (this.redis.status === 'wait' || this.redis.status === 'end') {
      this.connecting ??= this.redis.connect().finally(() => {
        this.connecting = undefined;
      });
    }
    if (this.connecting !== undefined) await this.connecting;
    return this.redis;
  }

  protected async readRaw(key: string): Promise<Buffer | undefined> {
    const bytes = await (await this.client()).hgetBuffer(this.keyOf(key), 'd');
    return bytes ?? undefined;
  }

  protected async readVersionRaw(key: string): Promise<number> {
    const v = await (await this.client()).hget(this.keyOf(key), 'v');
    return v === null ? 0 : Number(v);
  }

  protected async compareAndSwapRaw(
    key: string,
    expectedVersion: number,
    newVersion: number,
    bytes: Buffer,
  ): Promise<{ swapped: boolean; currentVersion: number }> {
    const redis = await this.client();
    const [code, version] = await redis.warmrouteCasSnapshot(
      this.keyOf(key),
      expectedVersion,
      newVersion,
      bytes,
      this.ttlMs,
    );
    switch (code) {
      case CAS_WRITTEN:
        return { swapped: true, currentVersion: version };
      case CAS_CONFLICT:
        return { swapped: false, currentVersion: version };
      default:
        throw new Error(`cas-snapshot-1.lua returned unknown code ${String(code)}`);
    }
  }

  protected async deleteRaw(key: string): Promise<void> {
    await (await this.client()).del(this.keyOf(key));
  }

  async close(): Promise<void> {
    if (this.redis.status === 'end' || this.redis.status === 'wait') {
      this.redis.disconnect();
      return;
    }
    await this.redis.quit().catch(() => {
      this.redis.disconnect();
    });
  }
}
