#include "ops/ops_routes.h"

#include <sodium.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/principal.h"
#include "http/json_body.h"
#include "http/reply.h"

namespace emporium::ops {

void AddOpsRoutes(http::Router& router, Metrics& metrics, std::function<bool()> ready, const std::string& binary) {
    const std::string alive = boost::json::serialize(
        boost::json::object{{"status", "ok"}, {"pid", static_cast<std::int64_t>(::getpid())}, {"binary", binary}});
    router.Add({"GET",
                "/healthz",
                [alive](const http::Request&) { return http::Response::Json(200, alive); },
                {},
                /*inline_only=*/true});
    router.Get("/readyz", [ready = std::move(ready)](const http::Request&) {
        return ready() ? http::Response::Json(200, R"({"status":"ready"})")
                       : http::Response::Json(503, R"({"status":"not_ready"})");
    });
    router.Get("/metrics", [&metrics](const http::Request&) {
        http::Response r;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = metrics.Render();
        return r;
    });
}

namespace {

namespace json = boost::json;

bool TokenMatches(const http::Request& request, const std::string& token) {
    std::string_view header = request.Header("authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (token.empty() || !header.starts_with(kBearer)) return false;
    std::string_view given = header.substr(kBearer.size());
    return given.size() == token.size() && sodium_memcmp(given.data(), token.data(), token.size()) == 0;
}

http::Response Plain(int status, std::string_view code, std::string_view message) {
    return http::PrivateError(Error{
        status == 401 ? ErrorKind::kUnauthorized : ErrorKind::kNotFound, std::string(code), std::string(message), {}});
}

json::object ManifestJson(const BackupManifest& m) {
    boost::system::error_code ec;
    json::value schema = json::parse(m.schema, ec);
    return json::object{{"name", m.name},       {"format", m.format},
                        {"file", m.file},       {"created_at", FormatRfc3339(m.created_at)},
                        {"bytes", m.bytes},     {"database_bytes", m.database_bytes},
                        {"sha256", m.sha256},   {"orders", m.orders},
                        {"seconds", m.seconds}, {"schema", ec ? json::value(json::object{}) : schema}};
}

std::string_view StateName(AlertState s) {
    switch (s) {
        case AlertState::kOk:
            return "ok";
        case AlertState::kPending:
            return "pending";
        case AlertState::kFiring:
            return "firing";
    }
    return "ok";
}

}  // namespace

void AddReplicationRoutes(http::Router& internal, BackupStore& backups, const std::string& token) {
    internal.Get("/internal/backups/latest", [&backups, token](const http::Request& r) {
        if (token.empty()) return Plain(404, "not_found", "Replication is off.");
        if (!TokenMatches(r, token)) return Plain(401, "unauthorized", "A replication token is required.");
        std::optional<BackupManifest> latest = backups.Latest();
        if (!latest) return Plain(404, "no_backup", "There is no backup yet.");
        http::Response out;
        out.body = latest->ToJson();
        return http::NoStore(std::move(out));
    });
    internal.Get("/internal/backups/files/{file}", [&backups, token](const http::Request& r) {
        if (token.empty()) return Plain(404, "not_found", "Replication is off.");
        if (!TokenMatches(r, token)) return Plain(401, "unauthorized", "A replication token is required.");
        std::optional<std::string> path = backups.PathOf(std::string(r.PathParam("file")));
        if (!path) return Plain(404, "not_found", "There is no such backup file.");
        http::Response out;
        out.content_type = path->ends_with(".json") ? "application/json" : "application/gzip";
        out.file = *path;  // streamed from disk: a backup can be hundreds of MB
        return http::NoStore(std::move(out));
    });
}

void AddFaultRoutes(http::Router& internal, FaultSwitch& faults) {
    auto show = [&faults]() {
        FaultSwitch::Settings s = faults.Get();
        return http::Response::Json(
            200, json::serialize(json::object{
                     {"error_ratio", s.error_ratio}, {"slow_ratio", s.slow_ratio}, {"delay_ms", s.delay.count()}}));
    };
    internal.Get("/internal/faults", [show](const http::Request&) { return show(); });
    internal.Add({"PUT", "/internal/faults", [&faults, show](const http::Request& r) {
                      Result<json::object> body = http::ParseJsonObject(r);
                      if (!body.ok()) return http::PrivateError(body.error());
                      FaultSwitch::Settings s;
                      std::vector<FieldError> errors;
                      auto ratio = [&](const char* key, double& out) {
                          const json::value* v = body->if_contains(key);
                          if (!v) return;
                          if (!v->is_number() || v->to_number<double>() < 0 || v->to_number<double>() > 1) {
                              errors.push_back({key, "must be a number from 0 to 1"});
                              return;
                          }
                          out = v->to_number<double>();
                      };
                      ratio("error_ratio", s.error_ratio);
                      ratio("slow_ratio", s.slow_ratio);
                      if (const json::value* v = body->if_contains("delay_ms")) {
                          if (!v->is_int64() || v->as_int64() < 0 || v->as_int64() > 60'000) {
                              errors.push_back({"delay_ms", "must be a whole number of milliseconds up to 60000"});
                          } else {
                              s.delay = std::chrono::milliseconds(v->as_int64());
                          }
                      }
                      if (!errors.empty()) return http::PrivateError(Error::Validation(std::move(errors)));
                      faults.Set(s);
                      return show();
                  }});
}

void AddAdminOpsRoutes(http::Router& router, BackupStore& backups, const Alerter* alerter,
                       const http::Authenticator& authenticate) {
    router.Get("/api/admin/backups", [&backups, authenticate](const http::Request& r) {
        Result<Principal> who = http::Require(authenticate, r, scope::kOpsRead);
        if (!who.ok()) return http::PrivateError(who.error());
        json::array items;
        for (const BackupManifest& m : backups.List()) items.push_back(ManifestJson(m));
        return http::PrivateJson(200, json::object{{"items", std::move(items)}});
    });
    router.Post("/api/admin/backups", [&backups, authenticate](const http::Request& r) {
        Result<Principal> who = http::Require(authenticate, r, scope::kOpsWrite);
        if (!who.ok()) return http::PrivateError(who.error());
        Result<BackupManifest> taken = backups.Take();
        if (!taken.ok()) return http::PrivateError(taken.error());
        return http::PrivateJson(201, ManifestJson(*taken));
    });
    router.Get("/api/admin/alerts", [alerter, authenticate](const http::Request& r) {
        Result<Principal> who = http::Require(authenticate, r, scope::kOpsRead);
        if (!who.ok()) return http::PrivateError(who.error());
        json::array items;
        if (alerter) {
            for (const AlertStatus& s : alerter->Status()) {
                items.push_back(json::object{{"rule", s.rule},
                                             {"state", StateName(s.state)},
                                             {"value", s.value ? json::value(*s.value) : json::value(nullptr)},
                                             {"threshold", s.threshold},
                                             {"since", s.since ? json::value(FormatRfc3339(*s.since)) : nullptr}});
            }
        }
        return http::PrivateJson(200, json::object{{"items", std::move(items)}});
    });
}

}  // namespace emporium::ops
