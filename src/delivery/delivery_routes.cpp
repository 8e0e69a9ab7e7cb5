#include "delivery/delivery_routes.h"

#include <boost/json.hpp>
#include <memory>

#include "core/principal.h"
#include "delivery/event_json.h"
#include "delivery/time_text.h"
#include "http/json_body.h"
#include "http/reply.h"

namespace emporium::delivery {
namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

json::value IntOrNull(const std::optional<std::int64_t>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

json::value RateOrNull(const std::optional<double>& v) {
    return v ? json::value(*v) : json::value(nullptr);
}

json::value TimeOrNull(const std::optional<std::int64_t>& t) {
    return t ? json::value(FormatRfc3339(*t)) : json::value(nullptr);
}

json::array DailyCounts(const std::vector<DayCount>& days) {
    json::array out;
    for (const DayCount& d : days) out.push_back(json::object{{"date", FormatDate(d.day)}, {"count", d.count}});
    return out;
}

json::object PeriodJson(const Period& p) {
    return json::object{{"from", FormatDate(p.from)}, {"to", FormatDate(p.to - 86400)}, {"days", p.Days()}};
}

json::object SuccessJson(const SuccessRate& s) {
    json::array daily;
    for (std::size_t i = 0; i < s.daily_succeeded.size(); ++i) {
        daily.push_back(json::object{{"date", FormatDate(s.daily_succeeded[i].day)},
                                     {"succeeded", s.daily_succeeded[i].count},
                                     {"failed", s.daily_failed[i].count}});
    }
    return json::object{{"finished", s.finished},   {"succeeded", s.succeeded}, {"failed", s.failed},
                        {"cancelled", s.cancelled}, {"running", s.running},     {"rate", RateOrNull(s.rate)},
                        {"daily", std::move(daily)}};
}

json::array StagesJson(const std::vector<StageFigure>& stages) {
    json::array out;
    for (const StageFigure& f : stages) {
        json::array trend;
        for (const DayValue& d : f.trend)
            trend.push_back(json::object{{"date", FormatDate(d.day)}, {"p50_ms", d.value}});
        out.push_back(json::object{{"name", f.name},
                                   {"runs", f.runs},
                                   {"failed", f.failed},
                                   {"p50_ms", IntOrNull(f.p50_ms)},
                                   {"p95_ms", IntOrNull(f.p95_ms)},
                                   {"previous_p50_ms", IntOrNull(f.previous_p50_ms)},
                                   {"previous_runs", f.previous_runs},
                                   {"trend", std::move(trend)}});
    }
    return out;
}

json::object FlakyJson(const Flakiness& f) {
    json::array items;
    for (const FlakyTest& t : f.items) {
        items.push_back(json::object{{"suite", t.suite},
                                     {"name", t.name},
                                     {"commits", t.commits},
                                     {"passed", t.passed},
                                     {"failed", t.failed},
                                     {"last_seen", FormatRfc3339(t.last_seen)}});
    }
    return json::object{{"window_from", FormatDate(f.window_from)},
                        {"window_to", FormatDate(f.window_to - 86400)},
                        {"tests_seen", f.tests_seen},
                        {"total", f.total},
                        {"items", std::move(items)}};
}

json::object SummaryJson(const Summary& s) {
    const DeploymentFrequency& f = s.frequency;
    const ChangeFailure& cf = s.change_failure;
    return json::object{{"period", PeriodJson(s.period)},
                        {"environment", s.environment},
                        {"deployment_frequency", json::object{{"deployments", f.deployments},
                                                              {"days", f.days},
                                                              {"per_day", f.per_day},
                                                              {"per_week", f.per_week},
                                                              {"daily", DailyCounts(f.daily)}}},
                        {"lead_time", json::object{{"commits", s.lead_time.commits},
                                                   {"deployments", s.lead_time.deployments},
                                                   {"p50_seconds", IntOrNull(s.lead_time.p50_seconds)},
                                                   {"p95_seconds", IntOrNull(s.lead_time.p95_seconds)}}},
                        {"change_failure_rate", json::object{{"deployments", cf.deployments},
                                                             {"failed", cf.failed},
                                                             {"failed_by_result", cf.failed_by_result},
                                                             {"with_incidents", cf.with_incidents},
                                                             {"rate", RateOrNull(cf.rate)}}},
                        {"time_to_restore", json::object{{"resolved", s.restore.resolved},
                                                         {"open", s.restore.open},
                                                         {"p50_seconds", IntOrNull(s.restore.p50_seconds)},
                                                         {"p95_seconds", IntOrNull(s.restore.p95_seconds)}}},
                        {"success_rate", SuccessJson(s.success)},
                        {"stages", StagesJson(s.stages)},
                        {"flaky_tests", FlakyJson(s.flaky)}};
}

json::object DeploymentJson(const Deployment& d) {
    return json::object{{"id", d.id},
                        {"deployment", d.external_id},
                        {"environment", d.environment},
                        {"deployed_at", FormatRfc3339(d.deployed_at)},
                        {"result", d.result},
                        {"commits", d.commits},
                        {"incidents", d.incidents},
                        {"lead_time_p50_seconds", IntOrNull(d.lead_time_p50)}};
}

json::object IncidentJson(const Incident& i) {
    return json::object{
        {"id", i.id},
        {"incident", i.external_id},
        {"title", i.title},
        {"source", i.source},
        {"environment", i.environment},
        {"opened_at", FormatRfc3339(i.opened_at)},
        {"resolved_at", TimeOrNull(i.resolved_at)},
        {"deployment_id", IntOrNull(i.deployment_id)},
        {"deployment", i.deployment_external_id.empty() ? json::value(nullptr) : json::value(i.deployment_external_id)},
        {"link", i.link}};
}

class Handlers {
public:
    Handlers(DeliveryService& service, http::Authenticator authenticate, const Clock& clock)
        : service_(service), authenticate_(std::move(authenticate)), clock_(clock) {}

    Response Events(const Request& request) {
        if (auto denied = Deny(request, scope::kDeliveryWrite)) return *denied;
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        Result<std::vector<Event>> events = ParseEvents(*body);
        if (!events.ok()) return http::PrivateError(events.error());
        Result<std::vector<Recorded>> recorded = service_.Record(*events);
        if (!recorded.ok()) return http::PrivateError(recorded.error());
        json::array items;
        std::int64_t created = 0;
        for (const Recorded& r : *recorded) {
            created += r.created ? 1 : 0;
            items.push_back(json::object{{"type", r.type}, {"id", r.id}, {"created", r.created}});
        }
        return http::PrivateJson(200, json::object{{"recorded", static_cast<std::int64_t>(recorded->size())},
                                                   {"created", created},
                                                   {"items", std::move(items)}});
    }

    Response Summary(const Request& request) {
        return WithPeriod(request, scope::kOpsRead, [&](const Period& p, const std::string& env) {
            return http::PrivateJson(200, SummaryJson(service_.Figures(p, env)));
        });
    }

    Response Deployments(const Request& request) {
        return WithPeriod(request, scope::kOpsRead, [&](const Period& p, const std::string& env) {
            json::array items;
            for (const Deployment& d : service_.Deployments(p, env)) items.push_back(DeploymentJson(d));
            return http::PrivateJson(200, json::object{{"period", PeriodJson(p)}, {"items", std::move(items)}});
        });
    }

    Response Incidents(const Request& request) {
        return WithPeriod(request, scope::kOpsRead, [&](const Period& p, const std::string& env) {
            json::array items;
            for (const Incident& i : service_.Incidents(p, env)) items.push_back(IncidentJson(i));
            return http::PrivateJson(200, json::object{{"period", PeriodJson(p)}, {"items", std::move(items)}});
        });
    }

    // {"deployment_id": N} or {"deployment_id": null} links by hand; {"link": "auto"} goes back to
    // the automatic link.
    Response LinkIncident(const Request& request) {
        if (auto denied = Deny(request, scope::kOpsWrite)) return *denied;
        std::optional<std::int64_t> id = http::ParseId(request.PathParam("id"));
        if (!id) return http::PrivateError(Error::NotFound("There is no such incident."));
        Result<json::object> body = http::ParseJsonObject(request);
        if (!body.ok()) return http::PrivateError(body.error());
        const json::value* link = body->if_contains("link");
        const json::value* deployment = body->if_contains("deployment_id");
        const bool automatic = link && link->is_string() && link->as_string() == "auto";
        if (link && !automatic) return http::PrivateError(Error::Validation({{"link", "must be auto when given"}}));
        if (!automatic &&
            (!deployment || !(deployment->is_null() || (deployment->is_int64() && deployment->as_int64() > 0)))) {
            return http::PrivateError(
                Error::Validation({{"deployment_id", "must be a deployment's id, or null for none"}}));
        }
        std::optional<std::int64_t> target;
        if (!automatic && deployment->is_int64()) target = deployment->as_int64();
        Result<Incident> incident = service_.LinkIncident(*id, target, automatic);
        if (!incident.ok()) return http::PrivateError(incident.error());
        return http::PrivateJson(200, IncidentJson(*incident));
    }

    Response Export(const Request& request) {
        return WithPeriod(request, scope::kOpsRead, [&](const Period& p, const std::string& env) {
            const std::string kind(request.QueryParam("kind").value_or("deployments"));
            std::optional<std::string> csv = service_.ExportCsv(kind, p, env);
            if (!csv) {
                return http::PrivateError(
                    Error::Validation({{"kind", "must be deployments, incidents, stages or flaky"}}));
            }
            Response r;
            r.content_type = "text/csv; charset=utf-8; header=present";
            r.body = std::move(*csv);
            r.headers.emplace_back("Content-Disposition", "attachment; filename=\"delivery-" + kind + "-" +
                                                              FormatDate(p.from) + "-" + FormatDate(p.to - 86400) +
                                                              ".csv\"");
            return http::NoStore(std::move(r));
        });
    }

private:
    template <typename F>
    Response WithPeriod(const Request& request, std::string_view scope, F&& answer) {
        if (auto denied = Deny(request, scope)) return *denied;
        Result<Period> period =
            ParsePeriod(request.QueryParam("from"), request.QueryParam("to"), UnixSeconds(clock_.Now()));
        if (!period.ok()) return http::PrivateError(period.error());
        std::string environment(request.QueryParam("environment").value_or(kDefaultEnvironment));
        if (environment.empty() || environment.size() > 40 ||
            environment.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos) {
            return http::PrivateError(Error::Validation({{"environment", "must use only a-z, 0-9, - and _"}}));
        }
        return answer(*period, environment);
    }

    std::optional<Response> Deny(const Request& request, std::string_view needed) {
        Result<Principal> who = http::Require(authenticate_, request, needed);
        if (!who.ok()) return http::PrivateError(who.error());
        return std::nullopt;
    }

    DeliveryService& service_;
    http::Authenticator authenticate_;
    const Clock& clock_;
};

}  // namespace

void AddRoutes(http::Router& router, DeliveryService& service, http::Authenticator authenticate, const Clock& clock) {
    auto handlers = std::make_shared<Handlers>(service, std::move(authenticate), clock);
    auto bind = [handlers](Response (Handlers::*method)(const Request&)) {
        return [handlers, method](const Request& r) { return ((*handlers).*method)(r); };
    };
    router.Post("/api/admin/delivery/events", bind(&Handlers::Events));
    router.Get("/api/admin/delivery/summary", bind(&Handlers::Summary));
    router.Get("/api/admin/delivery/deployments", bind(&Handlers::Deployments));
    router.Get("/api/admin/delivery/incidents", bind(&Handlers::Incidents));
    router.Patch("/api/admin/delivery/incidents/{id}", bind(&Handlers::LinkIncident));
    router.Get("/api/admin/delivery/export.csv", bind(&Handlers::Export));
}

}  // namespace emporium::delivery
