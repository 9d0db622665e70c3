--[[
  The epoch check every key script starts with, and what a script does with a
  record stamped with another epoch. The rules are stated once, in
  docs/protocol.md, "Directory epochs"; this is their one Lua form.

  epochMismatch(epochKey, callerEpoch)
    nil when the bucket's stored epoch (GET epochKey) is callerEpoch;
    otherwise the reply to return at once, before anything is read or
    written: { -4 (EPOCH_MISMATCH), stored epoch or '' }.

  recordStamp(rec, epoch) -> ofOtherEpoch, stamped
    ofOtherEpoch  rec's `ep` field names another epoch: the record counts as
                  absent (explain only reads, so it leaves it there)
    stamped       rec's `ep` field is epoch

  dropStaleRecord(rec, epoch) -> stamped
    Deletes rec when it is another epoch's; whether it is stamped with epoch.

  claimRecord(rec, epoch, createdMs) -> created
    dropStaleRecord, then, when createdMs is given, sets the `created` field
    unless it exists (HSETNX: of any number of concurrent first writers
    exactly one creates the record), then stamps rec with epoch. Returns
    HSETNX's answer (1 = this call set `created`), 0 without createdMs.
]]
local function epochMismatch(epochKey, callerEpoch)
  local stored = redis.call('GET', epochKey)
  if stored ~= callerEpoch then
    return { -4, stored or '' }
  end
  return nil
end

local function recordStamp(rec, epoch)
  local ep = redis.call('HGET', rec, 'ep')
  return (ep and ep ~= epoch) or false, ep == epoch
end

local function dropStaleRecord(rec, epoch)
  local ofOtherEpoch, stamped = recordStamp(rec, epoch)
  if ofOtherEpoch then
    redis.call('DEL', rec)
  end
  return stamped
end

local function claimRecord(rec, epoch, createdMs)
  local stamped = dropStaleRecord(rec, epoch)
  local created = 0
  if createdMs then
    created = redis.call('HSETNX', rec, 'created', createdMs)
  end
  if not stamped then
    redis.call('HSET', rec, 'ep', epoch)
  end
  return created
end
