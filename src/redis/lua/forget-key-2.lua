--[[
  Forget what is stored about a key (binding, counters, state version,
  timestamps) except its generation: a rotated key must never return to a
  tenant it had before (generation 0 would be its first one), so the
  generation stays, in a record that holds nothing else (expiring with the
  idle TTL like any record).

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the key's bucket in the namespace (string, same hash tag)
    ARGV[1]  the key bucket's invalidation channel (same hash tag as KEYS[1])
    ARGV[2]  invalidation message (JSON, built by the caller)
    ARGV[3]  the caller's epoch of the key's bucket
    ARGV[4]  idle TTL, seconds (0 = never expire)
    ARGV[5]  publish command: PUBLISH (standalone) or SPUBLISH (cluster)

  Output:
    { 1, removed }   1 if there was something besides the generation to forget, 0 otherwise

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"
--- @include "includes/publish"

checkPublishCommand(ARGV[5])
local epoch = ARGV[3]
local mismatch = epochMismatch(KEYS[2], epoch)
if mismatch then
  return mismatch
end
local rec = KEYS[1]
local ep = dropStaleRecord(rec, epoch)
local gen = tonumber(redis.call('HGET', rec, 'gen')) or 0
local fields = redis.call('HLEN', rec)
local removed = 0
-- `ep` is bookkeeping, not something to forget.
if ep then
  fields = fields - 1
end
if fields > (gen > 0 and 1 or 0) then
  removed = 1
end
redis.call('DEL', rec)
if gen > 0 then
  redis.call('HSET', rec, 'gen', gen, 'ep', epoch)
  local ttl = tonumber(ARGV[4])
  if ttl > 0 then
    redis.call('EXPIRE', rec, ttl)
  end
end
-- Published even when nothing was stored: a replica may still cache a derived entry.
publish(ARGV[5], ARGV[1], ARGV[2])
return { 1, removed }
