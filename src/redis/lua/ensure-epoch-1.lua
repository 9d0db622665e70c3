--[[
  Read the epoch of one bucket of a namespace, creating it when missing (an
  empty string counts as missing). The epoch is a random id that is part of
  every tenant ID and snapshot scope of the bucket's keys
  (src/directory/epoch-bucket.ts). It is created by
  whoever finds it missing: on first use, and after Redis (or one cluster
  shard) lost its data, when it must be a new value so that no key (rotated
  or not) is derived into an environment or a snapshot of the lost data
  again. The caller therefore always passes a freshly generated candidate,
  never an epoch it knew before.

  A new epoch is announced on the bucket's invalidation channel in the same
  atomic step, so replicas still caching the old one (a FLUSHALL drops no
  connection, so they see no resync) drop their L1 at once instead of
  routing on it until it expires.

  Input:
    KEYS[1]  epoch of the bucket in the namespace (string; no TTL)
    ARGV[1]  candidate epoch (fresh random hex), stored only if none exists
    ARGV[2]  publish command: PUBLISH (standalone) or SPUBLISH (cluster)
    ARGV[3]  the bucket's invalidation channel (same hash tag as KEYS[1])
    ARGV[4]  announcement (JSON, built by the caller; sent only when the candidate is stored)

  Output:
    { 1, epoch, created }
      epoch    the bucket's epoch after this call
      created  1 if this call stored the candidate, 0 if a (non-empty) epoch existed

  Return codes (src/redis/reply-codes.ts):
    1   OK
]]
--- @include "includes/publish"

checkPublishCommand(ARGV[2])
local epoch = redis.call('GET', KEYS[1])
-- An empty string is no epoch (written by hand or by a broken tool): every
-- key script would answer EPOCH_MISMATCH with '' forever, so it is replaced.
if epoch and epoch ~= '' then
  return { 1, epoch, 0 }
end
redis.call('SET', KEYS[1], ARGV[1])
publish(ARGV[2], ARGV[3], ARGV[4])
return { 1, ARGV[1], 1 }
