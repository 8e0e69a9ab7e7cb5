#include "accounts/password_hasher.h"

#include <sodium.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>

#include "tracing/span.h"

namespace emporium::accounts {

HashCost HashCost::Minimal() {
    return HashCost{crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
}

PasswordHasher::PasswordHasher(HashCost cost) : cost_(cost) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not start");
    dummy_hash_ = Hash("emporium dummy password for timing");
}

std::string PasswordHasher::Hash(std::string_view password) const {
    tracing::Span span("password.hash");
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str_alg(out, password.data(), password.size(), cost_.ops, cost_.memory,
                              crypto_pwhash_ALG_ARGON2ID13) != 0) {
        throw std::runtime_error("out of memory while hashing a password");
    }
    return out;
}

bool PasswordHasher::Verify(std::string_view hash, std::string_view password) const {
    tracing::Span span("password.verify");
    std::string terminated(hash);
    return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

void PasswordHasher::VerifyDummy(std::string_view password) const {
    Verify(dummy_hash_, password);
}

HashingQueue::HashingQueue(Options options, Now now) : options_(options), now_(std::move(now)) {
    for (int i = 0; i < std::max(1, options_.threads); ++i) threads_.emplace_back([this] { Work(); });
}

HashingQueue::~HashingQueue() {
    Stop();
}

bool HashingQueue::Submit(std::function<void()> job) {
    const auto now = now_();
    {
        std::lock_guard lock(mutex_);
        // The jobs ahead start one per thread at the recent pace: the wait this one would have.
        const auto ahead = pace_ * static_cast<std::int64_t>(queue_.size()) / std::max(1, options_.threads);
        if (stopping_ || (!queue_.empty() && now - queue_.front().since > options_.max_wait) ||
            ahead > options_.max_wait) {
            ++shed_;
            return false;
        }
        queue_.push_back({std::move(job), now});
    }
    wake_.notify_one();
    return true;
}

void HashingQueue::Stop() {
    {
        std::lock_guard lock(mutex_);
        if (stopping_ && threads_.empty()) return;
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : threads_) {
        if (t.joinable()) t.join();
    }
    threads_.clear();
}

void HashingQueue::Work() {
    setpriority(PRIO_PROCESS, static_cast<id_t>(gettid()), 10);
    std::unique_lock lock(mutex_);
    while (true) {
        wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
        if (queue_.empty()) return;  // stopping, and every admitted job has run
        std::function<void()> job = std::move(queue_.front().job);
        queue_.pop_front();
        lock.unlock();
        const auto started = now_();
        job();
        const auto took = std::chrono::duration_cast<std::chrono::microseconds>(now_() - started);
        lock.lock();
        pace_ = pace_.count() == 0 ? took : (pace_ * 4 + took) / 5;
    }
}

std::chrono::milliseconds HashingQueue::oldest_wait() const {
    const auto now = now_();
    std::lock_guard lock(mutex_);
    if (queue_.empty()) return std::chrono::milliseconds(0);
    return std::chrono::duration_cast<std::chrono::milliseconds>(now - queue_.front().since);
}

std::size_t HashingQueue::waiting() const {
    std::lock_guard lock(mutex_);
    return queue_.size();
}

std::chrono::microseconds HashingQueue::pace() const {
    std::lock_guard lock(mutex_);
    return pace_;
}

std::uint64_t HashingQueue::shed() const {
    std::lock_guard lock(mutex_);
    return shed_;
}

}  // namespace emporium::accounts
