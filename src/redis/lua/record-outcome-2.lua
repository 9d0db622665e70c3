--[[
  Apply one key's batched invocation outcomes (write-behind, never on the
  request path). The state version only moves forward.

  Input:
    KEYS[1]  record hash of the key
    ARGV[1]  last seen, milliseconds since the epoch
    ARGV[2]  idle TTL, seconds (0 = never expire)
    ARGV[3]  hits to add
    ARGV[4]  rehydrations to add
    ARGV[5]  fresh starts to add
    ARGV[6]  unknown outcomes to add
    ARGV[7]  last environment id ('' = unchanged)
    ARGV[8]  state version seen (0 = none)

  Output:
    { 1, stateVersion }   the stored state version after the update

  Return codes:
    1  OK
]]
local rec = KEYS[1]
local ttl = tonumber(ARGV[2])

local fields = { 'hit', 'reh', 'fresh', 'unk' }
for i = 1, 4 do
  local n = tonumber(ARGV[i + 2])
  if n > 0 then
    redis.call('HINCRBY', rec, fields[i], n)
  end
end
redis.call('HSET', rec, 'seen', ARGV[1])
if ARGV[7] ~= '' then
  redis.call('HSET', rec, 'env', ARGV[7])
end

local sv = tonumber(redis.call('HGET', rec, 'sv')) or 0
local incoming = tonumber(ARGV[8])
if incoming > sv then
  sv = incoming
  redis.call('HSET', rec, 'sv', ARGV[8])
end
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end

return { 1, sv }
