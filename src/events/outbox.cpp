#include "events/outbox.h"

#include "core/trace.h"

namespace emporium::events {

std::vector<db::Migration> Migrations(db::Dialect dialect) {
    return {{"events", 1,
             "CREATE TABLE outbox (" + db::IdColumn(dialect) +
                 ", type TEXT NOT NULL, aggregate_id TEXT NOT NULL, payload TEXT NOT NULL,"
                 " created_at BIGINT NOT NULL);"
                 "CREATE INDEX outbox_type ON outbox (type, id);"},
            {"events", 2,
             "CREATE TABLE event_cursors (subscriber TEXT PRIMARY KEY, last_id BIGINT NOT NULL,"
             " updated_at BIGINT NOT NULL);"
             "CREATE TABLE dead_letters (" +
                 db::IdColumn(dialect) +
                 ", subscriber TEXT NOT NULL, event_id BIGINT NOT NULL, attempts INTEGER NOT NULL,"
                 " last_error TEXT NOT NULL, status TEXT NOT NULL, failed_at BIGINT NOT NULL,"
                 " updated_at BIGINT NOT NULL, UNIQUE (subscriber, event_id));"
                 "CREATE INDEX dead_letters_status ON dead_letters (status, subscriber);"},
            {"events", 3, "ALTER TABLE outbox ADD COLUMN traceparent TEXT NOT NULL DEFAULT ''"}};
}

Event ReadEvent(const db::Row& r, int first) {
    return {r.Int(first),
            std::string(r.Text(first + 1)),
            std::string(r.Text(first + 2)),
            std::string(r.Text(first + 3)),
            r.Int(first + 4),
            std::string(r.Text(first + 5))};
}

std::int64_t Append(db::Connection& c, std::string_view type, std::string_view aggregate_id,
                    std::string_view payload_json, std::int64_t now) {
    return c.QueryInt(
        "INSERT INTO outbox (type, aggregate_id, payload, created_at, traceparent) VALUES (?, ?, ?, ?, ?) RETURNING id",
        {std::string(type), std::string(aggregate_id), std::string(payload_json), now, CurrentTraceparent()});
}

std::optional<Event> Find(db::Connection& c, std::int64_t id) {
    std::optional<Event> out;
    c.Query("SELECT id, type, aggregate_id, payload, created_at, traceparent FROM outbox WHERE id = ?", {id},
            [&](const db::Row& r) { out = ReadEvent(r); });
    return out;
}

std::int64_t LastId(db::Connection& c) {
    return c.QueryInt("SELECT COALESCE(MAX(id), 0) FROM outbox");
}

std::vector<Event> ReadAfter(db::Connection& c, std::int64_t after_id, std::int64_t limit) {
    std::vector<Event> out;
    c.Query(
        "SELECT id, type, aggregate_id, payload, created_at, traceparent FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
        {after_id, limit}, [&](const db::Row& r) { out.push_back(ReadEvent(r)); });
    return out;
}

}  // namespace emporium::events
