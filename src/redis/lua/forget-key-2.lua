--[[
  Forget everything stored about a key (generation, binding, counters).
  Its next resolve derives generation 0 again.

  Input:
    KEYS[1]  record hash of the key
    ARGV[1]  invalidation channel
    ARGV[2]  invalidation message (JSON, built by the caller)

  Output:
    { 1, removed }   1 if a record existed, 0 otherwise

  Return codes:
    1  OK
]]
local removed = redis.call('DEL', KEYS[1])
-- Published even when nothing was stored: a replica may still cache a derived entry.
redis.call('PUBLISH', ARGV[1], ARGV[2])
return { 1, removed }
