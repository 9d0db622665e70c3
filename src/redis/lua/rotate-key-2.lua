--[[
  Rotate a key: bump its generation so the next request derives a brand-new
  tenant ID (a new execution environment) with state of its own (every
  function's state version, field `sv:<function>`, starts again at 0; so does
  the per-key `sv` of records written before versions were per function), and tell every replica to drop its cached entry. The publish is part of the same atomic script, so no replica
  can miss a rotation that succeeded while its subscriber was connected.

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the namespace (string)
    ARGV[1]  now, milliseconds since the epoch
    ARGV[2]  idle TTL, seconds (0 = never expire)
    ARGV[3]  invalidation channel
    ARGV[4]  invalidation message (JSON, built by the caller)
    ARGV[5]  the caller's epoch of the namespace

  Output:
    { 1, generation }   the key's new generation

  Return codes:
    1  OK
    -4  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: KEYS[2] holds the namespace's epoch (see ensure-epoch-1.lua). The
  caller names the epoch it derived its tenant IDs from; when the stored one
  is missing (Redis lost its data) or differs, nothing is read or written and
  the script answers -4 with the stored epoch ('' when missing), so the
  caller adopts it (or creates a new one), drops what it cached, and retries.
  KEYS[2] shares KEYS[1]'s hash tag (one tag per namespace), so the script
  stays in one Redis Cluster slot; cluster support must revisit this if
  namespaces are ever spread over several slots.
  Records carry the epoch they were written in (field `ep`; a record without
  one predates epochs and counts as current). A record of another epoch
  survived the loss of its epoch key (e.g. evicted alone): it is treated as
  absent, like everything else of that epoch.
]]
local epoch = redis.call('GET', KEYS[2])
if epoch ~= ARGV[5] then
  return { -4, epoch or '' }
end
local rec = KEYS[1]
local ttl = tonumber(ARGV[2])

local ep = redis.call('HGET', rec, 'ep')
if ep and ep ~= epoch then
  redis.call('DEL', rec)
  ep = false
end
redis.call('HSETNX', rec, 'created', ARGV[1])
if not ep then
  redis.call('HSET', rec, 'ep', epoch)
end
local gen = redis.call('HINCRBY', rec, 'gen', 1)
for _, field in ipairs(redis.call('HKEYS', rec)) do
  if field == 'sv' or string.sub(field, 1, 3) == 'sv:' then
    redis.call('HDEL', rec, field)
  end
end
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end
redis.call('PUBLISH', ARGV[3], ARGV[4])

return { 1, gen }
