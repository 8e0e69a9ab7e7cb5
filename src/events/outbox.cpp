#include "events/outbox.h"

namespace emporium::events {

std::vector<db::Migration> Migrations(db::Dialect dialect) {
    return {{"events", 1,
             "CREATE TABLE outbox (" + db::IdColumn(dialect) +
                 ", type TEXT NOT NULL, aggregate_id TEXT NOT NULL, payload TEXT NOT NULL,"
                 " created_at BIGINT NOT NULL);"
                 "CREATE INDEX outbox_type ON outbox (type, id);"}};
}

std::int64_t Append(db::Connection& c, std::string_view type, std::string_view aggregate_id,
                    std::string_view payload_json, std::int64_t now) {
    return c.QueryInt("INSERT INTO outbox (type, aggregate_id, payload, created_at) VALUES (?, ?, ?, ?) RETURNING id",
                      {std::string(type), std::string(aggregate_id), std::string(payload_json), now});
}

std::vector<Event> ReadAfter(db::Connection& c, std::int64_t after_id, std::int64_t limit) {
    std::vector<Event> out;
    c.Query(
        "SELECT id, type, aggregate_id, payload, created_at FROM outbox WHERE id > ? ORDER BY id LIMIT ?",
        {after_id, limit}, [&](const db::Row& r) {
            out.push_back({r.Int(0), std::string(r.Text(1)), std::string(r.Text(2)), std::string(r.Text(3)), r.Int(4)});
        });
    return out;
}

}  // namespace emporium::events
