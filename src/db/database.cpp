#include "db/database.h"

namespace emporium::db {

std::int64_t Connection::QueryInt(std::string_view sql, const Params& params, std::int64_t fallback) {
    std::int64_t out = fallback;
    bool first = true;
    Query(sql, params, [&](const Row& row) {
        if (first && !row.IsNull(0)) out = row.Int(0);
        first = false;
    });
    return out;
}

}  // namespace emporium::db
