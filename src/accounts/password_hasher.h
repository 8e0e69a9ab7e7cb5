// Argon2id password hashes (libsodium's crypto_pwhash_str). Hashing is deliberately slow and
// memory-hard; the server runs it on a small queue of its own (HashingQueue) so a flood of
// sign-ins cannot take every worker or all the memory.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace emporium::accounts {

// The default is OWASP's Argon2id setting of 19 MiB and 2 passes: about 45 ms on one core here,
// so two hashing threads take some 40 sign-ins a second while using at most 38 MiB.
struct HashCost {
    unsigned long long ops = 2;
    std::size_t memory = 19ULL * 1024 * 1024;
    static HashCost Minimal();  // for tests: libsodium's minimums
};

class PasswordHasher {
public:
    explicit PasswordHasher(HashCost cost);

    // An encoded Argon2id hash with its own salt and parameters.
    std::string Hash(std::string_view password) const;

    // True when password matches hash.
    bool Verify(std::string_view hash, std::string_view password) const;

    // Spends the time of one Verify without a real hash, so that an unknown email answers as
    // slowly as a wrong password.
    void VerifyDummy(std::string_view password) const;

private:
    HashCost cost_;
    std::string dummy_hash_;
};

// The work of sign-ups and sign-ins, first come first served, on threads of its own below normal
// priority (serving pages wins over hashing when the cores are short). It sheds by time, as the
// HTTP worker queue does, never by a count: new work is refused while the oldest work still
// waiting has waited longer than max_wait, and also when the work already waiting would keep the
// new one waiting longer than max_wait at the pace the threads have lately kept (each job's run
// time, averaged). A burst the threads clear in time is taken whole, however many it holds; when
// they cannot keep up (a slow or crowded machine) only what they can start within max_wait is
// taken, and the rest is refused at once (the caller answers 503 with Retry-After) instead of
// waiting seconds behind a backlog.
class HashingQueue {
public:
    struct Options {
        int threads = 2;
        std::chrono::milliseconds max_wait{1000};
    };
    using Now = std::function<std::chrono::steady_clock::time_point()>;

    // now is the clock waits are measured with (tests pass their own).
    explicit HashingQueue(Options options, Now now = &std::chrono::steady_clock::now);
    ~HashingQueue();  // Stop()
    HashingQueue(const HashingQueue&) = delete;
    HashingQueue& operator=(const HashingQueue&) = delete;

    // Queues job unless the oldest job still waiting has waited longer than max_wait, the jobs
    // waiting would take longer than max_wait to start it, or the queue has stopped: then false,
    // and job is dropped unrun. job must not throw. Any thread.
    bool Submit(std::function<void()> job);

    // Refuses new work, runs every job already admitted, and joins the threads.
    void Stop();

    // How long the oldest waiting job has waited; zero when none waits (for a gauge).
    std::chrono::milliseconds oldest_wait() const;
    std::size_t waiting() const;
    std::uint64_t shed() const;  // jobs refused since the start
    // The recent run time of one job (an average weighted to the latest); zero before the first.
    std::chrono::microseconds pace() const;

private:
    struct Waiting {
        std::function<void()> job;
        std::chrono::steady_clock::time_point since;
    };
    void Work();

    const Options options_;
    const Now now_;
    mutable std::mutex mutex_;  // guards queue_, stopping_, shed_ and pace_
    std::condition_variable wake_;
    std::deque<Waiting> queue_;
    bool stopping_ = false;
    std::uint64_t shed_ = 0;
    std::chrono::microseconds pace_{0};
    std::vector<std::thread> threads_;
};

}  // namespace emporium::accounts
