--[[
  Read everything stored about a key, including its binding chain, without
  creating or touching the record (explain must not extend an idle TTL).

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the namespace (string)
    ARGV[1]  record key prefix of the namespace
    ARGV[2]  maximum binding chain depth (hops)
    ARGV[3]  the caller's epoch of the namespace

  Output:
    { 1, fields, chain, ttl }
      fields  flat HGETALL pairs of the record (empty when unknown)
      chain   flat pairs { boundKey1, generation1, ... } as in resolve-key
      ttl     seconds until the record expires (-1 none, -2 no record)

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"
--- @include "includes/follow-chain"

local epoch = ARGV[3]
local mismatch = epochMismatch(KEYS[2], epoch)
if mismatch then
  return mismatch
end
local rec = KEYS[1]
local prefix = ARGV[1]
local maxDepth = tonumber(ARGV[2])

if recordStamp(rec, epoch) then
  -- Of another epoch: as good as absent (explain never writes, so it is left for resolve).
  return { 1, {}, {}, -2 }
end
local fields = redis.call('HGETALL', rec)
local chain = {}
local links = followChain(prefix, redis.call('HGET', rec, 'bind'), epoch, maxDepth)
for _, link in ipairs(links) do
  chain[#chain + 1] = link.key
  chain[#chain + 1] = link.gen
end

return { 1, fields, chain, redis.call('TTL', rec) }
