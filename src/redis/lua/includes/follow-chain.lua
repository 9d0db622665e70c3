--[[
  Follow a binding chain: the one walk behind resolve-key, explain-key and
  bind-key, so all three agree on what a chain is (src/directory/memory-store.ts
  walks it the same way). A link's record is read by name (prefix .. key):
  records share the namespace's hash tag, so they live in the caller's slot.
  A record stamped with another epoch counts as absent: no generation, no
  binding, no extra field (docs/protocol.md, "Directory epochs").

  followChain(prefix, first, epoch, maxHops, extra) -> links, rest
    prefix   record key prefix of the namespace
    first    first key of the chain (false or nil: an empty chain)
    epoch    the namespace's epoch
    maxHops  most links read
    extra    one more field to read from every link (nil: none)

    links    array of { key, gen (number, 0 when absent), bind (next key or
             false), extra (value or false) }, in chain order
    rest     the key the chain goes on to after maxHops links; false when it
             ends within them
]]
local function followChain(prefix, first, epoch, maxHops, extra)
  local links = {}
  local cur = first
  while cur and #links < maxHops do
    local t
    if extra then
      t = redis.call('HMGET', prefix .. cur, 'gen', 'bind', 'ep', extra)
    else
      t = redis.call('HMGET', prefix .. cur, 'gen', 'bind', 'ep')
    end
    if t[3] and t[3] ~= epoch then
      t = { false, false, false, false }
    end
    links[#links + 1] = { key = cur, gen = tonumber(t[1]) or 0, bind = t[2], extra = t[4] or false }
    cur = t[2]
  end
  return links, cur or false
end
