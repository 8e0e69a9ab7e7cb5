// The admin area's view of side effects: the send log, webhooks, event subscribers' progress
// and dead letters. Admin only (scopes ops:read and ops:write).
#pragma once

#include <functional>
#include <vector>

#include "events/dispatcher.h"
#include "events/rabbitmq.h"
#include "http/auth.h"
#include "http/router.h"
#include "notify/notify.h"

namespace emporium::notify {

struct AdminRoutesDeps {
    // The send log and webhooks: null on a node that sends nothing itself (its workers do), in
    // which case those routes still read the shared tables through a service without senders.
    NotifyService* notify = nullptr;
    events::DeadLetters* dead_letters = nullptr;
    std::function<std::vector<events::LaneProgress>()> progress;
    // With --events rabbitmq: the broker's queues, where the workers' backlog lives. Empty when
    // this node delivers events itself.
    std::function<Result<std::vector<events::QueueStats>>()> broker_queues;
};

void AddAdminRoutes(http::Router& router, AdminRoutesDeps deps, http::Authenticator authenticate);

}  // namespace emporium::notify
