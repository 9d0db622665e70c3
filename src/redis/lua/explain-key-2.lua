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

  Return codes:
    1  OK
    -4  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there): -4 means the
  stored epoch is missing or differs, and nothing was read or written.
]]
local epoch = redis.call('GET', KEYS[2])
if epoch ~= ARGV[3] then
  return { -4, epoch or '' }
end
local rec = KEYS[1]
local prefix = ARGV[1]
local maxDepth = tonumber(ARGV[2])

local ep = redis.call('HGET', rec, 'ep')
if ep and ep ~= epoch then
  -- Of another epoch: as good as absent (explain never writes, so it is left for resolve).
  return { 1, {}, {}, -2 }
end
local fields = redis.call('HGETALL', rec)
local chain = {}
local cur = redis.call('HGET', rec, 'bind')
local depth = 0
while cur and depth < maxDepth do
  depth = depth + 1
  local t = redis.call('HMGET', prefix .. cur, 'gen', 'bind', 'ep')
  if t[3] and t[3] ~= epoch then
    t = { false, false }
  end
  chain[#chain + 1] = cur
  chain[#chain + 1] = tonumber(t[1]) or 0
  cur = t[2]
end

return { 1, fields, chain, redis.call('TTL', rec) }
