--[[
  Remove a key's binding; the key routes to its own tenant again.

  Input:
    KEYS[1]  record hash of the key
    ARGV[1]  invalidation channel
    ARGV[2]  invalidation message (JSON, built by the caller)

  Output:
    { 1, removed }   1 if a binding was removed, 0 if there was none

  Return codes:
    1  OK
]]
local removed = redis.call('HDEL', KEYS[1], 'bind')
if removed == 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return { 1, removed }
