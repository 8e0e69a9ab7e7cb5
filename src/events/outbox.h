// The transactional outbox: a business change writes its events in the same transaction as the
// change itself, so an event exists exactly when the change committed. Delivery to subscribers
// (and RabbitMQ) reads from here after commit.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db/database.h"
#include "db/migrations.h"

namespace emporium::events {

std::vector<db::Migration> Migrations(db::Dialect dialect);

// Appends an event inside the caller's transaction. payload_json must be a JSON object.
// Returns the event's id. The event carries the calling thread's current trace.
std::int64_t Append(db::Connection& c, std::string_view type, std::string_view aggregate_id,
                    std::string_view payload_json, std::int64_t now);

struct Event {
    std::int64_t id = 0;
    std::string type;
    std::string aggregate_id;
    std::string payload_json;
    std::int64_t created_at = 0;
    // The trace of the work that appended it (core/trace.h), "" when none: its handlers, the
    // broker's message and what they queue in turn carry it on.
    std::string traceparent;
};

// An event from a row of id, type, aggregate_id, payload, created_at, traceparent starting at
// column `first`.
Event ReadEvent(const db::Row& r, int first = 0);

// One event; nullopt when unknown.
std::optional<Event> Find(db::Connection& c, std::int64_t id);

// The newest event's id, 0 when there is none.
std::int64_t LastId(db::Connection& c);

// Events after after_id, oldest first, at most limit.
std::vector<Event> ReadAfter(db::Connection& c, std::int64_t after_id, std::int64_t limit);

}  // namespace emporium::events
