#include "ops/alerts.h"

#include <algorithm>
#include <cstdio>

namespace emporium::ops {
namespace {

constexpr double kFirstBucket = 0.00025;

int BucketOf(double seconds) {
    int b = 0;
    double bound = kFirstBucket;
    while (b < RequestWindow::kBuckets - 1 && seconds > bound) {
        bound *= 2;
        ++b;
    }
    return b;
}

double BucketBound(int b) {
    double bound = kFirstBucket;
    for (int i = 0; i < b; ++i) bound *= 2;
    return bound;
}

int GroupIndex(std::string_view group) {
    const auto& groups = RequestWindow::Groups();
    for (std::size_t i = 0; i < groups.size(); ++i) {
        if (groups[i] == group) return static_cast<int>(i);
    }
    return static_cast<int>(groups.size()) - 1;
}

std::string Figure(double value, std::string_view unit) {
    char out[64];
    if (unit == "%") {
        std::snprintf(out, sizeof out, "%.1f%%", value * 100);
    } else if (unit == "s") {
        std::snprintf(out, sizeof out, "%.2f s", value);
    } else {
        std::snprintf(out, sizeof out, "%.4g%s%s", value, unit.empty() ? "" : " ", std::string(unit).c_str());
    }
    return out;
}

}  // namespace

std::string_view RouteGroup(std::string_view route) {
    if (route.starts_with("/api/products") || route.starts_with("/api/categories") || route.starts_with("/api/store")) {
        return "catalog";
    }
    if (route.starts_with("/api/cart") || route.starts_with("/api/checkout") || route.starts_with("/api/orders") ||
        route.starts_with("/api/seller/orders")) {
        return "orders";
    }
    if (route.starts_with("/api/auth") || route.starts_with("/api/me")) return "accounts";
    if (route.starts_with("/api/admin") || route.starts_with("/api/seller")) return "admin";
    if (route == "static") return "web";
    return "other";
}

const std::vector<std::string>& RequestWindow::Groups() {
    static const std::vector<std::string> kGroups = {"catalog", "orders", "accounts", "admin", "web", "other"};
    return kGroups;
}

void RequestWindow::Record(std::string_view route, int status, double seconds) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    const int group = GroupIndex(RouteGroup(route));
    const int bucket = BucketOf(seconds);
    std::lock_guard lock(mutex_);
    Slot& slot = slots_[static_cast<std::size_t>(now % kSlots)];
    if (slot.second != now) {
        slot.second = now;
        slot.requests = 0;
        slot.errors = 0;
        slot.latency.assign(Groups().size(), {});
    }
    ++slot.requests;
    if (status >= 500) ++slot.errors;
    ++slot.latency[static_cast<std::size_t>(group)][static_cast<std::size_t>(bucket)];
}

RequestWindow::Figures RequestWindow::Totals(std::chrono::seconds window) const {
    const std::int64_t now = UnixSeconds(clock_.Now());
    Figures f;
    std::lock_guard lock(mutex_);
    for (const Slot& s : slots_) {
        if (s.second > now - window.count() && s.second <= now) {
            f.requests += s.requests;
            f.errors += s.errors;
        }
    }
    return f;
}

std::optional<double> RequestWindow::P99(std::string_view group, std::chrono::seconds window,
                                         std::int64_t min_requests) const {
    const std::int64_t now = UnixSeconds(clock_.Now());
    const auto g = static_cast<std::size_t>(GroupIndex(group));
    std::array<std::int64_t, kBuckets> sum{};
    std::int64_t total = 0;
    {
        std::lock_guard lock(mutex_);
        for (const Slot& s : slots_) {
            if (s.second <= now - window.count() || s.second > now || s.latency.empty()) continue;
            for (int b = 0; b < kBuckets; ++b) {
                sum[static_cast<std::size_t>(b)] += s.latency[g][static_cast<std::size_t>(b)];
                total += s.latency[g][static_cast<std::size_t>(b)];
            }
        }
    }
    if (total < std::max<std::int64_t>(1, min_requests)) return std::nullopt;
    const double wanted = 0.99 * static_cast<double>(total);
    std::int64_t seen = 0;
    for (int b = 0; b < kBuckets; ++b) {
        seen += sum[static_cast<std::size_t>(b)];
        if (static_cast<double>(seen) >= wanted) return BucketBound(b);
    }
    return BucketBound(kBuckets - 1);
}

std::string AlertNotice::Text(std::string_view shop) const {
    const char* word = kind == Kind::kResolved ? "RESOLVED" : (kind == Kind::kRepeat ? "STILL FIRING" : "FIRING");
    std::string out = std::string(shop) + " alert " + word + " " + rule + ": " + summary + " is " +
                      Figure(value, unit) + " (threshold " + Figure(threshold, unit) + "), since " +
                      FormatRfc3339(since) + ".";
    return out;
}

Alerter::Alerter(std::vector<AlertRule> rules, Sink sink, const Clock& clock, Logger logger, AlerterOptions options)
    : sink_(std::move(sink)), clock_(clock), logger_(std::move(logger)), options_(options) {
    for (AlertRule& r : rules) tracked_.push_back({std::move(r)});
}

Alerter::~Alerter() {
    Stop();
}

void Alerter::Evaluate() {
    // Rules read outside the lock (a read may query the database); notices go out after it.
    std::vector<std::optional<double>> values = ReadRules();
    std::vector<AlertNotice> notices = Advance(values, UnixSeconds(clock_.Now()));
    Send(notices);
}

std::vector<std::optional<double>> Alerter::ReadRules() {
    std::vector<std::optional<double>> values;
    {
        std::lock_guard lock(mutex_);
        values.resize(tracked_.size());
    }
    for (std::size_t i = 0; i < values.size(); ++i) {
        try {
            values[i] = tracked_[i].rule.read();
        } catch (const std::exception& e) {
            LogWarn(logger_,
                    LogFields("alert rule cannot be read").Add("rule", tracked_[i].rule.name).Add("error", e.what()));
        }
    }
    return values;
}

std::vector<AlertNotice> Alerter::Advance(const std::vector<std::optional<double>>& values, std::int64_t now) {
    std::vector<AlertNotice> notices;
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < tracked_.size(); ++i) {
        Tracked& t = tracked_[i];
        t.value = values[i];
        if (!t.value) continue;  // no data: keep the state, neither fire nor resolve
        const bool breached = t.rule.below ? *t.value < t.rule.threshold : *t.value > t.rule.threshold;
        auto notice = [&](AlertNotice::Kind kind) {
            notices.push_back(
                {kind, t.rule.name, t.rule.summary, *t.value, t.rule.threshold, t.rule.unit, t.breached_since, now});
            t.last_sent = now;
        };
        if (!breached) {
            if (t.state == AlertState::kFiring) notice(AlertNotice::Kind::kResolved);
            t.state = AlertState::kOk;
            continue;
        }
        if (t.state == AlertState::kOk) {
            t.state = AlertState::kPending;
            t.breached_since = now;
        }
        if (t.state == AlertState::kPending && now - t.breached_since >= t.rule.hold.count()) {
            t.state = AlertState::kFiring;
            notice(AlertNotice::Kind::kFiring);
        } else if (t.state == AlertState::kFiring && now - t.last_sent >= options_.repeat.count()) {
            notice(AlertNotice::Kind::kRepeat);
        }
    }
    return notices;
}

void Alerter::Send(const std::vector<AlertNotice>& notices) {
    for (const AlertNotice& n : notices) {
        LogFields line(n.kind == AlertNotice::Kind::kResolved ? "alert resolved" : "alert firing");
        line.Add("rule", n.rule)
            .Add("value", n.value)
            .Add("threshold", n.threshold)
            .Add("since", static_cast<long long>(n.since));
        if (n.kind == AlertNotice::Kind::kResolved) {
            LogInfo(logger_, line);
        } else {
            LogError(logger_, line);
        }
        try {
            sink_(n);
        } catch (const std::exception& e) {
            LogError(logger_, LogFields("alert notice failed").Add("rule", n.rule).Add("error", e.what()));
        }
        for (const Sink& observer : observers_) {
            try {
                observer(n);
            } catch (const std::exception& e) {
                LogError(logger_, LogFields("alert observer failed").Add("rule", n.rule).Add("error", e.what()));
            }
        }
    }
}

void Alerter::Observe(Sink observer) {
    observers_.push_back(std::move(observer));
}

void Alerter::Start() {
    thread_ = std::thread([this] {
        for (;;) {
            Evaluate();
            std::unique_lock lock(stop_mutex_);
            if (stop_.wait_for(lock, options_.interval, [&] { return stopping_; })) return;
        }
    });
}

void Alerter::Stop() {
    {
        std::lock_guard lock(stop_mutex_);
        stopping_ = true;
    }
    stop_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::vector<AlertStatus> Alerter::Status() const {
    std::lock_guard lock(mutex_);
    std::vector<AlertStatus> out;
    for (const Tracked& t : tracked_) {
        AlertStatus s{t.rule.name, t.state, t.value, t.rule.threshold, std::nullopt};
        if (t.state != AlertState::kOk) s.since = t.breached_since;
        out.push_back(std::move(s));
    }
    return out;
}

}  // namespace emporium::ops
