--[[
  Remove a key's binding; the key routes to its own tenant again.

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the namespace (string)
    ARGV[1]  invalidation channel
    ARGV[2]  invalidation message (JSON, built by the caller)
    ARGV[3]  the caller's epoch of the namespace

  Output:
    { 1, removed }   1 if a binding was removed, 0 if there was none

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"

local mismatch = epochMismatch(KEYS[2], ARGV[3])
if mismatch then
  return mismatch
end
local removed = redis.call('HDEL', KEYS[1], 'bind')
if removed == 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return { 1, removed }
