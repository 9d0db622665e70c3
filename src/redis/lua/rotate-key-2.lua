--[[
  Rotate a key: bump its generation so the next request derives a brand-new
  tenant ID (a new execution environment) with state of its own (every
  function's state version, field `sv:<function>`, starts again at 0; so does
  the per-key `sv` of records written before versions were per function),
  and tell every replica to drop its cached entry. The publish is part of the
  same atomic script, so no replica can miss a rotation that succeeded while
  its subscriber was connected.

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the key's bucket in the namespace (string, same hash tag)
    ARGV[1]  now, milliseconds since the epoch
    ARGV[2]  idle TTL, seconds (0 = never expire)
    ARGV[3]  the key bucket's invalidation channel (same hash tag as KEYS[1])
    ARGV[4]  invalidation message (JSON, built by the caller)
    ARGV[5]  the caller's epoch of the key's bucket
    ARGV[6]  publish command: PUBLISH (standalone) or SPUBLISH (cluster)

  Output:
    { 1, generation }   the key's new generation

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"
--- @include "includes/publish"

checkPublishCommand(ARGV[6])
local epoch = ARGV[5]
local mismatch = epochMismatch(KEYS[2], epoch)
if mismatch then
  return mismatch
end
local rec = KEYS[1]
local ttl = tonumber(ARGV[2])

claimRecord(rec, epoch, ARGV[1])
local gen = redis.call('HINCRBY', rec, 'gen', 1)
for _, field in ipairs(redis.call('HKEYS', rec)) do
  if field == 'sv' or string.sub(field, 1, 3) == 'sv:' then
    redis.call('HDEL', rec, field)
  end
end
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end
publish(ARGV[6], ARGV[3], ARGV[4])

return { 1, gen }
