// Failover of the single-machine (SQLite) shop: a warm standby that promotes itself when its
// primary stays unreachable, and fencing of an old primary that comes back after that. The
// decisions are plain functions and classes, testable without servers; the app wires them to
// health checks over HTTP and to its promotion.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace emporium::ops {

// When a standby must promote itself: once its primary has failed every health check for
// `after`, counted from the last check that passed (or from the first check, when none ever did).
class PromotionRule {
public:
    explicit PromotionRule(std::chrono::milliseconds after) : after_(after) {}

    // Records one check's outcome at `now`. True exactly once: at the first failed check that
    // ends a failing stretch of `after` or longer; a passing check starts the count again.
    bool Observe(bool healthy, std::chrono::steady_clock::time_point now);

private:
    std::chrono::milliseconds after_;
    std::optional<std::chrono::steady_clock::time_point> healthy_at_;  // the last pass, else the first check
    bool fired_ = false;
};

// What a peer's /internal/role says about it.
struct PeerRole {
    std::string role;  // "primary", "standby" or "fenced"
    std::int64_t term = 0;
};

// Parses an /internal/role answer; nullopt when it is not one.
std::optional<PeerRole> ParsePeerRole(std::string_view json);

// True when a primary in term `own_term` has been replaced: the peer is a primary in a later term.
bool Superseded(std::int64_t own_term, const PeerRole& peer);

// Calls `check` every `every` on a thread of its own, from Start until Stop (or until check
// returns false). Stop waits for a check in progress.
class Watch {
public:
    Watch(std::chrono::milliseconds every, std::function<bool()> check);
    ~Watch();
    Watch(const Watch&) = delete;
    Watch& operator=(const Watch&) = delete;

    void Start();
    void Stop();  // idempotent

private:
    std::chrono::milliseconds every_;
    std::function<bool()> check_;
    std::mutex mutex_;  // guards stopping_
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace emporium::ops
