-- wrk script of the closed-loop runs, by BENCH_MODE:
--   ingest: POST /orders, every request a new batch of BENCH_BATCH orders of three items, for
--           random existing customers, with order ids unique to the run, the wrk thread and its
--           counter (the same shape as crates/bench/src/data.rs, which the ceiling writes);
--   items:  GET /customers/{id}/items for a random existing customer;
--   get:    GET BENCH_PATH.
-- Any answer but the expected status (201 for ingest, 200 otherwise) is counted, and done()
-- prints one line "BENCH_JSON {...}" that the harness reads (crates/bench/src/run/wrk.rs).

local mode = os.getenv("BENCH_MODE")
local batch = tonumber(os.getenv("BENCH_BATCH") or "1")
local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "1")
local width = tonumber(os.getenv("BENCH_WIDTH") or "1")
local run = os.getenv("BENCH_RUN") or "run"
local path = os.getenv("BENCH_PATH") or "/"
local expected = 200
if mode == "ingest" then
  expected = 201
end
local headers = {
  ["Content-Type"] = "application/json",
  ["X-API-Key"] = os.getenv("BENCH_API_KEY"),
}
local customer_format = "c%0" .. width .. "d"

local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local counter = 0
local unexpected = 0

function init(args)
  math.randomseed(1000003 * (tid + 1))
end

local function cost()
  local cents = math.random(1, 99999)
  return string.format("%d.%02d", math.floor(cents / 100), cents % 100)
end

local function ingest()
  local orders = {}
  for i = 1, batch do
    counter = counter + 1
    local items = {}
    for k = 1, 3 do
      items[k] = string.format('{"itemId":"i%d","costEur":%s}', math.random(0, 9999), cost())
    end
    orders[i] = string.format(
      '{"customerId":"' .. customer_format .. '","orderId":"%s-%d-%d","timestamp":"%d","items":[%s]}',
      math.random(0, customers - 1), run, tid, counter, 1637245070513 + counter,
      table.concat(items, ","))
  end
  return wrk.format("POST", "/orders", headers, "[" .. table.concat(orders, ",") .. "]")
end

function request()
  if mode == "ingest" then
    return ingest()
  elseif mode == "items" then
    local customer = string.format(customer_format, math.random(0, customers - 1))
    return wrk.format("GET", "/customers/" .. customer .. "/items", headers)
  end
  return wrk.format("GET", path, headers)
end

function response(status, headers, body)
  if status ~= expected then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local not_expected = 0
  for _, thread in ipairs(threads) do
    not_expected = not_expected + (thread:get("unexpected") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"unexpected_status":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"p99_9_us":%d,' ..
    '"max_us":%d}\n',
    summary.requests, summary.duration, not_expected, errors.connect, errors.read, errors.write,
    errors.timeout, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
