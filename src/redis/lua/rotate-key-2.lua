--[[
  Rotate a key: bump its generation so the next request derives a brand-new
  tenant ID (a new execution environment) with state of its own (every
  function's state version, field `sv:<function>`, starts again at 0; so does
  the per-key `sv` of records written before versions were per function), and tell every replica to drop its cached entry. The publish is part of the same atomic script, so no replica
  can miss a rotation that succeeded while its subscriber was connected.

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the namespace (string)
    ARGV[1]  now, milliseconds since the epoch
    ARGV[2]  idle TTL, seconds (0 = never expire)
    ARGV[3]  invalidation channel
    ARGV[4]  invalidation message (JSON, built by the caller)
    ARGV[5]  the caller's epoch of the namespace

  Output:
    { 1, generation }   the key's new generation

  Return codes:
    1  OK
    -4  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there): -4 means the
  stored epoch is missing or differs, and nothing was read or written.
]]
local epoch = redis.call('GET', KEYS[2])
if epoch ~= ARGV[5] then
  return { -4, epoch or '' }
end
local rec = KEYS[1]
local ttl = tonumber(ARGV[2])

local ep = redis.call('HGET', rec, 'ep')
if ep and ep ~= epoch then
  redis.call('DEL', rec)
  ep = false
end
redis.call('HSETNX', rec, 'created', ARGV[1])
if not ep then
  redis.call('HSET', rec, 'ep', epoch)
end
local gen = redis.call('HINCRBY', rec, 'gen', 1)
for _, field in ipairs(redis.call('HKEYS', rec)) do
  if field == 'sv' or string.sub(field, 1, 3) == 'sv:' then
    redis.call('HDEL', rec, field)
  end
end
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end
redis.call('PUBLISH', ARGV[3], ARGV[4])

return { 1, gen }
