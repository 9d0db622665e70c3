--[[
  Bind a key to a target key: requests for the key then use the target's
  tenant (a session sharing its workspace's environment). Only the key's own
  record is written. The checks (self-binding, cycle, depth) span other
  buckets, so other cluster slots: the store makes them in TypeScript on a
  walk of the target's chain, under the namespace's bind lock, which is what
  keeps two concurrent binds from building a cycle between them
  (src/directory/redis-store.ts, bind).

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the key's bucket in the namespace (string, same hash tag)
    ARGV[1]  the target key
    ARGV[2]  now, milliseconds since the epoch
    ARGV[3]  idle TTL, seconds (0 = never expire)
    ARGV[4]  publish command: PUBLISH (standalone) or SPUBLISH (cluster)
    ARGV[5]  the key bucket's invalidation channel (same hash tag as KEYS[1])
    ARGV[6]  invalidation message (JSON, built by the caller)
    ARGV[7]  the caller's epoch of the key's bucket

  Output:
    { 1 }

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"
--- @include "includes/publish"

checkPublishCommand(ARGV[4])
local epoch = ARGV[7]
local mismatch = epochMismatch(KEYS[2], epoch)
if mismatch then
  return mismatch
end
local rec = KEYS[1]
local ttl = tonumber(ARGV[3])

claimRecord(rec, epoch, ARGV[2])
redis.call('HSET', rec, 'bind', ARGV[1])
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end
publish(ARGV[4], ARGV[5], ARGV[6])

return { 1 }
