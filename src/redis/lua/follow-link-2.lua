--[[
  Read one link of a binding chain: the store walks a chain one hop per call
  (resolve, explain, and bind's checks), because each link lives in its own
  bucket, so its own Redis Cluster slot. The link is read under its own
  bucket's epoch, not the caller's: a bound key's tenant ID derives from the
  chain end's key, generation and bucket epoch.

  The link's bucket epoch is created when missing (or empty), exactly as
  ensure-epoch-1.lua does it (the candidate stored and announced in the same step), so a chain
  into a bucket that lost its data moves to a new epoch, never back to an old
  tenant. A record stamped with another epoch counts as absent: no
  generation, no binding, no state version (docs/protocol.md, "Directory
  epochs"); it is left in place (resolve-key drops it on the next write).

  Input:
    KEYS[1]  record hash of the link's key
    KEYS[2]  epoch of the link's bucket in the namespace (string, same hash tag)
    ARGV[1]  candidate epoch (fresh random hex), stored only if none exists
    ARGV[2]  idle TTL to slide the link's record to, seconds (0 = leave it:
             explain and bind's checks must not extend a TTL)
    ARGV[3]  function whose state version to return ('' = none): a bare
             Lambda function name, [A-Za-z0-9_-]{1,64} (checked by the caller)
    ARGV[4]  publish command: PUBLISH (standalone) or SPUBLISH (cluster)
    ARGV[5]  the link bucket's invalidation channel (same hash tag as KEYS[1])
    ARGV[6]  epoch announcement (JSON, built by the caller with ARGV[1]; sent
             only when the candidate is stored)

  Output:
    { 1, epoch, generation, binding, stateVersion }
      epoch         the link bucket's epoch (the candidate when this call stored it)
      generation    the link's generation (0 when absent)
      binding       the key the link is bound to, '' when none
      stateVersion  (decimal string) the link's version in function ARGV[3],
                    '0' when none or none named

  Return codes (src/redis/reply-codes.ts):
    1   OK
]]
--- @include "includes/publish"

checkPublishCommand(ARGV[4])
local rec = KEYS[1]
local epoch = redis.call('GET', KEYS[2])
-- Empty counts as missing, as in ensure-epoch-1.lua.
if not epoch or epoch == '' then
  epoch = ARGV[1]
  redis.call('SET', KEYS[2], epoch)
  publish(ARGV[4], ARGV[5], ARGV[6])
end

local t = redis.call('HMGET', rec, 'gen', 'bind', 'ep', 'sv:' .. ARGV[3])
if t[3] and t[3] ~= epoch then
  -- Another epoch's record: as good as absent.
  return { 1, epoch, 0, '', '0' }
end
local ttl = tonumber(ARGV[2])
if ttl > 0 then
  -- A workspace reached only through bound sessions must not expire.
  redis.call('EXPIRE', rec, ttl)
end
local sv = '0'
if ARGV[3] ~= '' then
  sv = t[4] or '0'
end
return { 1, epoch, tonumber(t[1]) or 0, t[2] or '', sv }
