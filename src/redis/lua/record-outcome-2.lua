--[[
  Apply one key's batched invocation outcomes (write-behind, never on the
  request path). State versions are per function and only move forward.

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the key's bucket in the namespace (string, same hash tag)
    ARGV[1]  last seen, milliseconds since the epoch
    ARGV[2]  idle TTL, seconds (0 = never expire)
    ARGV[3]  hits to add
    ARGV[4]  rehydrations to add
    ARGV[5]  fresh starts to add
    ARGV[6]  unknown outcomes to add
    ARGV[7]  last environment id ('' = unchanged)
    ARGV[8]  unused (was the key's one state version; kept so ARGV[9] stays put)
    ARGV[9]  the caller's epoch of the key's bucket
    ARGV[10..] pairs: function, highest state version it reported
             (field `sv:<function>`); a function must be a bare Lambda
             function name, [A-Za-z0-9_-]{1,64}: a pair with anything else is
             skipped, so no caller text can make another field's name

  Output:
    { 1 }

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"

local epoch = ARGV[9]
local mismatch = epochMismatch(KEYS[2], epoch)
if mismatch then
  return mismatch
end
local rec = KEYS[1]
local ttl = tonumber(ARGV[2])
claimRecord(rec, epoch)

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

for i = 10, #ARGV - 1, 2 do
  local fn = ARGV[i]
  local incoming = tonumber(ARGV[i + 1])
  if #fn >= 1 and #fn <= 64 and not string.find(fn, '[^%w_%-]') and incoming then
    local field = 'sv:' .. fn
    local sv = tonumber(redis.call('HGET', rec, field)) or 0
    if incoming > sv then
      redis.call('HSET', rec, field, ARGV[i + 1])
    end
  end
end
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end

return { 1 }
