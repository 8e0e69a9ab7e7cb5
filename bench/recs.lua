-- Recommendations for random products of the catalog (RECS_MAX_ID, from the environment), each
-- connection paced at one request every RECS_DELAY_MS: 20 connections every 100 ms make 200
-- requests/s. Random ids over a large catalog mostly miss the cache: the model answers.
local max_id = tonumber(os.getenv("RECS_MAX_ID") or "50000")
local delay_ms = tonumber(os.getenv("RECS_DELAY_MS") or "100")

function setup(thread)
    thread:set("seed", math.random(1, 1000000))
end

function init(args)
    math.randomseed(seed)
end

function request()
    return wrk.format("GET", "/api/products/" .. math.random(1, max_id) .. "/recommendations?limit=10")
end

function delay()
    return delay_ms
end

-- Every answer must be 200: a product may be archived or unknown only if the seed made it so,
-- and the seeded catalog has neither.
function done(summary, latency, requests)
    local e = summary.errors
    io.write(string.format(
        '{"requests":%d,"seconds":%.3f,"p50_ms":%.3f,"p95_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,' ..
        '"non_2xx":%d,"socket_errors":%d}\n',
        summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
        latency:percentile(99) / 1000, latency.max / 1000, e.status, e.connect + e.read + e.write + e.timeout))
end
