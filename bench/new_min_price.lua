-- Every request asks for a min_price never asked before, so the catalog cache never answers: each
-- one runs its query. The run's own max_price (above every price, so it filters nothing) keeps
-- runs apart: without it a warm-up and the run after it asked the same min_prices, and the
-- measured run's first seconds were answered from the cache the warm-up had filled. Counts the answers by status and prints them at the end ("statuses: ...").
-- An argument after `--` paces each connection: one request every that many milliseconds.
local threads = {}
local thread_id = 0

function setup(thread)
    thread:set("id", thread_id)
    thread_id = thread_id + 1
    table.insert(threads, thread)
end

function init(args)
    n = id  -- threads take turns: thread k asks k, k + 16, k + 32, ... (up to 16 threads)
    statuses = {}
    pause = tonumber(args[1] or "0")
    -- New every second, and runs are seconds apart (wrk's warm-up alone is 2 s).
    max_price = 90000000 + os.time() % 10000000
end

function delay()
    return pause
end

function request()
    n = n + 16
    return wrk.format("GET", wrk.path .. "&min_price=" .. n .. "&max_price=" .. max_price)
end

function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
        for status, count in pairs(thread:get("statuses")) do
            total[status] = (total[status] or 0) + count
        end
    end
    local parts = {}
    for status, count in pairs(total) do
        table.insert(parts, status .. "=" .. count)
    end
    table.sort(parts)
    io.write("statuses: " .. table.concat(parts, " ") .. "\n")
end
