-- keyed.lua at a fixed rate: each thread sends `rate` requests per second on
-- its one connection, so `-t32 -c32` with rate 9.375 is 300 requests per second
-- in all. wrk has no rate option (wrk2, which has, is not in Debian); its
-- delay() hook returns the milliseconds to wait before a thread's next request.
-- Each thread keeps a schedule (start + n * period) and waits until its next
-- slot, so the rate does not drift by the response time, and the threads'
-- first slots are spread over one period so they do not send in bursts.
-- wrk truncates the delay to whole milliseconds; the schedule absorbs that.
-- A request that takes longer than the period delays the next one (one
-- connection per thread): fine at 300 req/s and millisecond latencies.

local dir = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(dir .. "keyed.lua")

local ffi = require("ffi")
ffi.cdef([[
  typedef struct { long tv_sec; long tv_nsec; } wr_timespec;
  int clock_gettime(int clock_id, wr_timespec *tp);
]])
local CLOCK_MONOTONIC = 1
local ts = ffi.new("wr_timespec")

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

function init_pacing()
  if rate <= 0 then
    error("paced.lua needs a rate above 0 (argument 6)")
  end
  period_ms = 1000 / rate
  next_ms = now_ms() + period_ms * (id / thread_count)
end

function delay()
  local wait = next_ms - now_ms()
  next_ms = next_ms + period_ms
  if wait < 0 then
    return 0
  end
  return wait
end
