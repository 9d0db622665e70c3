/**
 * Types of the Lua scripts registered on every command client (see
 * script-loader.ts), added to ioredis's `RedisCommander` so calls are checked.
 * The reply shapes are documented in each script's header; replies are still
 * parsed defensively (script-replies.ts) because Lua replies are untyped.
 */
import type { ClientContext, RedisKey, Result } from 'ioredis';

/** A raw Lua reply: integers, strings, nil (null) and nested tables. */
export type ScriptReply = (string | number | null | ScriptReply)[];

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    wrResolveKey(
      record: RedisKey,
      recordPrefix: string,
      nowMs: number,
      idleTtlSeconds: number,
      maxDepth: number,
    ): Result<ScriptReply, Context>;
    wrRotateKey(
      record: RedisKey,
      nowMs: number,
      idleTtlSeconds: number,
      channel: string,
      message: string,
    ): Result<ScriptReply, Context>;
    wrBindKey(
      record: RedisKey,
      recordPrefix: string,
      key: string,
      target: string,
      maxDepth: number,
      nowMs: number,
      idleTtlSeconds: number,
      channel: string,
      message: string,
    ): Result<ScriptReply, Context>;
    wrUnbindKey(record: RedisKey, channel: string, message: string): Result<ScriptReply, Context>;
    wrForgetKey(record: RedisKey, channel: string, message: string): Result<ScriptReply, Context>;
    wrRecordOutcome(
      record: RedisKey,
      lastSeenMs: number,
      idleTtlSeconds: number,
      hits: number,
      rehydrated: number,
      fresh: number,
      unknown: number,
      envId: string,
      stateVersion: number,
    ): Result<ScriptReply, Context>;
    wrExplainKey(
      record: RedisKey,
      recordPrefix: string,
      maxDepth: number,
    ): Result<ScriptReply, Context>;
  }
}
