#include "notify/notify_routes.h"

#include <boost/json.hpp>
#include <memory>

#include "core/clock.h"
#include "http/errors.h"
#include "http/json_body.h"
#include "http/reply.h"

namespace emporium::notify {
namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

json::value TimeOrNull(const std::optional<std::int64_t>& t) {
    return t ? json::value(FormatRfc3339(*t)) : json::value(nullptr);
}

json::object MessageJson(const Message& m) {
    return json::object{{"id", m.id},
                        {"channel", m.channel},
                        {"event_id", m.event_id},
                        {"event_type", m.event_type},
                        {"template", m.template_name},
                        {"recipient", m.recipient},
                        {"body", m.body},
                        {"status", m.status},
                        {"attempts", m.attempts},
                        {"last_error", m.last_error},
                        {"provider_id", m.provider_id},
                        {"created_at", FormatRfc3339(m.created_at)},
                        {"updated_at", FormatRfc3339(m.updated_at)},
                        {"next_attempt_at", TimeOrNull(m.next_attempt_at)}};
}

json::object DeadLetterJson(const events::DeadLetter& d) {
    return json::object{{"id", d.id},
                        {"subscriber", d.subscriber},
                        {"event_id", d.event_id},
                        {"event_type", d.event_type},
                        {"attempts", d.attempts},
                        {"last_error", d.last_error},
                        {"status", d.status},
                        {"failed_at", FormatRfc3339(d.failed_at)}};
}

json::object WebhookJson(const Webhook& w) {
    json::array events;
    for (const std::string& e : w.events) events.emplace_back(e);
    json::object o{{"id", w.id},
                   {"url", w.url},
                   {"events", std::move(events)},
                   {"active", w.active},
                   {"created_at", FormatRfc3339(w.created_at)}};
    if (!w.secret.empty()) o["secret"] = w.secret;
    return o;
}

json::object Paged(json::array items, std::int64_t total, std::int64_t page, std::int64_t per_page) {
    return json::object{{"items", std::move(items)}, {"total", total}, {"page", page}, {"per_page", per_page}};
}

class Handlers {
public:
    Handlers(AdminRoutesDeps deps, http::Authenticator authenticate)
        : deps_(std::move(deps)), authenticate_(std::move(authenticate)) {}

    Response Messages(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsRead)) return *denied;
        MessageQuery q;
        q.page = http::PageParam(request, "page", 1, 1'000'000);
        q.per_page = http::PageParam(request, "per_page", 50, 100);
        q.channel = std::string(request.QueryParam("channel").value_or(""));
        q.status = std::string(request.QueryParam("status").value_or(""));
        std::vector<FieldError> errors;
        if (!q.channel.empty() && q.channel != "sms" && q.channel != "webhook") {
            errors.push_back(FieldError::Invalid("channel", "must be sms or webhook"));
        }
        static const std::vector<std::string> kStatuses = {"pending", "sending", "sent", "local", "failed", "dead"};
        if (!q.status.empty() && std::find(kStatuses.begin(), kStatuses.end(), q.status) == kStatuses.end()) {
            errors.push_back(
                FieldError::Invalid("status", "must be one of pending, sending, sent, local, failed, dead"));
        }
        if (!errors.empty()) return http::PrivateError(Error::Validation(std::move(errors)));
        MessagePage page = deps_.notify->List(q);
        json::array items;
        for (const Message& m : page.items) items.push_back(MessageJson(m));
        return http::PrivateJson(200, Paged(std::move(items), page.total, q.page, q.per_page));
    }

    Response RetryMessage(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsWrite)) return *denied;
        std::optional<std::int64_t> id = http::ParseId(request.PathParam("id"));
        if (!id) return http::PrivateError(Error::NotFound("There is no such message."));
        Result<Message> m = deps_.notify->Retry(*id);
        if (!m.ok()) return http::PrivateError(m.error());
        return http::PrivateJson(200, MessageJson(*m));
    }

    Response Subscribers(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsRead)) return *denied;
        json::array items;
        for (const events::LaneProgress& p : deps_.progress()) {
            items.push_back(json::object{{"name", p.name},
                                         {"last_event_id", p.last_event_id},
                                         {"backlog", p.backlog},
                                         {"oldest_pending_at", TimeOrNull(p.oldest_pending)}});
        }
        return http::PrivateJson(200, json::object{{"items", std::move(items)}});
    }

    // GET /api/admin/events/broker: {"mode": "inprocess"|"rabbitmq", "queues": [...]}; 503
    // broker_unavailable when the broker cannot be asked.
    Response Broker(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsRead)) return *denied;
        json::array queues;
        if (deps_.broker_queues) {
            Result<std::vector<events::QueueStats>> stats = deps_.broker_queues();
            if (!stats.ok()) return http::PrivateError(stats.error());
            for (const events::QueueStats& q : *stats) {
                queues.push_back(json::object{{"queue", q.queue}, {"ready", q.ready}, {"consumers", q.consumers}});
            }
        }
        return http::PrivateJson(
            200, json::object{{"mode", deps_.broker_queues ? "rabbitmq" : "inprocess"}, {"queues", std::move(queues)}});
    }

    Response DeadLetters(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsRead)) return *denied;
        std::int64_t page = http::PageParam(request, "page", 1, 1'000'000);
        std::int64_t per_page = http::PageParam(request, "per_page", 50, 100);
        events::DeadLetterPage letters = deps_.dead_letters->List(page, per_page);
        json::array items;
        for (const events::DeadLetter& d : letters.items) items.push_back(DeadLetterJson(d));
        return http::PrivateJson(200, Paged(std::move(items), letters.total, page, per_page));
    }

    Response Replay(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsWrite)) return *denied;
        std::optional<std::int64_t> id = http::ParseId(request.PathParam("id"));
        if (!id) return http::PrivateError(Error::NotFound("There is no such dead letter."));
        Result<events::DeadLetter> letter = deps_.dead_letters->Replay(*id);
        if (!letter.ok()) return http::PrivateError(letter.error());
        return http::PrivateJson(202, DeadLetterJson(*letter));
    }

    Response ListWebhooks(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsRead)) return *denied;
        json::array items;
        for (const Webhook& w : deps_.notify->Webhooks()) items.push_back(WebhookJson(w));
        return http::PrivateJson(200, json::object{{"items", std::move(items)}});
    }

    Response AddWebhook(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsWrite)) return *denied;
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        http::JsonReader f(body.value());
        std::string url = f.Text("url", http::Need::kRequired).value_or("");
        std::vector<std::string> events = f.TextList("events").value_or(std::vector<std::string>{});
        if (auto e = f.Finish()) return http::PrivateError(*e);
        Result<Webhook> hook = deps_.notify->AddWebhook(url, events);
        if (!hook.ok()) return http::PrivateError(hook.error());
        Response r = http::PrivateJson(201, WebhookJson(*hook));
        r.headers.emplace_back("Location", "/api/admin/webhooks/" + std::to_string(hook->id));
        return r;
    }

    Response RemoveWebhook(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsWrite)) return *denied;
        std::optional<std::int64_t> id = http::ParseId(request.PathParam("id"));
        if (!id) return http::PrivateError(Error::NotFound("There is no such webhook."));
        Status removed = deps_.notify->RemoveWebhook(*id);
        if (!removed.ok()) return http::PrivateError(removed.error());
        return http::NoStore(Response::NoContent());
    }

private:
    std::optional<Response> Deny(const Request& request, std::string_view needed) {
        Result<Principal> who = http::Require(authenticate_, request, needed);
        if (!who.ok()) return http::PrivateError(who.error());
        return std::nullopt;
    }

    AdminRoutesDeps deps_;
    http::Authenticator authenticate_;
};

}  // namespace

void AddAdminRoutes(http::Router& router, AdminRoutesDeps deps, http::Authenticator authenticate) {
    auto handlers = std::make_shared<Handlers>(std::move(deps), std::move(authenticate));
    auto bind = [handlers](Response (Handlers::*method)(const Request&)) {
        return [handlers, method](const Request& r) { return ((*handlers).*method)(r); };
    };
    router.Get("/api/admin/notifications", bind(&Handlers::Messages));
    router.Post("/api/admin/notifications/{id}/retry", bind(&Handlers::RetryMessage));
    router.Get("/api/admin/events/subscribers", bind(&Handlers::Subscribers));
    router.Get("/api/admin/events/broker", bind(&Handlers::Broker));
    router.Get("/api/admin/events/dead-letters", bind(&Handlers::DeadLetters));
    router.Post("/api/admin/events/dead-letters/{id}/replay", bind(&Handlers::Replay));
    router.Get("/api/admin/webhooks", bind(&Handlers::ListWebhooks));
    router.Post("/api/admin/webhooks", bind(&Handlers::AddWebhook));
    router.Delete("/api/admin/webhooks/{id}", bind(&Handlers::RemoveWebhook));
}

}  // namespace emporium::notify
