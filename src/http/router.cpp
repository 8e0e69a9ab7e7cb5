#include "http/router.h"

#include <algorithm>
#include <stdexcept>

namespace emporium::http {
namespace {

std::vector<std::string_view> Split(std::string_view path) {
    std::vector<std::string_view> out;
    size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        size_t j = path.find('/', i);
        if (j == std::string_view::npos) j = path.size();
        out.push_back(path.substr(i, j - i));
        i = j;
    }
    return out;
}

bool IsCapture(std::string_view segment) {
    return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

void Router::Add(Route route) {
    largest_body_limit_ = std::max(largest_body_limit_, route.body_limit);
    for (const Compiled& c : routes_) {
        if (c.route.method == route.method && c.route.pattern == route.pattern) {
            throw std::invalid_argument("duplicate route " + route.method + " " + route.pattern);
        }
    }
    Compiled compiled;
    for (std::string_view s : Split(route.pattern)) compiled.segments.emplace_back(s);
    compiled.route = std::move(route);
    routes_.push_back(std::move(compiled));
}

std::vector<std::pair<std::string, std::string>> Router::List() const {
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(routes_.size());
    for (const Compiled& c : routes_) out.emplace_back(c.route.method, c.route.pattern);
    return out;
}

void Router::SetFallback(Route route) {
    fallback_ = std::move(route);
}

RouteMatch Router::Match(std::string_view method, std::string_view path) const {
    RouteMatch result;
    const std::string_view wanted = method == "HEAD" ? std::string_view("GET") : method;
    std::vector<std::string_view> parts = Split(path);
    for (const Compiled& c : routes_) {
        if (c.segments.size() != parts.size()) continue;
        std::vector<std::pair<std::string, std::string>> params;
        bool matched = true;
        for (size_t i = 0; i < parts.size() && matched; ++i) {
            const std::string& seg = c.segments[i];
            if (IsCapture(seg)) {
                params.emplace_back(seg.substr(1, seg.size() - 2), parts[i]);
            } else {
                matched = seg == parts[i];
            }
        }
        if (!matched) continue;
        if (c.route.method == wanted) {
            result.route = &c.route;
            result.params = std::move(params);
            result.method_mismatch = false;
            return result;
        }
        result.method_mismatch = true;
        if (!result.allow.empty()) result.allow += ", ";
        result.allow += c.route.method;
    }
    return result;
}

}  // namespace emporium::http
