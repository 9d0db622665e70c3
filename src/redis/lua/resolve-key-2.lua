--[[
  Resolve a key: the request path's one Redis call for an unbound key.

  Creates the key's record when absent (HSETNX on `created`, so of any number
  of concurrent first resolves exactly one creates the mapping), slides its
  idle TTL and returns its generation, binding and state version. Tenant IDs
  are derived by the caller (HMAC is not available in Lua); this script
  returns the inputs. A bound key's chain is not followed here: its links
  live in other buckets, so other cluster slots, and the store follows them
  one hop per call (follow-link-2.lua).

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the key's bucket in the namespace (string, same hash tag)
    ARGV[1]  now, milliseconds since the epoch
    ARGV[2]  idle TTL, seconds (0 = never expire)
    ARGV[3]  the caller's epoch of the key's bucket
    ARGV[4]  function whose state version to return ('' = none): a bare
             Lambda function name, [A-Za-z0-9_-]{1,64} (checked by the caller)

  Output:
    { 1, created, generation, binding, ownStateVersion }
      created          1 if this call created the record, 0 if it existed
      generation       the key's own generation
      binding          the key it is bound to, '' when not bound
      ownStateVersion  (decimal string) latest state version of the key itself
                       in function ARGV[4] (field `sv:<function>`; '0' when
                       none or none named). Returned as the stored string,
                       not a Lua number: ioredis's reply parser rounds
                       integers near 2^53, and versions may be that large.
                       A field `sv` (one version per key, before versions
                       were per function) is ignored.

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"

local epoch = ARGV[3]
local mismatch = epochMismatch(KEYS[2], epoch)
if mismatch then
  return mismatch
end
local rec = KEYS[1]
local ttl = tonumber(ARGV[2])

local created = claimRecord(rec, epoch, ARGV[1])
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end
-- With no function named the field read is 'sv:', which is never written.
local own = redis.call('HMGET', rec, 'gen', 'bind', 'sv:' .. ARGV[4])
local ownSv = '0'
if ARGV[4] ~= '' then
  ownSv = own[3] or '0'
end

return { 1, created, tonumber(own[1]) or 0, own[2] or '', ownSv }
