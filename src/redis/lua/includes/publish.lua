--[[
  The publish every mutating script ends with, on the bucket's channel (the
  record's hash tag, so the same Redis Cluster slot as the script's keys).
  The command is the caller's choice: PUBLISH on a standalone Redis, SPUBLISH
  (sharded pub/sub) on a cluster, where a plain PUBLISH would be broadcast to
  every node over the cluster bus. Anything else is refused, so no caller
  text becomes a command.

  checkPublishCommand(command)
    Raises an error reply unless command is 'PUBLISH' or 'SPUBLISH'. Scripts
    call it before anything else, so a bad argument writes nothing.

  publish(command, channel, message)
    Sends message on channel with the checked command.
]]
local function checkPublishCommand(command)
  if command ~= 'PUBLISH' and command ~= 'SPUBLISH' then
    error({ err = 'ERR warmroute: the publish command must be PUBLISH or SPUBLISH' })
  end
end

local function publish(command, channel, message)
  redis.call(command, channel, message)
end
