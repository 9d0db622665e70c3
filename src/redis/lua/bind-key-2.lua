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

  Return codes:
    1   OK
    -1  the target is the key itself
    -2  the binding would create a cycle
    -3  the chain would be deeper than ARGV[4]
    -4  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there): -4 means the
  stored epoch is missing or differs, and nothing was read or written.
]]
local epoch = redis.call('GET', KEYS[2])
if epoch ~= ARGV[9] then
  return { -4, epoch or '' }
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

local depth = 1
local cur = target
while true do
  local t = redis.call('HMGET', prefix .. cur, 'bind', 'ep')
  local nextKey = t[1]
  if not nextKey or (t[2] and t[2] ~= epoch) then
    break
  end
  if nextKey == own then
    return { -2 }
  end
  depth = depth + 1
  if depth > maxDepth then
    return { -3 }
  end
  cur = nextKey
end

local ep = redis.call('HGET', rec, 'ep')
if ep and ep ~= epoch then
  redis.call('DEL', rec)
  ep = false
end
redis.call('HSETNX', rec, 'created', ARGV[5])
if not ep then
  redis.call('HSET', rec, 'ep', epoch)
end
redis.call('HSET', rec, 'bind', target)
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end
redis.call('PUBLISH', ARGV[7], ARGV[8])

return { 1, depth }
