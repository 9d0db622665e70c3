--[[
  Forget what is stored about a key (binding, counters, state version,
  timestamps) except its generation: a rotated key must never return to a
  tenant it had before (generation 0 would be its first one), so the
  generation stays, in a record that holds nothing else (expiring with the
  idle TTL like any record).

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the namespace (string)
    ARGV[1]  invalidation channel
    ARGV[2]  invalidation message (JSON, built by the caller)
    ARGV[3]  the caller's epoch of the namespace
    ARGV[4]  idle TTL, seconds (0 = never expire)

  Output:
    { 1, removed }   1 if there was something besides the generation to forget, 0 otherwise

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
if epoch ~= ARGV[3] then
  return { -4, epoch or '' }
end
local rec = KEYS[1]
local ep = redis.call('HGET', rec, 'ep')
if ep and ep ~= epoch then
  redis.call('DEL', rec)
  ep = false
end
local gen = tonumber(redis.call('HGET', rec, 'gen')) or 0
local fields = redis.call('HLEN', rec)
local removed = 0
-- `ep` is bookkeeping, not something to forget.
if ep then
  fields = fields - 1
end
if fields > (gen > 0 and 1 or 0) then
  removed = 1
end
redis.call('DEL', rec)
if gen > 0 then
  redis.call('HSET', rec, 'gen', gen, 'ep', epoch)
  local ttl = tonumber(ARGV[4])
  if ttl > 0 then
    redis.call('EXPIRE', rec, ttl)
  end
end
-- Published even when nothing was stored: a replica may still cache a derived entry.
redis.call('PUBLISH', ARGV[1], ARGV[2])
return { 1, removed }
