#include "ops/failover.h"

#include <boost/json.hpp>

namespace emporium::ops {

bool PromotionRule::Observe(bool healthy, std::chrono::steady_clock::time_point now) {
    if (healthy || !healthy_at_) healthy_at_ = now;
    if (healthy) {
        fired_ = false;
        return false;
    }
    if (fired_ || now - *healthy_at_ < after_) return false;
    fired_ = true;
    return true;
}

std::optional<PeerRole> ParsePeerRole(std::string_view json) {
    boost::system::error_code ec;
    boost::json::value value = boost::json::parse(json, ec);
    const boost::json::object* object = ec ? nullptr : value.if_object();
    if (object == nullptr) return std::nullopt;
    const boost::json::value* role = object->if_contains("role");
    const boost::json::value* term = object->if_contains("term");
    if (role == nullptr || !role->is_string() || term == nullptr || !term->is_int64()) return std::nullopt;
    return PeerRole{std::string(role->as_string()), term->as_int64()};
}

bool Superseded(std::int64_t own_term, const PeerRole& peer) {
    return peer.role == "primary" && peer.term > own_term;
}

Watch::Watch(std::chrono::milliseconds every, std::function<bool()> check) : every_(every), check_(std::move(check)) {}

Watch::~Watch() {
    Stop();
}

void Watch::Start() {
    thread_ = std::thread([this] {
        std::unique_lock lock(mutex_);
        while (!stopping_) {
            lock.unlock();
            const bool again = check_();
            lock.lock();
            if (!again) return;
            wake_.wait_for(lock, every_, [this] { return stopping_; });
        }
    });
}

void Watch::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

}  // namespace emporium::ops
