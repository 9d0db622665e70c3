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
]]
local epoch = redis.call('GET', KEYS[2])
if epoch ~= ARGV[3] then
  return { -4, epoch or '' }
end
local removed = redis.call('HDEL', KEYS[1], 'bind')
if removed == 1 then
  redis.call('PUBLISH', ARGV[1], ARGV[2])
end
return { 1, removed }
