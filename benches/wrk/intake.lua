-- wrk script for an independent intake run against `ridealong serve`:
--   wrk -t2 -c32 -d10s -s benches/wrk/intake.lua http://127.0.0.1:8080 [-- OFFSET]
-- Each request is a valid new request from its own US number (the scheme of
-- src/bench/workload.rs: +1 201 EEE LLLL), so the per-number daily cap and the
-- one-open-request rule never refuse one. Serve with --rate-limit-per-minute 0:
-- all the load comes from one address.

local threads = {}
local counter = 1

function setup(thread)
  thread:set("first", #threads * 1000000)
  table.insert(threads, thread)
end

function init(args)
  -- A run against a database that already holds an earlier run's requests
  -- needs numbers of its own: pass an offset, e.g. `-- 5000000`.
  counter = first + (tonumber(args[1]) or 0)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local index = counter
  counter = counter + 1
  local exchange = 200 + math.floor(index / 10000) % 800
  local line = index % 10000
  local phone = string.format("+1201%03d%04d", exchange, line)
  local body = string.format(
    '{"name":"Ada Lovelace","phone":"%s","timezone":"America/New_York",' ..
    '"topic":"interviews","message":"I have applied for months and I am stuck.",' ..
    '"consent":true}', phone)
  return wrk.format(nil, "/api/v1/requests", nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("non-2xx or socket errors: %d\n",
    summary.errors.status + summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout))
  for _, p in ipairs({ 50, 90, 99 }) do
    io.write(string.format("p%d latency: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
