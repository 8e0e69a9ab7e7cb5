#include "app/failover.h"

#include <algorithm>

#include "http/client.h"

namespace emporium::app {
namespace {

// How often a standby checks its primary: five checks within promote_after, 0.2 to 2 s apart.
std::chrono::milliseconds CheckEvery(std::chrono::milliseconds promote_after) {
    return std::clamp(promote_after / 5, std::chrono::milliseconds(200), std::chrono::milliseconds(2000));
}

constexpr std::chrono::milliseconds kPeerEvery{2000};

http::HttpAnswer Get(const std::string& url, std::chrono::milliseconds timeout) {
    http::HttpCall call;
    call.method = "GET";
    call.url = url;
    call.timeout = timeout;
    return http::Perform(call);
}

}  // namespace

FailoverDuties::FailoverDuties(Settings settings, Hooks hooks, Logger logger)
    : settings_(std::move(settings)),
      hooks_(std::move(hooks)),
      logger_(std::move(logger)),
      rule_(settings_.promote_after) {}

FailoverDuties::~FailoverDuties() {
    Stop();
}

bool FailoverDuties::CheckPeers() {
    const std::int64_t own = hooks_.term();
    for (const std::string& peer : settings_.peers) {
        const http::HttpAnswer answer = Get(peer + "/internal/role", std::chrono::milliseconds(2000));
        std::optional<ops::PeerRole> role = answer.status == 200 ? ops::ParsePeerRole(answer.body) : std::nullopt;
        if (role && ops::Superseded(own, *role)) {
            LogError(logger_, LogFields("fenced")
                                  .Add("reason", "a peer is the primary of a later term: this node was replaced")
                                  .Add("peer", peer)
                                  .Add("term", static_cast<long long>(own))
                                  .Add("peer_term", static_cast<long long>(role->term)));
            hooks_.fence(peer, role->term);
            return true;
        }
    }
    return false;
}

bool FailoverDuties::CheckPrimary() {
    const std::chrono::milliseconds every = CheckEvery(settings_.promote_after);
    const http::HttpAnswer answer = Get(settings_.primary_url + "/healthz", every);
    if (!rule_.Observe(answer.status == 200, std::chrono::steady_clock::now())) return true;
    LogWarn(logger_, LogFields("promoting")
                         .Add("reason", "the primary failed every health check")
                         .Add("seconds", std::chrono::duration<double>(settings_.promote_after).count()));
    hooks_.promote();
    return false;
}

void FailoverDuties::Start(bool standby) {
    if (standby && settings_.promote_after.count() > 0) {
        watch_ = std::make_unique<ops::Watch>(CheckEvery(settings_.promote_after), [this] { return CheckPrimary(); });
    } else if (!standby && !settings_.peers.empty()) {
        watch_ = std::make_unique<ops::Watch>(kPeerEvery, [this] { return !CheckPeers(); });
    }
    if (watch_) watch_->Start();
}

void FailoverDuties::Stop() {
    if (watch_) watch_->Stop();
}

}  // namespace emporium::app
