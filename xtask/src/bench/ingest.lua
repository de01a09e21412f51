-- wrk script for the ingest benchmark: every request is a new batch of BENCH_BATCH orders of
-- three items, for random existing customers, with order ids unique to the run, the wrk thread
-- and its counter (the same shape as crates/bench/src/data.rs, which the ceiling writes).
-- done() prints one line "BENCH_JSON {...}" that xtask reads.

local batch = tonumber(os.getenv("BENCH_BATCH"))
local customers = tonumber(os.getenv("BENCH_CUSTOMERS"))
local width = tonumber(os.getenv("BENCH_WIDTH"))
local run = os.getenv("BENCH_RUN")
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

function request()
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

function response(status, headers, body)
  -- Every batch is new: anything but 201 means the run measured something else.
  if status ~= 201 then
    unexpected = unexpected + 1
  end
end

function done(summary, latency, requests)
  local not_created = 0
  for _, thread in ipairs(threads) do
    not_created = not_created + (thread:get("unexpected") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"not_created":%d,"connect_errors":%d,' ..
    '"read_errors":%d,"write_errors":%d,"timeouts":%d,"p50_us":%d,"p99_us":%d,"p99_9_us":%d,' ..
    '"max_us":%d}\n',
    summary.requests, summary.duration, not_created, errors.connect, errors.read, errors.write,
    errors.timeout, latency:percentile(50), latency:percentile(99), latency:percentile(99.9),
    latency.max))
end
