// ops::BackupManifest::FromJson, which reads a backup's manifest from disk and, on a standby, from
// the primary over the network. Whatever it accepts survives a round trip through ToJson (and so
// stays JSON: every number finite).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "ops/backup.h"

namespace {

// Boost.JSON's default number parsing is not always correctly rounded: "99e91" can come back a
// unit in the last place off. The duration is informational; equal to 12 digits is the same.
bool Close(double a, double b) {
    return std::isfinite(a) && std::isfinite(b) && std::fabs(a - b) <= 1e-12 * std::max(std::fabs(a), std::fabs(b));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using emporium::ops::BackupManifest;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::optional<BackupManifest> m = BackupManifest::FromJson(text);
    if (!m) return 0;
    const std::optional<BackupManifest> again = BackupManifest::FromJson(m->ToJson());
    if (!again || again->name != m->name || again->file != m->file || again->sha256 != m->sha256 ||
        again->created_at != m->created_at || again->bytes != m->bytes || again->database_bytes != m->database_bytes ||
        again->orders != m->orders || !Close(again->seconds, m->seconds)) {
        __builtin_trap();
    }
    return 0;
}
