import type { Cluster, ClientContext, Redis, RedisKey, Result } from 'ioredis';
import type { ScriptReply } from '../redis/commands.js';

/**
 * The one write `warmroute migrate-directory` makes per record, as a Lua
 * script: a v3 gateway may already serve the bucket (a rerun during a
 * rolling deploy), so reading the target record, taking the larger
 * generation and writing it back must be one atomic step, or a rotate
 * landing in between would be undone and the key sent back to a tenant it
 * left. Both keys share the bucket's hash tag (src/redis/keys.ts), so the
 * script touches one Redis Cluster slot.
 *
 * Kept here rather than in src/redis/lua/ because only this one-off tool
 * uses it: every file there is registered on every gateway connection.
 *
 * Input:
 *   KEYS[1]  v3 record of the key
 *   KEYS[2]  v3 epoch of the key's (namespace, bucket)
 *   ARGV[1]  the namespace's v2 epoch (what KEYS[2] must hold)
 *   ARGV[2]  the v2 record's remaining TTL, ms (-1 = none)
 *   ARGV[3]  '1' = dry run: decide, write nothing (a missing KEYS[2] counts as
 *            ARGV[1], which the run would have set)
 *   ARGV[4]  TTL tolerance, ms: a longer source TTL within it is not applied,
 *            so a rerun (whose reads are a few ms apart) changes nothing
 *   ARGV[5..] field, value pairs of the v2 record, without `ep`
 *
 * Output:
 *   { 1 }  copied: no target record (or one stamped with another epoch, which
 *          counts as absent, docs/protocol.md "Directory epochs"): every
 *          field written, `ep` = ARGV[1], TTL = ARGV[2]
 *   { 2 }  merged: the target record existed and changed: `gen` and every
 *          `sv:<function>` take the larger value, other fields are filled
 *          only where missing (the target's are newer), the longer TTL wins
 *          (none is the longest)
 *   { 3 }  unchanged: the target record already holds all of it
 *   { -4, stored epoch or '' }  KEYS[2] is not ARGV[1]: nothing written
 */
const MIGRATE_RECORD_LUA = `
local rec = KEYS[1]
local epoch = ARGV[1]
local pttl = tonumber(ARGV[2])
local dry = ARGV[3] == '1'
local tolerance = tonumber(ARGV[4])
local stored = redis.call('GET', KEYS[2])
if stored ~= epoch and not (dry and not stored) then
  return { -4, stored or '' }
end
local function write(...)
  if not dry then
    redis.call(...)
  end
end
local ep = redis.call('HGET', rec, 'ep')
local present = redis.call('EXISTS', rec) == 1 and (not ep or ep == epoch)
if not present then
  write('DEL', rec)
  for i = 5, #ARGV - 1, 2 do
    write('HSET', rec, ARGV[i], ARGV[i + 1])
  end
  write('HSET', rec, 'ep', epoch)
  if pttl > 0 then
    write('PEXPIRE', rec, pttl)
  end
  return { 1 }
end
local changed = false
for i = 5, #ARGV - 1, 2 do
  local field, value = ARGV[i], ARGV[i + 1]
  if field == 'gen' or string.sub(field, 1, 3) == 'sv:' then
    local theirs = tonumber(value)
    local mine = tonumber(redis.call('HGET', rec, field))
    if theirs and (not mine or theirs > mine) then
      write('HSET', rec, field, value)
      changed = true
    end
  elseif redis.call('HEXISTS', rec, field) == 0 then
    write('HSET', rec, field, value)
    changed = true
  end
end
if not ep then
  write('HSET', rec, 'ep', epoch)
  changed = true
end
local current = redis.call('PTTL', rec)
if current >= 0 then
  if pttl < 0 then
    write('PERSIST', rec)
    changed = true
  elseif pttl > current + tolerance then
    write('PEXPIRE', rec, pttl)
    changed = true
  end
end
if changed then
  return { 2 }
end
return { 3 }
`;

const COMMAND = 'wrMigrateRecord';

declare module 'ioredis' {
  interface RedisCommander<Context extends ClientContext = { type: 'default' }> {
    wrMigrateRecord(
      record: RedisKey,
      epochKey: RedisKey,
      epoch: string,
      remainingTtlMs: number,
      dryRun: '0' | '1',
      ttlToleranceMs: number,
      ...fieldsAndValues: string[]
    ): Result<ScriptReply, Context>;
  }
}

/** Registers the script on `client` (EVALSHA, loaded on first NOSCRIPT) and returns it. */
export function withMigrateRecord<C extends Redis | Cluster>(client: C): C {
  client.defineCommand(COMMAND, { numberOfKeys: 2, lua: MIGRATE_RECORD_LUA });
  return client;
}
