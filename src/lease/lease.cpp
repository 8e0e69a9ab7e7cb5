#include "lease/lease.h"

#include <unistd.h>

#include <cstdio>
#include <random>

namespace emporium::lease {
namespace {

constexpr std::string_view kPresencePrefix = "node:";
// Presence rows of processes that died without releasing them are deleted after this.
constexpr std::int64_t kForgetDeadNodesMs = std::int64_t{3600} * 1000;

Holding ReadHolding(const db::Row& r) {
    return Holding{std::string(r.Text(0)), std::string(r.Text(1)), r.Int(2), r.Int(3), r.Int(4), r.Int(5)};
}

constexpr const char* kColumns = "name, owner, generation, acquired_at, renewed_at, expires_at";

}  // namespace

std::vector<db::Migration> Migrations(db::Dialect) {
    return {{"lease", 1,
             "CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT NOT NULL, generation BIGINT NOT NULL,"
             " acquired_at BIGINT NOT NULL, renewed_at BIGINT NOT NULL, expires_at BIGINT NOT NULL)"},
            {"lease", 2,
             "CREATE TABLE primary_term (id INTEGER PRIMARY KEY, term BIGINT NOT NULL, since BIGINT NOT NULL)"}};
}

std::int64_t PrimaryTerm(db::Database& database) {
    return database.Read(
        [](db::Connection& c) { return c.QueryInt("SELECT term FROM primary_term WHERE id = 1", {}, 1); });
}

std::int64_t BeginNextTerm(db::Database& database, std::int64_t now) {
    return database.Write([now](db::Connection& c) {
        std::int64_t term = 0;
        c.Query(
            "INSERT INTO primary_term (id, term, since) VALUES (1, 2, ?)"
            " ON CONFLICT (id) DO UPDATE SET term = primary_term.term + 1, since = excluded.since RETURNING term",
            {now}, [&term](const db::Row& r) { term = r.Int(0); });
        return term;
    });
}

std::int64_t UnixMillis(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

std::optional<Holding> TryAcquire(db::Database& database, std::string_view name, std::string_view owner,
                                  std::chrono::milliseconds ttl, std::int64_t now) {
    // One statement: the row is created, renewed by its owner, or taken over once expired. On
    // PostgreSQL a concurrent taker waits for this one and re-checks the condition afterwards.
    return database.Write([&](db::Connection& c) {
        std::optional<Holding> out;
        c.Query(std::string("INSERT INTO leases (") + kColumns +
                    ") VALUES (?, ?, 1, ?, ?, ?)"
                    " ON CONFLICT (name) DO UPDATE SET"
                    " generation = CASE WHEN leases.owner = excluded.owner THEN leases.generation"
                    " ELSE leases.generation + 1 END,"
                    " acquired_at = CASE WHEN leases.owner = excluded.owner THEN leases.acquired_at"
                    " ELSE excluded.acquired_at END,"
                    " owner = excluded.owner, renewed_at = excluded.renewed_at, expires_at = excluded.expires_at"
                    " WHERE leases.owner = excluded.owner OR leases.expires_at <= excluded.renewed_at"
                    " RETURNING " +
                    kColumns,
                {std::string(name), std::string(owner), now, now, now + ttl.count()},
                [&](const db::Row& r) { out = ReadHolding(r); });
        return out;
    });
}

std::optional<Holding> Renew(db::Database& database, const Holding& held, std::chrono::milliseconds ttl,
                             std::int64_t now) {
    return database.Write([&](db::Connection& c) {
        std::optional<Holding> out;
        c.Query(std::string("UPDATE leases SET renewed_at = ?, expires_at = ?"
                            " WHERE name = ? AND owner = ? AND generation = ? RETURNING ") +
                    kColumns,
                {now, now + ttl.count(), held.name, held.owner, held.generation},
                [&](const db::Row& r) { out = ReadHolding(r); });
        return out;
    });
}

void Release(db::Database& database, const Holding& held) {
    database.Write([&](db::Connection& c) {
        if (held.name.starts_with(kPresencePrefix)) {
            c.Execute("DELETE FROM leases WHERE name = ? AND owner = ? AND generation = ?",
                      {held.name, held.owner, held.generation});
        } else {
            // Kept (with its generation), expired: the next taker counts on from it.
            c.Execute("UPDATE leases SET expires_at = 0 WHERE name = ? AND owner = ? AND generation = ?",
                      {held.name, held.owner, held.generation});
        }
    });
}

bool Fence(db::Connection& c, const Holding& held, std::int64_t now) {
    // An UPDATE, not a SELECT: it takes the row lock that makes a concurrent takeover wait.
    return c.Execute(
               "UPDATE leases SET renewed_at = renewed_at"
               " WHERE name = ? AND owner = ? AND generation = ? AND expires_at > ?",
               {held.name, held.owner, held.generation, now}) == 1;
}

std::vector<Holding> List(db::Database& database) {
    return database.Read([&](db::Connection& c) {
        std::vector<Holding> out;
        c.Query(std::string("SELECT ") + kColumns + " FROM leases ORDER BY name", {},
                [&](const db::Row& r) { out.push_back(ReadHolding(r)); });
        return out;
    });
}

std::vector<Holding> LiveNodes(db::Database& database, std::int64_t now) {
    return database.Read([&](db::Connection& c) {
        std::vector<Holding> out;
        c.Query(std::string("SELECT ") + kColumns + " FROM leases WHERE name LIKE 'node:%' AND expires_at > ?" +
                    " ORDER BY name",
                {now}, [&](const db::Row& r) { out.push_back(ReadHolding(r)); });
        return out;
    });
}

// ------------------------------------------------------------------ the keeper

struct LeaseKeeper::Slot {
    Job job;
    bool presence = false;
    std::optional<Holding> held;  // guarded by the keeper's mutex_: read by Held() from any thread
    // Slot thread only:
    bool running = false;         // the job was started and not stopped since
    std::int64_t good_until = 0;  // past this without a renewal, the job stops
    bool reported_failure = false;
    // The periodic runner: its own thread, so that renewals go on during a long run.
    std::mutex run_mutex;  // guards run_stop
    std::condition_variable run_wake;
    bool run_stop = false;
    std::thread runner;
};

LeaseKeeper::LeaseKeeper(db::Database& database, std::string owner, const Clock& clock, Logger logger,
                         KeeperOptions options)
    : database_(database), owner_(std::move(owner)), clock_(clock), logger_(std::move(logger)), options_(options) {
    auto presence = std::make_unique<Slot>();
    presence->job.name = std::string(kPresencePrefix) + owner_;
    presence->presence = true;
    slots_.push_back(std::move(presence));
}

LeaseKeeper::~LeaseKeeper() {
    Stop();
}

void LeaseKeeper::Add(Job job) {
    auto slot = std::make_unique<Slot>();
    slot->job = std::move(job);
    slots_.push_back(std::move(slot));
}

void LeaseKeeper::Start() {
    std::lock_guard lock(mutex_);
    if (started_) return;
    started_ = true;
    threads_.reserve(slots_.size());
    for (auto& slot : slots_) {
        Slot* s = slot.get();
        threads_.emplace_back([this, s] { RunSlot(*s); });
    }
}

void LeaseKeeper::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
}

std::optional<Holding> LeaseKeeper::Held(std::string_view name) const {
    std::lock_guard lock(mutex_);
    for (const auto& slot : slots_) {
        if (slot->job.name == name) return slot->held;
    }
    return std::nullopt;
}

bool LeaseKeeper::Fence(db::Connection& c, std::string_view name) const {
    std::optional<Holding> held = Held(name);
    return held && lease::Fence(c, *held, UnixMillis(clock_.Now()));
}

std::string LeaseKeeper::MakeOwner() {
    char host[256] = {};
    if (gethostname(host, sizeof host - 1) != 0) std::snprintf(host, sizeof host, "unknown");
    std::random_device random;
    char suffix[16];
    std::snprintf(suffix, sizeof suffix, "%08x", static_cast<unsigned>(random()));
    return std::string(host) + ":" + std::to_string(getpid()) + ":" + suffix;
}

bool LeaseKeeper::WaitStopping(std::chrono::milliseconds wait) {
    std::unique_lock lock(mutex_);
    return wake_.wait_for(lock, wait, [this] { return stopping_; });
}

void LeaseKeeper::RunSlot(Slot& slot) {
    const auto interval = options_.ttl / 3;
    do {
        Step(slot);
    } while (!WaitStopping(interval));
    if (!slot.running) return;
    std::optional<Holding> held;
    {
        std::lock_guard lock(mutex_);
        held = slot.held;
    }
    Lose(slot, "stopping");
    try {
        if (held) Release(database_, *held);
    } catch (const std::exception& e) {
        LogWarn(logger_, LogFields("lease release failed").Add("lease", slot.job.name).Add("error", e.what()));
    }
}

void LeaseKeeper::Step(Slot& slot) {
    const std::int64_t now = UnixMillis(clock_.Now());
    std::optional<Holding> current;
    {
        std::lock_guard lock(mutex_);
        current = slot.held;
    }
    std::optional<Holding> got;
    try {
        got = slot.running && current ? Renew(database_, *current, options_.ttl, now)
                                      : TryAcquire(database_, slot.job.name, owner_, options_.ttl, now);
        if (slot.presence && !slot.running && got) {
            database_.Write([&](db::Connection& c) {
                c.Execute("DELETE FROM leases WHERE name LIKE 'node:%' AND expires_at < ?", {now - kForgetDeadNodesMs});
            });
        }
    } catch (const std::exception& e) {
        if (!slot.reported_failure) {
            LogWarn(logger_, LogFields("lease renewal failed").Add("lease", slot.job.name).Add("error", e.what()));
            slot.reported_failure = true;
        }
        if (slot.running && now >= slot.good_until) Lose(slot, "the database could not be reached in time");
        return;
    }
    slot.reported_failure = false;
    if (!got) {
        if (slot.running) Lose(slot, "another node holds it");
        return;
    }
    {
        std::lock_guard lock(mutex_);
        slot.held = got;
    }
    slot.good_until = now + options_.ttl.count() - (options_.ttl / 3).count();
    if (slot.running) return;
    slot.running = true;
    if (!slot.presence) {
        LogInfo(logger_, LogFields("lease acquired")
                             .Add("lease", slot.job.name)
                             .Add("generation", static_cast<long long>(got->generation))
                             .Add("owner", owner_));
    }
    if (slot.job.start) slot.job.start(*got);
    if (slot.job.run && slot.job.every.count() > 0) {
        {
            std::lock_guard lock(slot.run_mutex);
            slot.run_stop = false;
        }
        slot.runner = std::thread([this, &slot] {
            for (;;) {
                try {
                    slot.job.run();
                } catch (const std::exception& e) {
                    LogError(logger_,
                             LogFields("leased job failed").Add("lease", slot.job.name).Add("error", e.what()));
                }
                std::unique_lock lock(slot.run_mutex);
                if (slot.run_wake.wait_for(lock, slot.job.every, [&] { return slot.run_stop; })) return;
            }
        });
    }
}

void LeaseKeeper::Lose(Slot& slot, const char* why) {
    {
        std::lock_guard lock(mutex_);
        slot.held.reset();
    }
    if (!slot.presence) {
        LogInfo(logger_, LogFields("lease given up").Add("lease", slot.job.name).Add("why", why).Add("owner", owner_));
    }
    if (slot.runner.joinable()) {
        {
            std::lock_guard lock(slot.run_mutex);
            slot.run_stop = true;
        }
        slot.run_wake.notify_all();
        slot.runner.join();  // after the run in hand
    }
    if (slot.job.stop) slot.job.stop();
    slot.running = false;
}

}  // namespace emporium::lease
