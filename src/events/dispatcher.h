// Delivers outbox events to subscribers after commit: at least once, in id order per lane, with
// each subscriber's progress kept in the database, retries with exponential backoff, and dead
// letters an admin can see and replay. Subscribers must be idempotent by event id: after a crash
// the events since the last saved cursor are delivered again.
//
// A subscriber may ask for several partitions: lane k then takes the events whose id % n == k,
// so a slow side effect (an SMS) runs n at a time while each lane keeps its own order.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/log.h"
#include "core/result.h"
#include "db/database.h"
#include "events/outbox.h"

namespace emporium::tracing {
class Tracer;
}

namespace emporium::events {

// What a handler says about one event.
struct Outcome {
    enum class Kind { kDone, kRetry, kGiveUp };
    Kind kind = Kind::kDone;
    std::string reason;  // for kRetry and kGiveUp: kept with the dead letter and logged

    static Outcome Done() { return {Kind::kDone, ""}; }
    // A passing failure (the network, a 503): try again after a backoff.
    static Outcome Retry(std::string reason) { return {Kind::kRetry, std::move(reason)}; }
    // Trying again cannot help: the event becomes a dead letter at once.
    static Outcome GiveUp(std::string reason) { return {Kind::kGiveUp, std::move(reason)}; }
};

using EventHandler = std::function<Outcome(const Event&)>;

struct Subscriber {
    std::string name;                // stable: progress and dead letters are kept under it
    std::vector<std::string> types;  // event types it wants ("order.placed", or "order.*"); empty: all
    EventHandler handle;             // called on the subscriber's own thread; an exception counts as a retry
    int partitions = 1;
};

// True when type is wanted by patterns: an exact name, a "prefix.*" pattern, or no patterns at all.
bool Wants(const std::vector<std::string>& patterns, std::string_view type);

struct DispatcherOptions {
    std::chrono::milliseconds poll_interval{500};  // how often idle lanes look for events written elsewhere
    std::int64_t batch = 200;
    std::chrono::milliseconds first_backoff{1000};
    std::chrono::milliseconds max_backoff{300'000};
    int max_attempts = 10;  // then the event becomes a dead letter and the lane moves on
    // Events every lane has passed are deleted once older than this (checked hourly); events a
    // dead letter still needs are kept.
    std::chrono::seconds keep{std::chrono::hours(24 * 7)};
    // Each event's handling is a root span ("event.dispatch") in the event's trace. Optional; must
    // outlive the dispatcher.
    tracing::Tracer* tracer = nullptr;
};

// The delay before attempt number `attempt` + 1 (attempt >= 1): first_backoff doubled each time,
// capped at max_backoff.
std::chrono::milliseconds Backoff(const DispatcherOptions& options, int attempt);

struct LaneProgress {
    std::string name;  // "notify", or "notify#1" for a partition
    std::int64_t last_event_id = 0;
    std::int64_t backlog = 0;                    // events after the cursor (of every type)
    std::optional<std::int64_t> oldest_pending;  // created_at of the first of them
};

struct DeadLetter {
    std::int64_t id = 0;
    std::string subscriber;
    std::int64_t event_id = 0;
    std::string event_type;
    int attempts = 0;
    std::string last_error;
    std::string status;  // dead, replaying, replayed
    std::int64_t failed_at = 0;
};

struct DeadLetterPage {
    std::vector<DeadLetter> items;
    std::int64_t total = 0;
};

// The dead-letter and cursor tables, shared by the in-process dispatcher and the RabbitMQ
// consumers (which keep no cursor: the broker is their progress).
class DeadLetters {
public:
    DeadLetters(db::Database& database, const Clock& clock) : database_(database), clock_(clock) {}

    // Records that subscriber gave up on event after attempts; a second record for the same pair
    // updates the first.
    void Record(std::string_view subscriber, const Event& event, int attempts, std::string_view error);
    DeadLetterPage List(std::int64_t page, std::int64_t per_page);
    // Marks a dead letter for another delivery; 404 when unknown, 409 unless it is dead.
    Result<DeadLetter> Replay(std::int64_t id);
    // Runs the handler on subscriber's letters marked for replay; returns how many it handled.
    int RunReplays(std::string_view subscriber, const EventHandler& handle);

private:
    db::Database& database_;
    const Clock& clock_;
};

class Dispatcher {
public:
    Dispatcher(db::Database& database, const Clock& clock, Logger logger, DispatcherOptions options);
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    // Adds a subscriber before Start. A subscriber seen for the first time starts after the
    // newest event that exists then: history is not replayed into a new side effect.
    void Add(const Subscriber& subscriber);

    // Starts one thread per lane. Stop (or the destructor) ends them after the event in hand;
    // Start after Stop starts them again (a node that lost the events lease and took it back).
    void Start();
    void Stop();

    // Tells idle lanes that events were just committed, so they need not wait for the poll.
    void Wake();

    // Synchronously runs every lane once over the events present now, ignoring backoff delays
    // (a retried event counts an attempt per call). For tests and tools; not while started.
    // Returns the events handled to completion (done or dead-lettered).
    std::int64_t Pump();

    std::vector<LaneProgress> Progress();
    // One lane's progress (for per-lane metrics); an empty LaneProgress for an unknown name.
    LaneProgress Progress(const std::string& lane);

    // Deletes events older than options.keep that every lane of this dispatcher has passed and
    // no dead letter waiting for a replay needs, in small batches. Returns how many.
    std::int64_t Purge();
    DeadLetters& dead_letters() { return dead_letters_; }

private:
    struct Lane;
    struct StepResult {
        std::int64_t completed = 0;
        std::optional<std::chrono::milliseconds> backoff;  // set after a retry
    };
    StepResult Step(Lane& lane);
    void Run(Lane& lane);
    void SaveCursor(Lane& lane, std::int64_t cursor);

    db::Database& database_;
    const Clock& clock_;
    Logger logger_;
    DispatcherOptions options_;
    DeadLetters dead_letters_;
    std::vector<std::unique_ptr<Lane>> lanes_;
    std::vector<std::thread> threads_;
    std::int64_t last_purge_ = 0;  // steady seconds; touched by lane 0's thread only

    std::mutex wake_mutex_;  // guards wake_generation_ and stopping_
    std::condition_variable wake_;
    std::uint64_t wake_generation_ = 0;
    bool stopping_ = false;
};

}  // namespace emporium::events
