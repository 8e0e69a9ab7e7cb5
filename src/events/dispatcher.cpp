#include "events/dispatcher.h"

#include <algorithm>

#include "core/trace.h"
#include "tracing/tracer.h"

namespace emporium::events {

bool Wants(const std::vector<std::string>& patterns, std::string_view type) {
    if (patterns.empty()) return true;
    return std::any_of(patterns.begin(), patterns.end(), [&](const std::string& p) {
        if (p.size() >= 2 && p.ends_with(".*")) return type.starts_with(std::string_view{p}.substr(0, p.size() - 1));
        return p == type;
    });
}

std::chrono::milliseconds Backoff(const DispatcherOptions& options, int attempt) {
    std::chrono::milliseconds delay = options.first_backoff;
    for (int i = 1; i < attempt && delay < options.max_backoff; ++i) delay *= 2;
    return std::min(delay, options.max_backoff);
}

namespace {

// Runs a handler, turning an escaped exception into a retry: a bug or an outage must not skip an event.
// The event's trace is current meanwhile: the handler's log lines and what it queues carry it.
Outcome Invoke(tracing::Tracer* tracer, const EventHandler& handle, const Event& event) {
    tracing::WorkScope trace(tracer, "event.dispatch", tracing::SpanKind::kConsumer, event.traceparent);
    trace.Set("messaging.event_type", event.type);
    try {
        Outcome outcome = handle(event);
        if (outcome.kind != Outcome::Kind::kDone) trace.SetError();
        return outcome;
    } catch (const std::exception& e) {
        trace.SetError();
        return Outcome::Retry(std::string("exception: ") + e.what());
    }
}

}  // namespace

// --- dead letters ---------------------------------------------------------------------------

void DeadLetters::Record(std::string_view subscriber, const Event& event, int attempts, std::string_view error) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    database_.Write([&](db::Connection& c) {
        c.Execute(
            "INSERT INTO dead_letters (subscriber, event_id, attempts, last_error, status, failed_at, updated_at)"
            " VALUES (?, ?, ?, ?, 'dead', ?, ?) ON CONFLICT (subscriber, event_id) DO UPDATE SET"
            " attempts = dead_letters.attempts + excluded.attempts, last_error = excluded.last_error,"
            " status = 'dead', failed_at = excluded.failed_at, updated_at = excluded.updated_at",
            {std::string(subscriber), event.id, static_cast<std::int64_t>(attempts), std::string(error), now, now});
    });
}

namespace {

constexpr std::string_view kDeadLetterColumns =
    "SELECT d.id, d.subscriber, d.event_id, COALESCE(o.type, ''), d.attempts, d.last_error, d.status, d.failed_at"
    " FROM dead_letters d LEFT JOIN outbox o ON o.id = d.event_id";

DeadLetter ReadDeadLetter(const db::Row& r) {
    return {r.Int(0),
            std::string(r.Text(1)),
            r.Int(2),
            std::string(r.Text(3)),
            static_cast<int>(r.Int(4)),
            std::string(r.Text(5)),
            std::string(r.Text(6)),
            r.Int(7)};
}

}  // namespace

DeadLetterPage DeadLetters::List(std::int64_t page, std::int64_t per_page) {
    return database_.Read([&](db::Connection& c) {
        DeadLetterPage out;
        out.total = c.QueryInt("SELECT COUNT(*) FROM dead_letters");
        c.Query(std::string(kDeadLetterColumns) + " ORDER BY d.id DESC LIMIT ? OFFSET ?",
                {per_page, (page - 1) * per_page}, [&](const db::Row& r) { out.items.push_back(ReadDeadLetter(r)); });
        return out;
    });
}

Result<DeadLetter> DeadLetters::Replay(std::int64_t id) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    return database_.Write([&](db::Connection& c) -> Result<DeadLetter> {
        std::optional<DeadLetter> letter;
        c.Query(std::string(kDeadLetterColumns) + " WHERE d.id = ?", {id},
                [&](const db::Row& r) { letter = ReadDeadLetter(r); });
        if (!letter) return Error::NotFound("There is no dead letter " + std::to_string(id) + ".");
        if (letter->status != "dead") {
            return Error::Conflict("invalid_transition",
                                   "Only a dead letter can be replayed; this one is " + letter->status + ".");
        }
        c.Execute("UPDATE dead_letters SET status = 'replaying', updated_at = ? WHERE id = ?", {now, id});
        letter->status = "replaying";
        return *letter;
    });
}

int DeadLetters::RunReplays(std::string_view subscriber, const EventHandler& handle) {
    struct Pending {
        std::int64_t id;
        Event event;
    };
    std::vector<Pending> pending = database_.Read([&](db::Connection& c) {
        std::vector<Pending> out;
        c.Query(
            "SELECT d.id, o.id, o.type, o.aggregate_id, o.payload, o.created_at, o.traceparent FROM dead_letters d"
            " JOIN outbox o ON o.id = d.event_id WHERE d.status = 'replaying' AND d.subscriber = ? ORDER BY d.id"
            " LIMIT 100",
            {std::string(subscriber)}, [&](const db::Row& r) {
                out.push_back({r.Int(0), ReadEvent(r, 1)});
            });
        return out;
    });
    for (const Pending& p : pending) {
        Outcome outcome = Invoke(nullptr, handle, p.event);
        const std::int64_t now = UnixSeconds(clock_.Now());
        database_.Write([&](db::Connection& c) {
            if (outcome.kind == Outcome::Kind::kDone) {
                c.Execute("UPDATE dead_letters SET status = 'replayed', updated_at = ? WHERE id = ?", {now, p.id});
            } else {
                c.Execute(
                    "UPDATE dead_letters SET status = 'dead', attempts = attempts + 1, last_error = ?, failed_at = ?,"
                    " updated_at = ? WHERE id = ?",
                    {outcome.reason, now, now, p.id});
            }
        });
    }
    return static_cast<int>(pending.size());
}

// --- dispatcher -------------------------------------------------------------------------------

struct Dispatcher::Lane {
    std::string name;  // cursor key
    std::string subscriber;
    std::vector<std::string> types;
    EventHandler handle;
    int partition = 0;
    int partitions = 1;
    std::int64_t cursor = 0;
    int attempts = 0;  // of the event after the cursor
    std::string last_error;
};

Dispatcher::Dispatcher(db::Database& database, const Clock& clock, Logger logger, DispatcherOptions options)
    : database_(database),
      clock_(clock),
      logger_(std::move(logger)),
      options_(options),
      dead_letters_(database, clock) {}

Dispatcher::~Dispatcher() {
    Stop();
}

void Dispatcher::Add(const Subscriber& subscriber) {
    const int n = std::max(1, subscriber.partitions);
    const std::int64_t now = UnixSeconds(clock_.Now());
    for (int k = 0; k < n; ++k) {
        auto lane = std::make_unique<Lane>();
        lane->subscriber = subscriber.name;
        lane->name = n == 1 ? subscriber.name : subscriber.name + "#" + std::to_string(k);
        lane->types = subscriber.types;
        lane->handle = subscriber.handle;
        lane->partition = k;
        lane->partitions = n;
        lane->cursor = database_.Write([&](db::Connection& c) {
            c.Execute(
                "INSERT INTO event_cursors (subscriber, last_id, updated_at) VALUES (?, ?, ?)"
                " ON CONFLICT (subscriber) DO NOTHING",
                {lane->name, LastId(c), now});
            return c.QueryInt("SELECT last_id FROM event_cursors WHERE subscriber = ?", {lane->name});
        });
        lanes_.push_back(std::move(lane));
    }
}

void Dispatcher::SaveCursor(Lane& lane, std::int64_t cursor) {
    if (cursor == lane.cursor) return;
    const std::int64_t now = UnixSeconds(clock_.Now());
    database_.Write([&](db::Connection& c) {
        c.Execute("UPDATE event_cursors SET last_id = ?, updated_at = ? WHERE subscriber = ?",
                  {cursor, now, lane.name});
    });
    lane.cursor = cursor;
}

Dispatcher::StepResult Dispatcher::Step(Lane& lane) {
    StepResult result;
    std::vector<Event> batch =
        database_.Read([&](db::Connection& c) { return ReadAfter(c, lane.cursor, options_.batch); });
    std::int64_t done_up_to = lane.cursor;
    for (const Event& event : batch) {
        if (event.id % lane.partitions != lane.partition || !Wants(lane.types, event.type)) {
            done_up_to = event.id;
            continue;
        }
        Outcome outcome = Invoke(options_.tracer, lane.handle, event);
        if (outcome.kind == Outcome::Kind::kRetry && lane.attempts + 1 < options_.max_attempts) {
            ++lane.attempts;
            lane.last_error = outcome.reason;
            LogWarn(logger_, LogFields("event retry")
                                 .Add("subscriber", lane.name)
                                 .Add("event_id", static_cast<long long>(event.id))
                                 .Add("type", event.type)
                                 .Add("attempt", static_cast<long long>(lane.attempts))
                                 .Add("reason", outcome.reason));
            result.backoff = Backoff(options_, lane.attempts);
            break;
        }
        if (outcome.kind != Outcome::Kind::kDone) {
            dead_letters_.Record(lane.subscriber, event, lane.attempts + 1, outcome.reason);
            LogError(logger_, LogFields("event dead letter")
                                  .Add("subscriber", lane.name)
                                  .Add("event_id", static_cast<long long>(event.id))
                                  .Add("type", event.type)
                                  .Add("attempts", static_cast<long long>(lane.attempts) + 1)
                                  .Add("reason", outcome.reason));
        }
        lane.attempts = 0;
        lane.last_error.clear();
        done_up_to = event.id;
        ++result.completed;
    }
    SaveCursor(lane, done_up_to);
    return result;
}

void Dispatcher::Run(Lane& lane) {
    std::uint64_t seen_generation = 0;
    for (;;) {
        std::chrono::milliseconds wait = options_.poll_interval;
        try {
            dead_letters_.RunReplays(lane.partitions == 1 || lane.partition == 0 ? lane.subscriber : "", lane.handle);
            StepResult r = Step(lane);
            if (r.backoff) {
                wait = *r.backoff;
            } else if (r.completed > 0 || lane.cursor < database_.Read([](db::Connection& c) { return LastId(c); })) {
                wait = std::chrono::milliseconds(0);  // more may be waiting: go on at once
            }
        } catch (const std::exception& e) {
            LogError(logger_, LogFields("event lane failed").Add("subscriber", lane.name).Add("error", e.what()));
            wait = options_.poll_interval;
        }
        if (&lane == lanes_.front().get()) {
            // Lane 0 also keeps the outbox from growing without end, once an hour.
            const std::int64_t now =
                std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now().time_since_epoch())
                    .count();
            if (now - last_purge_ >= 3600) {
                last_purge_ = now;
                try {
                    Purge();
                } catch (const std::exception& e) {
                    LogError(logger_, LogFields("event purge failed").Add("error", e.what()));
                }
            }
        }
        std::unique_lock lock(wake_mutex_);
        if (stopping_) return;
        if (wait.count() == 0) continue;
        const bool backing_off = lane.attempts > 0;
        wake_.wait_for(lock, wait, [&] { return stopping_ || (!backing_off && wake_generation_ != seen_generation); });
        if (stopping_) return;
        seen_generation = wake_generation_;
    }
}

void Dispatcher::Start() {
    {
        std::lock_guard lock(wake_mutex_);
        stopping_ = false;  // started again after a Stop (a lease taken back)
    }
    for (auto& lane : lanes_) {
        Lane* l = lane.get();
        threads_.emplace_back([this, l] { Run(*l); });
    }
}

void Dispatcher::Stop() {
    {
        std::lock_guard lock(wake_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
}

void Dispatcher::Wake() {
    {
        std::lock_guard lock(wake_mutex_);
        ++wake_generation_;
    }
    wake_.notify_all();
}

std::int64_t Dispatcher::Pump() {
    std::int64_t completed = 0;
    for (auto& lane : lanes_) {
        dead_letters_.RunReplays(lane->partitions == 1 || lane->partition == 0 ? lane->subscriber : "", lane->handle);
        for (;;) {
            StepResult r = Step(*lane);
            completed += r.completed;
            if (r.backoff || r.completed == 0) break;
        }
    }
    return completed;
}

std::int64_t Dispatcher::Purge() {
    if (lanes_.empty()) return 0;
    const std::int64_t cutoff = UnixSeconds(clock_.Now()) - options_.keep.count();
    std::int64_t floor = lanes_.front()->cursor;
    database_.Read([&](db::Connection& c) {
        for (auto& lane : lanes_) {
            floor = std::min(floor, c.QueryInt("SELECT last_id FROM event_cursors WHERE subscriber = ?", {lane->name}));
        }
    });
    std::int64_t purged = 0;
    for (;;) {
        // Small batches: each is one short write, so checkouts never wait long behind a purge.
        std::int64_t n = database_.Write([&](db::Connection& c) {
            return c.Execute(
                "DELETE FROM outbox WHERE id IN (SELECT id FROM outbox WHERE id <= ? AND created_at < ?"
                " AND id NOT IN (SELECT event_id FROM dead_letters WHERE status IN ('dead', 'replaying'))"
                " ORDER BY id LIMIT 2000)",
                {floor, cutoff});
        });
        purged += n;
        if (n < 2000) break;
    }
    if (purged > 0) LogInfo(logger_, LogFields("events purged").Add("events", static_cast<long long>(purged)));
    return purged;
}

namespace {

LaneProgress ReadProgress(db::Connection& c, const std::string& lane) {
    LaneProgress p;
    p.name = lane;
    p.last_event_id = c.QueryInt("SELECT last_id FROM event_cursors WHERE subscriber = ?", {lane});
    p.backlog = c.QueryInt("SELECT COUNT(*) FROM outbox WHERE id > ?", {p.last_event_id});
    c.Query("SELECT created_at FROM outbox WHERE id > ? ORDER BY id LIMIT 1", {p.last_event_id},
            [&](const db::Row& r) { p.oldest_pending = r.Int(0); });
    return p;
}

}  // namespace

std::vector<LaneProgress> Dispatcher::Progress() {
    return database_.Read([&](db::Connection& c) {
        std::vector<LaneProgress> out;
        for (auto& lane : lanes_) out.push_back(ReadProgress(c, lane->name));
        return out;
    });
}

LaneProgress Dispatcher::Progress(const std::string& lane) {
    for (auto& l : lanes_) {
        if (l->name == lane) return database_.Read([&](db::Connection& c) { return ReadProgress(c, lane); });
    }
    return {};
}

}  // namespace emporium::events
