--[[
  Rotate a key: bump its generation so the next request derives a brand-new
  tenant ID (a new execution environment) with state of its own (the state
  version starts again at 0), and tell every replica to drop its cached entry. The publish is part of the same atomic script, so no replica
  can miss a rotation that succeeded while its subscriber was connected.

  Input:
    KEYS[1]  record hash of the key
    ARGV[1]  now, milliseconds since the epoch
    ARGV[2]  idle TTL, seconds (0 = never expire)
    ARGV[3]  invalidation channel
    ARGV[4]  invalidation message (JSON, built by the caller)

  Output:
    { 1, generation }   the key's new generation

  Return codes:
    1  OK
]]
local rec = KEYS[1]
local ttl = tonumber(ARGV[2])

redis.call('HSETNX', rec, 'created', ARGV[1])
local gen = redis.call('HINCRBY', rec, 'gen', 1)
redis.call('HSET', rec, 'sv', 0)
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end
redis.call('PUBLISH', ARGV[3], ARGV[4])

return { 1, gen }
