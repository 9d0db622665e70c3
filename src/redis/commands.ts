/**
 * The one type augmentation for warmroute's Lua scripts: every command that
 * script-loader.ts registers through ioredis's `scripts` option (the
 * directory's, `src/redis/lua/`, and the snapshot store's,
 * `lambda/stores/lua/`), added to `RedisCommander` so calls are checked. The
 * reply shapes are documented in each script's header; replies are still
 * parsed defensively (reply-errors.ts) because Lua replies are untyped.
 */
import type { ClientContext, RedisKey, Result } from 'ioredis';

/** A raw Lua reply: integers, strings, nil (null) and nested tables. */
export type ScriptReply = (string | number | null | ScriptReply)[];

/** The command a script publishes with: PUBLISH on a standalone Redis, SPUBLISH (sharded) on a cluster. */
export type PublishCommand = 'PUBLISH' | 'SPUBLISH';

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    // Every key script takes the epoch key of the key's bucket second (same
    // hash tag as the record) and the caller's epoch of that bucket as an argument.
    wrEnsureEpoch(
      epochKey: RedisKey,
      candidate: string,
      publishCommand: PublishCommand,
      channel: string,
      announcement: string,
    ): Result<ScriptReply, Context>;
    wrResolveKey(
      record: RedisKey,
      epochKey: RedisKey,
      nowMs: number,
      idleTtlSeconds: number,
      epoch: string,
      /** Whose state version to return ('' = none); a bare function name (src/directory/state-function.ts). */
      functionId: string,
    ): Result<ScriptReply, Context>;
    wrFollowLink(
      record: RedisKey,
      epochKey: RedisKey,
      candidate: string,
      /** 0 = leave the link's TTL alone (explain, bind's checks). */
      slideTtlSeconds: number,
      functionId: string,
      publishCommand: PublishCommand,
      channel: string,
      announcement: string,
    ): Result<ScriptReply, Context>;
    wrRotateKey(
      record: RedisKey,
      epochKey: RedisKey,
      nowMs: number,
      idleTtlSeconds: number,
      channel: string,
      message: string,
      epoch: string,
      publishCommand: PublishCommand,
    ): Result<ScriptReply, Context>;
    wrBindKey(
      record: RedisKey,
      epochKey: RedisKey,
      target: string,
      nowMs: number,
      idleTtlSeconds: number,
      publishCommand: PublishCommand,
      channel: string,
      message: string,
      epoch: string,
    ): Result<ScriptReply, Context>;
    wrUnbindKey(
      record: RedisKey,
      epochKey: RedisKey,
      channel: string,
      message: string,
      epoch: string,
      publishCommand: PublishCommand,
    ): Result<ScriptReply, Context>;
    wrForgetKey(
      record: RedisKey,
      epochKey: RedisKey,
      channel: string,
      message: string,
      epoch: string,
      idleTtlSeconds: number,
      publishCommand: PublishCommand,
    ): Result<ScriptReply, Context>;
    wrRecordOutcome(
      record: RedisKey,
      epochKey: RedisKey,
      lastSeenMs: number,
      idleTtlSeconds: number,
      hits: number,
      rehydrated: number,
      fresh: number,
      unknown: number,
      envId: string,
      /** Unused (0): versions are per function, in `versions`. */
      unusedStateVersion: number,
      epoch: string,
      /** Pairs: bare function name, its highest reported state version. */
      ...versions: (string | number)[]
    ): Result<ScriptReply, Context>;
    wrExplainKey(record: RedisKey, epochKey: RedisKey, epoch: string): Result<ScriptReply, Context>;
    /** release-lock-1.lua: `[1, released]`; deletes the lock only if it holds `token`. */
    wrReleaseLock(lock: RedisKey, token: string): Result<ScriptReply, Context>;
    /** lambda/stores/lua/cas-snapshot-1.lua: `[code, version]` (OK or CAS_CONFLICT). */
    wrCasSnapshot(
      key: RedisKey,
      expectedVersion: number,
      newVersion: number,
      bytes: Buffer,
      ttlMs: number,
    ): Result<[number, number], Context>;
  }
}
