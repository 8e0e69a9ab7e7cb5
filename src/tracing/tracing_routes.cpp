#include "tracing/tracing_routes.h"

#include <boost/json.hpp>

#include "core/clock.h"
#include "core/principal.h"
#include "http/reply.h"

namespace emporium::tracing {
namespace json = boost::json;
namespace {

const char* KindName(SpanKind kind) {
    switch (kind) {
        case SpanKind::kServer:
            return "server";
        case SpanKind::kClient:
            return "client";
        case SpanKind::kProducer:
            return "producer";
        case SpanKind::kConsumer:
            return "consumer";
        case SpanKind::kInternal:
            break;
    }
    return "internal";
}

json::object AttributesJson(const std::vector<Attribute>& attributes) {
    json::object out;
    for (const Attribute& a : attributes) {
        if (a.is_number) {
            out[a.key.view()] = a.number;
        } else {
            out[a.key.view()] = a.text;
        }
    }
    return out;
}

const Attribute* Find(const SpanRecord& span, std::string_view key) {
    for (const Attribute& a : span.attributes) {
        if (a.key == key) return &a;
    }
    return nullptr;
}

json::object KeptJson(const KeptTrace& kept) {
    const SpanRecord& root = kept.spans.front();
    json::array spans;
    for (const SpanRecord& s : kept.spans) {
        spans.push_back(json::object{{"span_id", s.span_id.view()},
                                     {"parent_span_id", s.parent_span_id.view()},
                                     {"name", s.name},
                                     {"kind", KindName(s.kind)},
                                     {"offset_ms", static_cast<double>(s.start_unix_ns - root.start_unix_ns) / 1e6},
                                     {"ms", static_cast<double>(s.end_unix_ns - s.start_unix_ns) / 1e6},
                                     {"error", s.error},
                                     {"attributes", AttributesJson(s.attributes)}});
    }
    const Attribute* route = Find(root, "http.route");
    const Attribute* method = Find(root, "http.request.method");
    const Attribute* status = Find(root, "http.response.status_code");
    return json::object{
        {"trace_id", root.trace_id.view()},
        {"name", root.name},
        {"route", route ? json::value(route->text) : json::value(nullptr)},
        {"method", method ? json::value(method->text) : json::value(nullptr)},
        {"status", status ? json::value(status->number) : json::value(nullptr)},
        {"ms", kept.ms},
        {"failed", kept.failed},
        {"at", FormatRfc3339(std::chrono::duration_cast<std::chrono::seconds>(kept.at.time_since_epoch()).count())},
        {"spans", std::move(spans)}};
}

}  // namespace

void AddSlowRequestRoutes(http::Router& router, const Tracer* tracer, const http::Authenticator& authenticate) {
    router.Get("/api/admin/slow-requests", [tracer, authenticate](const http::Request& r) {
        Result<Principal> who = http::Require(authenticate, r, scope::kOpsRead);
        if (!who.ok()) return http::PrivateError(who.error());
        json::array items;
        if (tracer) {
            for (const KeptTrace& kept : tracer->SlowRequests()) items.push_back(KeptJson(kept));
        }
        return http::PrivateJson(200, json::object{{"items", std::move(items)}});
    });
}

}  // namespace emporium::tracing
