--[[
  Read everything stored about a key, including its binding chain, without
  creating or touching the record (explain must not extend an idle TTL).

  Input:
    KEYS[1]  record hash of the key
    ARGV[1]  record key prefix of the namespace
    ARGV[2]  maximum binding chain depth (hops)

  Output:
    { 1, fields, chain, ttl }
      fields  flat HGETALL pairs of the record (empty when unknown)
      chain   flat pairs { boundKey1, generation1, ... } as in resolve-key
      ttl     seconds until the record expires (-1 none, -2 no record)

  Return codes:
    1  OK
]]
local rec = KEYS[1]
local prefix = ARGV[1]
local maxDepth = tonumber(ARGV[2])

local fields = redis.call('HGETALL', rec)
local chain = {}
local cur = redis.call('HGET', rec, 'bind')
local depth = 0
while cur and depth < maxDepth do
  depth = depth + 1
  local t = redis.call('HMGET', prefix .. cur, 'gen', 'bind')
  chain[#chain + 1] = cur
  chain[#chain + 1] = tonumber(t[1]) or 0
  cur = t[2]
end

return { 1, fields, chain, redis.call('TTL', rec) }
