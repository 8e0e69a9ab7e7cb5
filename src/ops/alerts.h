// The shop watches itself: every few seconds each rule reads one figure (the 5xx ratio of the
// last minute, a route group's p99, readiness, the event backlog's age, the last good backup's
// age, free disk) and compares it with its threshold. A rule that stays breached for its hold
// time fires once, repeats at an interval while it lasts, and resolves when it clears; each of
// these is a notice for the on-call people (texts and webhooks, wired by the app).
//
// The same rules exist for Prometheus in deploy/prometheus/emporium-rules.yml.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/log.h"

namespace emporium::ops {

// The route group a metrics route name belongs to ("/api/products/{id}" -> "catalog"), so that
// latency rules watch a handful of groups rather than every route.
std::string_view RouteGroup(std::string_view route);

// Requests of the last minutes in one-second slots: counts, 5xx counts and latency histograms
// per route group. Recording is a short critical section; reading sums the slots of a window.
class RequestWindow {
public:
    static constexpr int kSlots = 600;   // ten minutes of one-second slots
    static constexpr int kBuckets = 24;  // latency buckets, 0.25 ms doubling up to ~35 min

    explicit RequestWindow(const Clock& clock) : clock_(clock) {}

    void Record(std::string_view route, int status, double seconds);

    struct Figures {
        std::int64_t requests = 0;
        std::int64_t errors = 0;  // 5xx
        double ErrorRatio() const {
            return requests > 0 ? static_cast<double>(errors) / static_cast<double>(requests) : 0;
        }
    };
    // Counts over the last `window` (at most ten minutes).
    Figures Totals(std::chrono::seconds window) const;
    // The p99 latency of a route group over the last `window`, in seconds (the upper bound of
    // its bucket); nullopt when fewer than min_requests were seen.
    std::optional<double> P99(std::string_view group, std::chrono::seconds window, std::int64_t min_requests) const;

    static const std::vector<std::string>& Groups();

private:
    struct Slot {
        std::int64_t second = -1;
        std::int64_t requests = 0;
        std::int64_t errors = 0;
        std::vector<std::array<std::int64_t, kBuckets>> latency;  // per group
    };
    const Clock& clock_;
    mutable std::mutex mutex_;  // guards slots_
    std::array<Slot, kSlots> slots_{};
};

enum class AlertState { kOk, kPending, kFiring };

struct AlertRule {
    std::string name;                             // "high_error_ratio"
    std::string summary;                          // "5xx ratio over the last minute"
    std::function<std::optional<double>()> read;  // nullopt: no data (the rule neither fires nor resolves)
    double threshold = 0;
    bool below = false;  // breached when the figure is below the threshold (free disk, readiness)
    std::chrono::seconds hold{0};
    std::string unit;  // for texts: "", "s", "%"
};

struct AlertNotice {
    enum class Kind { kFiring, kRepeat, kResolved };
    Kind kind = Kind::kFiring;
    std::string rule;
    std::string summary;
    double value = 0;
    double threshold = 0;
    std::string unit;
    std::int64_t since = 0;  // when the rule was first breached
    std::int64_t at = 0;

    // One line for a text: "FIRING high_error_ratio: 5xx ratio over the last minute is 21.3% (threshold 5.0%)".
    std::string Text(std::string_view shop) const;
};

struct AlertStatus {
    std::string rule;
    AlertState state = AlertState::kOk;
    std::optional<double> value;
    double threshold = 0;
    std::optional<std::int64_t> since;
};

struct AlerterOptions {
    std::chrono::seconds interval{5};
    std::chrono::seconds repeat{1800};
};

class Alerter {
public:
    using Sink = std::function<void(const AlertNotice&)>;

    Alerter(std::vector<AlertRule> rules, Sink sink, const Clock& clock, Logger logger, AlerterOptions options);
    ~Alerter();
    Alerter(const Alerter&) = delete;
    Alerter& operator=(const Alerter&) = delete;

    // Reads every rule once and sends the notices due now. The thread calls it every interval.
    void Evaluate();

    // Adds a function told of every notice after the sink (the delivery module's incident log,
    // say). Call before Start(); one that throws is logged and the others are still told.
    void Observe(Sink observer);

    void Start();
    void Stop();

    std::vector<AlertStatus> Status() const;

private:
    struct Tracked {
        AlertRule rule;
        AlertState state = AlertState::kOk;
        std::optional<double> value;
        std::int64_t breached_since = 0;
        std::int64_t last_sent = 0;
    };

    // Each rule's figure now (nullopt where a rule has no data or its read threw).
    std::vector<std::optional<double>> ReadRules();
    // Moves each rule's state on with its new figure; returns the notices due.
    std::vector<AlertNotice> Advance(const std::vector<std::optional<double>>& values, std::int64_t now);
    // Logs each notice and hands it to the sink.
    void Send(const std::vector<AlertNotice>& notices);

    Sink sink_;
    std::vector<Sink> observers_;  // set before Start, read by the thread only
    const Clock& clock_;
    Logger logger_;
    AlerterOptions options_;
    mutable std::mutex mutex_;  // guards tracked_ (Evaluate on the thread, Status from requests)
    std::vector<Tracked> tracked_;

    std::mutex stop_mutex_;  // guards stopping_
    std::condition_variable stop_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace emporium::ops
