// Rate limits with one budget per client across every node: token buckets in Redis, kept by a Lua
// script (EVALSHA) under keys that expire once the bucket would be full again, so nothing in Redis
// outlives a client's activity. Keys are a hash of the client's key (an address, an email): no
// personal data in Redis and a fixed key length whatever a client sends.
//
// Take runs on network threads, so it never waits for Redis:
// - the node's own bucket (a RateLimiter with the same rate and burst) is asked first: it refuses
//   a flood at once, and it is the whole rule while Redis is down;
// - a client the shared bucket found over budget is refused until its bucket has a token again;
// - what is admitted is reported to Redis from a thread of this limiter's own, in batches, and the
//   script's answer says which clients are over budget and for how long.
// A client that spreads requests over N nodes is held to one budget give or take what each node
// admits while its report is on the way (about one request per node when requests come one at a
// time). The shared bucket may go into debt for those, down to minus one burst, which the client
// then waits out: over a longer time it gets one budget.
//
// Redis unreachable: each node's own bucket decides alone, so a client gets at most one budget per
// node. Not fail-closed (a cache outage must not lock every customer out), not unlimited (sign-in
// guessing stays bounded by the same numbers per node), and the buckets never jump: a node's own
// bucket has been counting all along. Reports resume by themselves when Redis is back.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "core/clock.h"
#include "core/rate_limiter.h"
#include "redis/client.h"

namespace emporium::redis {

// The bucket arithmetic, in one script call: takes counts[i] tokens from bucket keys[i], which
// refills at rate tokens a second up to burst (a new bucket is full), as of now_ms (Unix ms; a
// time before the bucket's last update counts as no time passing). A bucket may go down to minus
// burst at most. Each key then expires when its bucket would be full again (plus a second).
// Returns the tokens left in each bucket (to a thousandth), or nullopt when Redis did not answer.
std::optional<std::vector<double>> DebitBuckets(Client& client, double rate, double burst, std::int64_t now_ms,
                                                const std::vector<std::string>& keys, const std::vector<int>& counts);

class SharedRateLimiter final : public Limiter {
public:
    struct Settings {
        std::string name;  // part of every key: "requests", "signin_address", "signin_account"
        double rate = 0;   // tokens a second; <= 0 turns the limiter off
        double burst = 1;
        RateLimiter::Keys keys = RateLimiter::Keys::kText;
        std::size_t max_keys = 100000;  // clients tracked on this node (own buckets, refusals)
    };

    // Starts the reporting thread. client must outlive this object.
    SharedRateLimiter(Client& client, const Clock& clock, Settings settings);
    ~SharedRateLimiter() override;  // stops

    int Take(std::string_view key) override;

    // Waits until every take reported so far has been answered (or dropped while Redis is down).
    void Flush();
    // Stops reporting; later takes are decided by the node's own bucket alone.
    void Stop();

    // The Redis key of a client's bucket.
    std::string BucketKey(std::string_view key) const;

    std::uint64_t local_only() const { return local_only_.load(); }          // admitted without Redis
    std::uint64_t refused_shared() const { return refused_shared_.load(); }  // refused by the shared bucket
    // Admitted takes whose report Redis has answered (and whose answer this node has applied).
    std::uint64_t reported() const { return reported_.load(); }

private:
    void Report();  // the reporting thread
    void Send(const std::vector<std::pair<std::string, int>>& batch);
    void Block(const std::string& bucket, std::chrono::system_clock::time_point until);  // needs mutex_

    Client& client_;
    const Clock& clock_;
    const Settings settings_;
    RateLimiter own_;
    std::atomic<std::uint64_t> local_only_{0};
    std::atomic<std::uint64_t> refused_shared_{0};
    std::atomic<std::uint64_t> reported_{0};

    std::mutex mutex_;  // guards everything below
    std::condition_variable work_;
    std::condition_variable idle_;
    std::unordered_map<std::string, int> pending_;  // bucket key -> takes not yet reported
    // Clients over the shared budget, by bucket key, and until when.
    std::unordered_map<std::string, std::chrono::system_clock::time_point> blocked_;
    bool sending_ = false;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace emporium::redis
