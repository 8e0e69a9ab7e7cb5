#include "delivery/event_json.h"

#include <boost/json.hpp>
#include <set>

#include "core/clock.h"
#include "core/text.h"
#include "delivery/time_text.h"

namespace emporium::delivery {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxCases = 20'000;
constexpr std::size_t kMaxCommits = 5'000;
constexpr std::int64_t kMaxDurationMs = std::int64_t{7} * 86400 * 1000;

bool Printable(std::string_view text) {
    for (unsigned char ch : text) {
        if (ch < 0x20 || ch == 0x7f) return false;
    }
    return true;
}

// Reads the members of one JSON object, adding a FieldError (prefixed with where the object is)
// for each missing or malformed one.
class Reader {
public:
    Reader(const json::object& object, std::string prefix, std::vector<FieldError>& errors)
        : object_(object), prefix_(std::move(prefix)), errors_(errors) {}

    // A string of 1..max_length printable characters; fallback when absent and not required.
    std::string Text(std::string_view key, bool required, std::size_t max_length, std::string fallback = "") {
        const json::value* v = object_.if_contains(key);
        if (!v || v->is_null()) {
            if (required) Fail(key, "is required");
            return fallback;
        }
        if (!v->is_string() || v->as_string().empty() || v->as_string().size() > max_length ||
            !Printable(v->as_string())) {
            Fail(key, "must be a string of 1 to " + std::to_string(max_length) + " printable characters");
            return fallback;
        }
        return std::string(v->as_string());
    }

    // A commit id: 4 to 64 hexadecimal digits, kept in lower case.
    std::string Sha(std::string_view key, bool required) {
        std::string sha = ToLowerAscii(Text(key, required, 64));
        if (!sha.empty() && (sha.size() < 4 || sha.find_first_not_of("0123456789abcdef") != std::string::npos)) {
            Fail(key, "must be a commit id: 4 to 64 hexadecimal digits");
            return "";
        }
        return sha;
    }

    // A name made of a-z, 0-9, '-' and '_' (environments).
    std::string Slug(std::string_view key, std::string fallback) {
        std::string value = Text(key, false, 40, fallback);
        if (value.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos) {
            Fail(key, "must use only a-z, 0-9, - and _");
            return fallback;
        }
        return value;
    }

    std::string OneOf(std::string_view key, std::initializer_list<std::string_view> options, bool required,
                      std::string fallback = "") {
        std::string value = Text(key, required, 40, fallback);
        if (value.empty() && !required) return fallback;
        for (std::string_view o : options) {
            if (value == o) return value;
        }
        std::string list;
        for (std::string_view o : options) list += (list.empty() ? "" : ", ") + std::string(o);
        if (!value.empty()) Fail(key, "must be one of " + list);
        return fallback;
    }

    // An RFC 3339 time, in Unix milliseconds.
    std::optional<std::int64_t> TimeMillis(std::string_view key, bool required) {
        const json::value* v = object_.if_contains(key);
        if (!v || v->is_null()) {
            if (required) Fail(key, "is required");
            return std::nullopt;
        }
        std::optional<std::int64_t> ms = v->is_string() ? ParseRfc3339Millis(v->as_string()) : std::nullopt;
        if (!ms || *ms < 0) Fail(key, "must be an RFC 3339 time, such as 2026-11-30T10:15:00Z");
        return ms && *ms >= 0 ? ms : std::nullopt;
    }

    std::optional<std::int64_t> Time(std::string_view key, bool required) {
        std::optional<std::int64_t> ms = TimeMillis(key, required);
        return ms ? std::optional<std::int64_t>(*ms / 1000) : std::nullopt;
    }

    std::optional<std::int64_t> Int(std::string_view key, std::int64_t min, std::int64_t max) {
        const json::value* v = object_.if_contains(key);
        if (!v || v->is_null()) return std::nullopt;
        if (!v->is_int64() || v->as_int64() < min || v->as_int64() > max) {
            Fail(key, "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
            return std::nullopt;
        }
        return v->as_int64();
    }

    const json::array* Array(std::string_view key, bool required, std::size_t max_items) {
        const json::value* v = object_.if_contains(key);
        if (!v || v->is_null()) {
            if (required) Fail(key, "is required");
            return nullptr;
        }
        if (!v->is_array() || v->as_array().size() > max_items) {
            Fail(key, "must be a list of at most " + std::to_string(max_items) + " items");
            return nullptr;
        }
        return &v->as_array();
    }

    void Fail(std::string_view key, std::string message) {
        errors_.push_back({prefix_ + "." + std::string(key), std::move(message)});
    }
    const std::string& prefix() const { return prefix_; }
    std::vector<FieldError>& errors() { return errors_; }

private:
    const json::object& object_;
    std::string prefix_;
    std::vector<FieldError>& errors_;
};

RunEvent ReadRun(Reader& r) {
    RunEvent e;
    e.id = r.Text("id", true, 200);
    e.pipeline = r.Text("pipeline", false, 100, "ci");
    e.commit = r.Sha("commit", true);
    e.branch = r.Text("branch", false, 200);
    e.started_at = r.Time("started_at", true).value_or(0);
    e.finished_at = r.Time("finished_at", false);
    std::string result = r.OneOf("result", {"success", "failed", "cancelled", "running"}, false);
    if (!result.empty()) e.result = result;
    return e;
}

StageEvent ReadStage(Reader& r) {
    StageEvent e;
    e.id = r.Text("id", true, 200);
    e.run_id = r.Text("run_id", true, 200);
    e.pipeline = r.Text("pipeline", false, 100, "ci");
    e.commit = r.Sha("commit", false);
    e.name = r.Text("name", true, 200);
    std::optional<std::int64_t> started = r.TimeMillis("started_at", true);
    std::optional<std::int64_t> finished = r.TimeMillis("finished_at", false);
    std::optional<std::int64_t> duration = r.Int("duration_ms", 0, kMaxDurationMs);
    if (!duration && started && finished) {
        if (*finished < *started || *finished - *started > kMaxDurationMs) {
            r.Fail("finished_at", "must be after started_at, within 7 days");
        }
        duration = *finished - *started;
    }
    if (!duration && started && !finished) r.Fail("duration_ms", "is required (or finished_at)");
    e.started_at = started.value_or(0) / 1000;
    e.duration_ms = duration.value_or(0);
    e.result = r.OneOf("result", {"success", "failed"}, true);
    e.exit_code = r.Int("exit_code", -1000, 1000);
    return e;
}

TestsEvent ReadTests(Reader& r) {
    TestsEvent e;
    e.id = r.Text("id", true, 200);
    e.run_id = r.Text("run_id", false, 200);
    e.commit = r.Sha("commit", false);
    e.recorded_at = r.Time("recorded_at", false).value_or(0);
    const std::string suite = r.Text("suite", false, 300);
    const json::array* cases = r.Array("cases", true, kMaxCases);
    if (!cases) return e;
    for (std::size_t i = 0; i < cases->size(); ++i) {
        if (!(*cases)[i].is_object()) {
            r.Fail("cases[" + std::to_string(i) + "]", "must be an object");
            continue;
        }
        Reader c((*cases)[i].as_object(), r.prefix() + ".cases[" + std::to_string(i) + "]", r.errors());
        TestCase t;
        t.suite = c.Text("suite", suite.empty(), 300, suite);
        t.name = c.Text("name", true, 500);
        t.result = c.OneOf("result", {"passed", "failed", "skipped"}, true);
        t.duration_ms = c.Int("duration_ms", 0, kMaxDurationMs).value_or(0);
        e.cases.push_back(std::move(t));
        if (r.errors().size() > 20) return e;  // a broken file: enough to tell what is wrong
    }
    return e;
}

DeploymentEvent ReadDeployment(Reader& r) {
    DeploymentEvent e;
    e.id = r.Text("id", true, 200);
    e.environment = r.Slug("environment", std::string(kDefaultEnvironment));
    e.deployed_at = r.Time("deployed_at", true).value_or(0);
    e.result = r.OneOf("result", {"success", "failed"}, false, "success");
    e.run_id = r.Text("run_id", false, 200);
    const json::array* commits = r.Array("commits", true, kMaxCommits);
    if (!commits) return e;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < commits->size(); ++i) {
        const std::string where = "commits[" + std::to_string(i) + "]";
        if (!(*commits)[i].is_object()) {
            r.Fail(where, "must be an object");
            continue;
        }
        Reader c((*commits)[i].as_object(), r.prefix() + "." + where, r.errors());
        CommitRef ref;
        ref.sha = c.Sha("sha", true);
        ref.committed_at = c.Time("committed_at", true).value_or(0);
        if (!ref.sha.empty() && seen.insert(ref.sha).second) e.commits.push_back(std::move(ref));
    }
    return e;
}

IncidentEvent ReadIncident(Reader& r) {
    IncidentEvent e;
    e.id = r.Text("id", true, 200);
    e.title = r.Text("title", true, 300);
    e.environment = r.Slug("environment", std::string(kDefaultEnvironment));
    e.opened_at = r.Time("opened_at", true).value_or(0);
    e.resolved_at = r.Time("resolved_at", false);
    if (e.resolved_at && *e.resolved_at < e.opened_at) r.Fail("resolved_at", "must not be before opened_at");
    std::string deployment = r.Text("deployment_id", false, 200);
    if (!deployment.empty()) e.deployment_id = deployment;
    return e;
}

std::optional<Event> ReadEvent(const json::value& value, const std::string& where, std::vector<FieldError>& errors) {
    if (!value.is_object()) {
        errors.push_back({where, "must be an object"});
        return std::nullopt;
    }
    Reader r(value.as_object(), where, errors);
    const std::string type = r.OneOf("type", {"run", "stage", "tests", "deployment", "incident"}, true);
    if (type == "run") return ReadRun(r);
    if (type == "stage") return ReadStage(r);
    if (type == "tests") return ReadTests(r);
    if (type == "deployment") return ReadDeployment(r);
    if (type == "incident") return ReadIncident(r);
    return std::nullopt;
}

}  // namespace

Result<std::vector<Event>> ParseEvents(const json::object& body) {
    std::vector<FieldError> errors;
    std::vector<Event> events;
    if (const json::value* list = body.if_contains("events")) {
        if (!list->is_array() || list->as_array().empty() || list->as_array().size() > kMaxEventsPerPost) {
            return Error::Validation(
                {{"events", "must be a list of 1 to " + std::to_string(kMaxEventsPerPost) + " events"}});
        }
        const json::array& items = list->as_array();
        for (std::size_t i = 0; i < items.size() && errors.size() <= 20; ++i) {
            std::optional<Event> e = ReadEvent(items[i], "events[" + std::to_string(i) + "]", errors);
            if (e) events.push_back(std::move(*e));
        }
    } else {
        std::optional<Event> e = ReadEvent(body, "events[0]", errors);
        if (e) events.push_back(std::move(*e));
    }
    if (!errors.empty()) return Error::Validation(std::move(errors));
    return events;
}

json::object EventJson(const Event& event) {
    return std::visit(
        [](const auto& e) -> json::object {
            using T = std::decay_t<decltype(e)>;
            if constexpr (std::is_same_v<T, RunEvent>) {
                json::object o{{"type", "run"},      {"id", e.id},         {"pipeline", e.pipeline},
                               {"commit", e.commit}, {"branch", e.branch}, {"started_at", FormatRfc3339(e.started_at)}};
                if (e.branch.empty()) o.erase("branch");
                if (e.finished_at) o["finished_at"] = FormatRfc3339(*e.finished_at);
                if (e.result) o["result"] = *e.result;
                return o;
            } else if constexpr (std::is_same_v<T, StageEvent>) {
                json::object o{{"type", "stage"},
                               {"id", e.id},
                               {"run_id", e.run_id},
                               {"pipeline", e.pipeline},
                               {"name", e.name},
                               {"started_at", FormatRfc3339(e.started_at)},
                               {"duration_ms", e.duration_ms},
                               {"result", e.result}};
                if (!e.commit.empty()) o["commit"] = e.commit;
                if (e.exit_code) o["exit_code"] = *e.exit_code;
                return o;
            } else if constexpr (std::is_same_v<T, TestsEvent>) {
                json::array cases;
                for (const TestCase& t : e.cases) {
                    cases.push_back(json::object{
                        {"suite", t.suite}, {"name", t.name}, {"result", t.result}, {"duration_ms", t.duration_ms}});
                }
                json::object o{{"type", "tests"}, {"id", e.id}, {"cases", std::move(cases)}};
                if (!e.run_id.empty()) o["run_id"] = e.run_id;
                if (!e.commit.empty()) o["commit"] = e.commit;
                if (e.recorded_at > 0) o["recorded_at"] = FormatRfc3339(e.recorded_at);
                return o;
            } else if constexpr (std::is_same_v<T, DeploymentEvent>) {
                json::array commits;
                for (const CommitRef& c : e.commits) {
                    commits.push_back(json::object{{"sha", c.sha}, {"committed_at", FormatRfc3339(c.committed_at)}});
                }
                json::object o{{"type", "deployment"},         {"id", e.id},
                               {"environment", e.environment}, {"deployed_at", FormatRfc3339(e.deployed_at)},
                               {"result", e.result},           {"commits", std::move(commits)}};
                if (!e.run_id.empty()) o["run_id"] = e.run_id;
                return o;
            } else {
                json::object o{{"type", "incident"},
                               {"id", e.id},
                               {"title", e.title},
                               {"environment", e.environment},
                               {"opened_at", FormatRfc3339(e.opened_at)}};
                if (e.resolved_at) o["resolved_at"] = FormatRfc3339(*e.resolved_at);
                if (e.deployment_id) o["deployment_id"] = *e.deployment_id;
                return o;
            }
        },
        event);
}

}  // namespace emporium::delivery
