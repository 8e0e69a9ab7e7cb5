#include "redis/shared_limiter.h"

#include <sodium.h>

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace emporium::redis {
namespace {

// KEYS: the buckets. ARGV[1] rate per second, ARGV[2] burst, ARGV[3] now in ms, ARGV[3 + i] the
// tokens to take from KEYS[i]. Returns the thousandths of a token left in each bucket.
const Script& DebitScript() {
    static const Script kScript(R"lua(
local rate, burst, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local left = {}
for i, key in ipairs(KEYS) do
  local state = redis.call('HMGET', key, 'tokens', 'at')
  local tokens, at = tonumber(state[1]), tonumber(state[2])
  if tokens == nil or at == nil then tokens, at = burst, now end
  if now > at then
    tokens = math.min(burst, tokens + (now - at) * rate / 1000)
    at = now
  end
  tokens = math.max(-burst, tokens - tonumber(ARGV[3 + i]))
  redis.call('HSET', key, 'tokens', string.format('%.17g', tokens), 'at', string.format('%d', at))
  redis.call('PEXPIRE', key, math.ceil((burst - tokens) / rate * 1000) + 1000)
  left[i] = math.floor(tokens * 1000)
end
return left
)lua");
    return kScript;
}

constexpr std::size_t kMaxPending = 50000;  // clients awaiting a report; past this, the own bucket alone
constexpr std::size_t kMaxBatchKeys = 256;  // buckets per script call

std::string Number(double value) {
    char text[64];
    std::snprintf(text, sizeof text, "%.17g", value);
    return text;
}

int WholeSeconds(std::chrono::system_clock::duration d) {
    const double seconds = std::chrono::duration<double>(d).count();
    return std::max(1, static_cast<int>(std::ceil(seconds)));
}

}  // namespace

std::optional<std::vector<double>> DebitBuckets(Client& client, double rate, double burst, std::int64_t now_ms,
                                                const std::vector<std::string>& keys, const std::vector<int>& counts) {
    std::vector<std::string> args = {Number(rate), Number(burst), std::to_string(now_ms)};
    for (int count : counts) args.push_back(std::to_string(count));
    std::vector<std::string_view> key_views(keys.begin(), keys.end());
    std::vector<std::string_view> arg_views(args.begin(), args.end());
    Outcome o = client.Eval(DebitScript(), key_views, arg_views);
    if (!o.ok() || o.reply.type != Reply::Type::kArray || o.reply.elements.size() != keys.size()) return std::nullopt;
    std::vector<double> left;
    left.reserve(keys.size());
    for (const Reply& r : o.reply.elements) left.push_back(static_cast<double>(r.integer) / 1000.0);
    return left;
}

SharedRateLimiter::SharedRateLimiter(Client& client, const Clock& clock, Settings settings)
    : client_(client),
      clock_(clock),
      settings_(std::move(settings)),
      own_(clock, settings_.rate, settings_.burst, settings_.max_keys, settings_.keys) {
    if (sodium_init() < 0) throw std::runtime_error("libsodium could not start");
    if (settings_.rate > 0) thread_ = std::thread([this] { Report(); });
}

SharedRateLimiter::~SharedRateLimiter() {
    Stop();
}

std::string SharedRateLimiter::BucketKey(std::string_view key) const {
    const std::string text = settings_.keys == RateLimiter::Keys::kClientAddress ? AddressKey(key) : std::string(key);
    unsigned char hash[16];
    crypto_generichash(hash, sizeof hash, reinterpret_cast<const unsigned char*>(text.data()), text.size(), nullptr, 0);
    char hex[sizeof hash * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    return "emporium:rl:" + settings_.name + ":" + hex;
}

int SharedRateLimiter::Take(std::string_view key) {
    if (settings_.rate <= 0) return 0;
    std::string bucket = BucketKey(key);
    const auto now = clock_.Now();
    {
        std::lock_guard lock(mutex_);
        if (auto it = blocked_.find(bucket); it != blocked_.end()) {
            if (now < it->second) {
                ++refused_shared_;
                return WholeSeconds(it->second - now);
            }
            blocked_.erase(it);
        }
    }
    if (int wait = own_.Take(key)) return wait;
    {
        std::lock_guard lock(mutex_);
        const bool reporting =
            !stopping_ && client_.commands_up() && (pending_.size() < kMaxPending || pending_.contains(bucket));
        if (!reporting) {
            ++local_only_;
            return 0;
        }
        ++pending_[std::move(bucket)];
    }
    work_.notify_one();
    return 0;
}

void SharedRateLimiter::Report() {
    std::unique_lock lock(mutex_);
    while (true) {
        work_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
        if (stopping_) break;
        std::vector<std::pair<std::string, int>> batch(std::make_move_iterator(pending_.begin()),
                                                       std::make_move_iterator(pending_.end()));
        pending_.clear();
        sending_ = true;
        lock.unlock();
        for (std::size_t at = 0; at < batch.size(); at += kMaxBatchKeys) {
            Send({batch.begin() + static_cast<std::ptrdiff_t>(at),
                  batch.begin() + static_cast<std::ptrdiff_t>(std::min(batch.size(), at + kMaxBatchKeys))});
        }
        lock.lock();
        sending_ = false;
        idle_.notify_all();
    }
    pending_.clear();
    idle_.notify_all();
}

void SharedRateLimiter::Send(const std::vector<std::pair<std::string, int>>& batch) {
    std::vector<std::string> keys;
    std::vector<int> counts;
    for (const auto& [bucket, count] : batch) {
        keys.push_back(bucket);
        counts.push_back(count);
    }
    const auto now = clock_.Now();
    const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    std::optional<std::vector<double>> left =
        DebitBuckets(client_, settings_.rate, settings_.burst, now_ms, keys, counts);
    if (!left) {
        for (int count : counts) local_only_ += static_cast<std::uint64_t>(count);
        return;
    }
    std::lock_guard lock(mutex_);
    for (std::size_t i = 0; i < keys.size(); ++i) {
        const double tokens = (*left)[i];
        if (tokens >= 1.0) continue;
        // Refused until the bucket holds a whole token again.
        const auto wait = std::chrono::duration<double>((1.0 - tokens) / settings_.rate);
        Block(keys[i], now + std::chrono::duration_cast<std::chrono::system_clock::duration>(wait));
    }
    for (int count : counts) reported_ += static_cast<std::uint64_t>(count);
}

void SharedRateLimiter::Block(const std::string& bucket, std::chrono::system_clock::time_point until) {
    if (blocked_.size() >= settings_.max_keys && !blocked_.contains(bucket)) {
        const auto now = clock_.Now();
        std::erase_if(blocked_, [now](const auto& entry) { return entry.second <= now; });
        // Still full: the own buckets go on limiting this client on this node.
        if (blocked_.size() >= settings_.max_keys) return;
    }
    blocked_[bucket] = until;
}

void SharedRateLimiter::Flush() {
    std::unique_lock lock(mutex_);
    idle_.wait(lock, [this] { return (pending_.empty() && !sending_) || stopping_; });
}

void SharedRateLimiter::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    work_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace emporium::redis
