-- Searches that are new in their words, not only in their filters: every request asks for one or
-- two words drawn from the demo catalog's vocabulary (a third of them two), plus a min_price never
-- asked before (as bench/new_min_price.lua does, so that a pair of words asked twice still misses
-- the cache). Their pages show products no search has shown yet, so most of them run on a worker
-- and read their rows from the database. Counts the answers by status ("statuses: ...").
local threads = {}
local thread_id = 0

local words = {
    "shadow", "legends", "robot", "hyper", "orange", "battery", "dungeon", "microphone", "racers",
    "iron", "soundbar", "arctic", "obsidian", "silent", "definitive", "display", "forge", "purple",
    "frost", "mythic", "edition", "stick", "horizon", "green", "alchemist", "snapback", "sports",
    "shooter", "starter", "deluxe", "apparel", "xbox", "hollow", "figure", "shirt", "captain",
    "adventure", "vortex", "strategy", "octave", "puzzle", "poster", "black", "empire", "pilot",
}

function setup(thread)
    thread:set("id", thread_id)
    thread_id = thread_id + 1
    table.insert(threads, thread)
end

function init(args)
    n = id  -- threads take turns: thread k asks k, k + 16, k + 32, ... (up to 16 threads)
    statuses = {}
    math.randomseed(os.time() * 16 + id)
    max_price = 90000000 + os.time() % 10000000
end

function request()
    n = n + 16
    local q = words[math.random(#words)]
    if math.random(3) == 1 then
        q = q .. "%20" .. words[math.random(#words)]
    end
    return wrk.format("GET", "/api/products?per_page=24&q=" .. q .. "&min_price=" .. (n % 5000) ..
        "&max_price=" .. (max_price + n))
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
