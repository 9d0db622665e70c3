--[[
  Read everything stored about a key without creating or touching the record
  (explain must not extend an idle TTL). Its binding chain is read by the
  store, one hop per call (follow-link-2.lua), since links live in other
  buckets.

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the key's bucket in the namespace (string, same hash tag)
    ARGV[1]  the caller's epoch of the key's bucket

  Output:
    { 1, fields, ttl }
      fields  flat HGETALL pairs of the record (empty when unknown)
      ttl     seconds until the record expires (-1 none, -2 no record)

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"

local epoch = ARGV[1]
local mismatch = epochMismatch(KEYS[2], epoch)
if mismatch then
  return mismatch
end
local rec = KEYS[1]

if recordStamp(rec, epoch) then
  -- Of another epoch: as good as absent (explain never writes, so it is left for resolve).
  return { 1, {}, -2 }
end
return { 1, redis.call('HGETALL', rec), redis.call('TTL', rec) }
