--[[
  Bind a key to a target key: requests for the key then use the target's
  tenant (a session sharing its workspace's environment). The whole chain
  from the target is checked atomically, so two concurrent binds cannot
  build a cycle between them.

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the namespace (string)
    ARGV[1]  record key prefix of the namespace (target records are ARGV[1] .. targetKey)
    ARGV[2]  the key itself (to detect a cycle through it)
    ARGV[3]  the target key
    ARGV[4]  maximum binding chain depth (hops, counting key -> target as 1)
    ARGV[5]  now, milliseconds since the epoch
    ARGV[6]  idle TTL, seconds (0 = never expire)
    ARGV[7]  invalidation channel
    ARGV[8]  invalidation message (JSON, built by the caller)
    ARGV[9]  the caller's epoch of the namespace

  Output:
    { 1, depth }   hops from the key to the end of its new chain

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -1  SELF_BINDING    the target is the key itself
    -2  CYCLE           the binding would create a cycle
    -3  TOO_DEEP        the chain would be deeper than ARGV[4]
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"
--- @include "includes/follow-chain"

local epoch = ARGV[9]
local mismatch = epochMismatch(KEYS[2], epoch)
if mismatch then
  return mismatch
end
local rec = KEYS[1]
local prefix = ARGV[1]
local own = ARGV[2]
local target = ARGV[3]
local maxDepth = tonumber(ARGV[4])
local ttl = tonumber(ARGV[6])

if target == own then
  return { -1 }
end

-- The key's new chain is target and the target's own chain: one hop per
-- link (key -> target is the first), so at most maxDepth links.
local links, rest = followChain(prefix, target, epoch, maxDepth)
for _, link in ipairs(links) do
  if link.bind == own then
    return { -2 }
  end
end
if rest then
  return { -3 }
end
local depth = #links

claimRecord(rec, epoch, ARGV[5])
redis.call('HSET', rec, 'bind', target)
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end
redis.call('PUBLISH', ARGV[7], ARGV[8])

return { 1, depth }
