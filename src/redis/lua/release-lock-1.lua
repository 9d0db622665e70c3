--[[
  Release a lock taken with SET NX PX and a random token (the namespace bind
  lock, src/directory/redis-store.ts): delete it only when it still holds
  the caller's token, so a holder whose lease ran out cannot release the
  lock a later holder took.

  Input:
    KEYS[1]  the lock key
    ARGV[1]  the caller's token

  Output:
    { 1, released }   1 if the lock held the token and was deleted, 0 otherwise

  Return codes (src/redis/reply-codes.ts):
    1   OK
]]
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return { 1, 1 }
end
return { 1, 0 }
