#include "http/message.h"

#include <boost/url/parse.hpp>

namespace emporium::http {

bool ParseTarget(std::string_view target, Request& request) {
    auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) return false;
    request.path = parsed->path();
    for (auto param : parsed->params()) request.query.emplace_back(param.key, param.value);
    return true;
}

std::optional<std::string_view> Request::QueryParam(std::string_view name) const {
    for (const auto& [key, value] : query) {
        if (key == name) return value;
    }
    return std::nullopt;
}

std::string_view Request::Header(std::string_view lower_name) const {
    for (const auto& [key, value] : headers) {
        if (key == lower_name) return value;
    }
    return {};
}

std::string_view Request::Cookie(std::string_view name) const {
    std::string_view header = Header("cookie");
    while (!header.empty()) {
        size_t end = header.find(';');
        std::string_view pair = header.substr(0, end);
        header = end == std::string_view::npos ? std::string_view() : header.substr(end + 1);
        while (!pair.empty() && pair.front() == ' ') pair.remove_prefix(1);
        size_t eq = pair.find('=');
        if (eq != std::string_view::npos && pair.substr(0, eq) == name) return pair.substr(eq + 1);
    }
    return {};
}

std::string_view Request::PathParam(std::string_view name) const {
    for (const auto& [key, value] : path_params) {
        if (key == name) return value;
    }
    return {};
}

Response Response::Json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
}

Response Response::Json(int status, std::shared_ptr<const PreparedText> body) {
    Response r;
    r.status = status;
    r.prepared = std::move(body);
    return r;
}

PreparedText::Choice Response::BodyFor(std::string_view accept_encoding) const {
    if (prepared) return prepared->For(accept_encoding);
    return {body, {}};
}

Response Response::NoContent() {
    Response r;
    r.status = 204;
    r.content_type.clear();
    return r;
}

}  // namespace emporium::http
