#include "redis/shared_cache.h"

#include "tracing/span.h"

namespace emporium::redis {
namespace {

constexpr std::string_view kGenerationKey = "emporium:cache:generation";  // no TTL: never evicted
constexpr std::string_view kValuePrefix = "emporium:cache:v:";            // + generation + ":" + key
constexpr std::string_view kChannel = "emporium:cache:invalidate";

// The generation and, under it, the value (nil when absent).
const Script& GetScript() {
    static const Script kScript(R"lua(
local generation = redis.call('GET', KEYS[1]) or '0'
return {generation, redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[2])}
)lua");
    return kScript;
}

// Stores ARGV[4] for ARGV[5] ms under generation ARGV[3], unless the generation moved since.
const Script& PutScript() {
    static const Script kScript(R"lua(
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[3] then return 0 end
redis.call('SET', ARGV[1] .. ARGV[3] .. ':' .. ARGV[2], ARGV[4], 'PX', ARGV[5])
return 1
)lua");
    return kScript;
}

// A new generation, announced to every node.
const Script& BumpScript() {
    static const Script kScript(R"lua(
local generation = redis.call('INCR', KEYS[1])
redis.call('PUBLISH', ARGV[1], generation)
return generation
)lua");
    return kScript;
}

}  // namespace

SharedCache::SharedCache(Client& client, ReadCache& first_level, std::chrono::seconds ttl)
    : client_(client),
      first_level_(first_level),
      ttl_ms_(std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(ttl).count())) {
    first_level_.LimitTtl(kUnsubscribedTtl);
    client_.Subscribe({std::string(kChannel),
                       [this](std::string_view) {
                           first_level_.InvalidateAll();
                           ++heard_;
                       },
                       [this](bool subscribed, std::string_view run_id) { OnSubscribed(subscribed, run_id); }});
}

void SharedCache::OnSubscribed(bool subscribed, std::string_view run_id) {
    if (!subscribed) {
        // The entries first, then the flag: whoever sees the flag down finds them dropped.
        first_level_.LimitTtl(kUnsubscribedTtl);
        subscribed_ = false;
        return;
    }
    if (!run_id_.empty() && run_id != run_id_) ++unannounced_;  // Redis restarted
    run_id_ = run_id;
    if (unannounced_ > 0) Announce();  // else the next lookup does
    first_level_.LimitTtl(std::nullopt);
    subscribed_ = true;
}

bool SharedCache::Announce() {
    const std::uint64_t owed = unannounced_.load();
    if (!client_.Eval(BumpScript(), {kGenerationKey}, {kChannel}).ok()) return false;
    // Changes made while this announcement was on its way stay owed.
    std::uint64_t expected = owed;
    unannounced_.compare_exchange_strong(expected, 0);
    return true;
}

SharedCacheLevel::Lookup SharedCache::Get(std::string_view key) {
    if (!subscribed_ || (unannounced_ > 0 && !Announce())) return {};
    tracing::Span span("cache.lookup", tracing::SpanKind::kClient);
    span.Set("cache.level", "redis");
    Outcome o = client_.Eval(GetScript(), {kGenerationKey}, {kValuePrefix, key});
    if (!o.ok() || o.reply.type != Reply::Type::kArray || o.reply.elements.size() != 2) return {};
    Lookup found;
    found.stamp = o.reply.elements[0].text;
    if (o.reply.elements[1].type == Reply::Type::kString) {
        found.value = std::move(o.reply.elements[1].text);
        ++hits_;
        span.Set("cache.result", "hit");
    } else {
        ++misses_;
        span.Set("cache.result", "miss");
    }
    return found;
}

void SharedCache::Put(std::string_view key, std::string_view value, const std::string& stamp) {
    if (stamp.empty() || value.size() > kMaxValueBytes) return;
    (void)client_.Eval(PutScript(), {kGenerationKey}, {kValuePrefix, key, stamp, value, ttl_ms_});
}

void SharedCache::InvalidateAll() {
    ++unannounced_;
    Announce();
}

}  // namespace emporium::redis
