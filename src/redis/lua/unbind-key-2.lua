--[[
  Remove a key's binding; the key routes to its own tenant again.

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the key's bucket in the namespace (string, same hash tag)
    ARGV[1]  the key bucket's invalidation channel (same hash tag as KEYS[1])
    ARGV[2]  invalidation message (JSON, built by the caller)
    ARGV[3]  the caller's epoch of the key's bucket
    ARGV[4]  publish command: PUBLISH (standalone) or SPUBLISH (cluster)

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
--- @include "includes/publish"

checkPublishCommand(ARGV[4])
local mismatch = epochMismatch(KEYS[2], ARGV[3])
if mismatch then
  return mismatch
end
local removed = redis.call('HDEL', KEYS[1], 'bind')
if removed == 1 then
  publish(ARGV[4], ARGV[1], ARGV[2])
end
return { 1, removed }
