-- One key per wrk thread, for `wrk -tN -cN` (one connection per thread):
-- thread i sends every request with the header <header> = <prefix><i>.
--
-- Arguments after `--` (bench/lib/wrk.ts builds them):
--   1 header name (x-affinity-key for the proxies, x-amz-tenant-id for the Invoke API)
--   2 key prefix (the thread number is appended)
--   3 request path
--   4 request body (sent as application/json)
--   5 thread count (bench/wrk/paced.lua spreads the threads' first requests over one period)
--   6 requests per second per thread (paced.lua only; 0 = as fast as answers come)
--
-- done() prints one line `WRK_JSON {…}` (latencies in µs, as wrk records them) that
-- bench/lib/wrk.ts parses. No response() hook: defining one makes wrk parse every
-- body, which would add to the load generator's CPU.

local threads = {}
local next_id = 0

-- Main Lua state: runs once per thread before the threads start.
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

-- Thread Lua state.
function init(args)
  key = (args[2] or "k") .. tostring(id)
  local headers = {}
  headers[args[1] or "x-affinity-key"] = key
  headers["content-type"] = "application/json"
  req = wrk.format("POST", args[3] or "/", headers, args[4] or "{}")
  thread_count = tonumber(args[5]) or 1
  rate = tonumber(args[6]) or 0
  if init_pacing ~= nil then
    init_pacing()
  end
end

function request()
  return req
end

-- This process's CPU (user + system, clock ticks) from /proc/self/stat, read after
-- every thread has stopped: the load generator's own cost.
local function cpu_ticks()
  local f = io.open("/proc/self/stat", "r")
  if f == nil then
    return -1
  end
  local stat = f:read("*a")
  f:close()
  local rest = stat:match("%) (.*)$")
  local fields = {}
  for field in rest:gmatch("%S+") do
    table.insert(fields, field)
  end
  -- After "pid (comm) " the state is field 1, utime field 12, stime field 13.
  return tonumber(fields[12]) + tonumber(fields[13])
end

function done(summary, latency, requests)
  local distinct = {}
  local keys = 0
  for _, thread in ipairs(threads) do
    local k = thread:get("key")
    if k ~= nil and distinct[k] == nil then
      distinct[k] = true
      keys = keys + 1
    end
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"durationUs":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"min":%d,"mean":%.3f,"max":%d,"p50":%d,"p90":%d,"p99":%d,"p999":%d},' ..
    '"threads":%d,"distinctKeys":%d,"cpuTicks":%d}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency:percentile(99.9),
    #threads, keys, cpu_ticks()))
end
