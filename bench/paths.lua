-- wrk script for bench/run.py: GET a random path from a file, one path a line, and
-- print the results as one JSON line ("BENCH_JSON {...}") for run.py to read.
--
--   wrk -t2 -c8 -d10s -s bench/paths.lua http://127.0.0.1:8000 -- paths.txt
--
-- Answers are counted by status and by what their X-Cache header says the front cache
-- did: a value starting with HIT (HIT, HIT-GRACE, "HIT 3"…), MISS or PASS, in any case.

-- With BENCH_PAUSE_MS in the environment, each connection waits that many milliseconds
-- before each request, which paces the load.

local pause_ms = tonumber(os.getenv("BENCH_PAUSE_MS") or "")
if pause_ms and pause_ms > 0 then
  function delay()
    return pause_ms
  end
end

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_number", thread_count)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for line in io.lines(args[1]) do
    if line ~= "" then
      table.insert(paths, line)
    end
  end
  if #paths == 0 then
    error("no paths in " .. args[1])
  end
  math.randomseed(os.time() * 1000 + thread_number)
  hits, misses, passes = 0, 0, 0
  status_2xx, status_3xx, status_4xx, status_5xx = 0, 0, 0, 0
end

-- As browsers do; a server that does not compress ignores it.
local request_headers = {["Accept-Encoding"] = "gzip"}

function request()
  return wrk.format("GET", paths[math.random(#paths)], request_headers)
end

function response(status, headers, body)
  if status >= 500 then
    status_5xx = status_5xx + 1
  elseif status >= 400 then
    status_4xx = status_4xx + 1
  elseif status >= 300 then
    status_3xx = status_3xx + 1
  else
    status_2xx = status_2xx + 1
  end
  local cache = headers["X-Cache"] or headers["x-cache"]
  if cache then
    local state = string.lower(string.sub(cache, 1, 4))
    if string.sub(state, 1, 3) == "hit" then
      hits = hits + 1
    elseif state == "miss" then
      misses = misses + 1
    elseif state == "pass" then
      passes = passes + 1
    end
  end
end

function done(summary, latency, requests)
  local totals = {hits = 0, misses = 0, passes = 0, status_2xx = 0, status_3xx = 0,
                  status_4xx = 0, status_5xx = 0}
  for _, thread in ipairs(threads) do
    for name, _ in pairs(totals) do
      totals[name] = totals[name] + (thread:get(name) or 0)
    end
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"tool": "wrk", "requests": %d, "duration_s": %.3f, "p50_ms": %.3f, ' ..
    '"p95_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, "socket_errors": %d, ' ..
    '"timeouts": %d, "hits": %d, "misses": %d, "passes": %d, "status_2xx": %d, ' ..
    '"status_3xx": %d, "status_4xx": %d, "status_5xx": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3,
    latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
    errors.connect + errors.read + errors.write, errors.timeout, totals.hits,
    totals.misses, totals.passes, totals.status_2xx, totals.status_3xx, totals.status_4xx,
    totals.status_5xx))
end
