--[[
  Compare-and-set a key's snapshot on its version.

  Input:
    KEYS[1]  snapshot hash (fields: v = version, d = encoded snapshot bytes)

    ARGV[1]  expected version (integer; 0 = no snapshot yet)
    ARGV[2]  new version (integer; ARGV[1] + 1)
    ARGV[3]  encoded snapshot bytes (binary)
    ARGV[4]  time to live in milliseconds (integer; 0 = keep forever)

  Output: { code, version }
    {  1, new version }      written
    { -5, current version }  conflict; nothing written

  Return codes (src/redis/reply-codes.ts):
    1   OK
    -5  CAS_CONFLICT  the stored version differs from the expected one
]]
local current = tonumber(redis.call('HGET', KEYS[1], 'v') or '0')
if current ~= tonumber(ARGV[1]) then
  return { -5, current }
end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3])
local ttl = tonumber(ARGV[4])
if ttl > 0 then
  redis.call('PEXPIRE', KEYS[1], ttl)
else
  redis.call('PERSIST', KEYS[1])
end
return { 1, tonumber(ARGV[2]) }
