--[[
  Resolve a key in one round trip: the request path's only Redis call.

  Creates the key's record when absent (HSETNX on `created`, so of any number
  of concurrent first resolves exactly one creates the mapping), slides its
  idle TTL, and follows its binding chain. Tenant IDs are derived by the
  caller (HMAC is not available in Lua); this script returns the inputs.

  Cluster note: bound records are read by name (ARGV[1] .. boundKey). They
  share KEYS[1]'s hash tag (one tag per namespace), so they live in its slot.

  Input:
    KEYS[1]  record hash of the key
    KEYS[2]  epoch of the namespace (string)
    ARGV[1]  record key prefix of the namespace
    ARGV[2]  now, milliseconds since the epoch
    ARGV[3]  idle TTL, seconds (0 = never expire)
    ARGV[4]  maximum binding chain depth (hops)
    ARGV[5]  the caller's epoch of the namespace
    ARGV[6]  function whose state version to return ('' = none): a bare
             Lambda function name, [A-Za-z0-9_-]{1,64} (checked by the caller)

  Output:
    { 1, created, generation, stateVersion, chain, ownStateVersion }
      created       1 if this call created the record, 0 if it existed
      generation    the key's own generation
      stateVersion  (decimal string) latest state version recorded in function
                    ARGV[6] (field `sv:<function>`; 0 when none or none named)
                    for the key whose state this key uses: the last key of
                    its binding chain when it is bound (a bound key shares
                    its target's state, and outcomes are recorded under the
                    target), the key itself otherwise.
                    Versions are per function, like snapshots: one function's
                    version says nothing about another's state. A field `sv`
                    (one version per key, before versions were per function)
                    is ignored.
      chain         flat pairs { boundKey1, generation1, boundKey2, generation2, ... }
                    in binding order; empty when the key is not bound
      ownStateVersion  (decimal string) the key's own version in ARGV[6], bound
                    or not: pooled mode ignores bindings, so its state (and
                    version) stays the key's own

  Return codes (src/redis/reply-codes.ts):
    1   OK. Resolve has no binding failure: bind-key rejects cycles and
        chains deeper than ARGV[4], so a longer chain (only reachable when a
        target gained its own binding later) is cut at ARGV[4] hops instead
        of failing the request path.
    -4  EPOCH_MISMATCH  epoch missing or different: { -4, stored epoch or '' }; nothing done

  Epoch: the check on KEYS[2] and the `ep` field of records follow the rules
  in docs/protocol.md, "Directory epochs" (stated once there; their Lua is
  includes/epoch-check.lua).
]]
--- @include "includes/epoch-check"
--- @include "includes/follow-chain"

local epoch = ARGV[5]
local mismatch = epochMismatch(KEYS[2], epoch)
if mismatch then
  return mismatch
end
local rec = KEYS[1]
local prefix = ARGV[1]
local ttl = tonumber(ARGV[3])
local maxDepth = tonumber(ARGV[4])

local created = claimRecord(rec, epoch, ARGV[2])
if ttl > 0 then
  redis.call('EXPIRE', rec, ttl)
end
-- Read in the same HMGETs as the rest (no extra call per hop). With no
-- function named the field read is 'sv:', which is never written, and the
-- version is 0 anyway.
local named = ARGV[6] ~= ''
local svField = 'sv:' .. ARGV[6]
local own = redis.call('HMGET', rec, 'gen', 'bind', svField)
-- Returned as the stored decimal string, not a Lua number: ioredis's reply
-- parser rounds integer replies near 2^53, and versions may be that large.
-- Replaced by each chain target's in turn below, so the chain's last key wins.
local ownSv = '0'
if named then
  ownSv = own[3] or '0'
end
local sv = ownSv

local chain = {}
for _, link in ipairs(followChain(prefix, own[2], epoch, maxDepth, svField)) do
  if named then
    sv = link.extra or '0'
  end
  if ttl > 0 then
    -- A workspace reached only through bound sessions must not expire.
    redis.call('EXPIRE', prefix .. link.key, ttl)
  end
  chain[#chain + 1] = link.key
  chain[#chain + 1] = link.gen
end

return { 1, created, tonumber(own[1]) or 0, sv, chain, ownSv }
