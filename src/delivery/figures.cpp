// The read side of the delivery record: figures over a period, the lists behind them, and CSV.
#include <algorithm>
#include <map>

#include "delivery/delivery.h"
#include "delivery/time_text.h"

namespace emporium::delivery {
namespace {

constexpr std::size_t kMaxStages = 50;
constexpr std::size_t kMaxFlaky = 50;

std::int64_t DayOf(std::int64_t t) {
    return t - ((t % 86400) + 86400) % 86400;
}

std::vector<DayCount> EveryDay(const Period& p) {
    std::vector<DayCount> days;
    for (std::int64_t d = DayOf(p.from); d < p.to; d += 86400) days.push_back({d, 0});
    return days;
}

void CountOn(std::vector<DayCount>& days, std::int64_t t) {
    if (days.empty()) return;
    const std::int64_t index = (DayOf(t) - days.front().day) / 86400;
    if (index >= 0 && index < static_cast<std::int64_t>(days.size())) ++days[static_cast<std::size_t>(index)].count;
}

std::optional<std::int64_t> OptionalInt(const db::Row& r, int column) {
    return r.IsNull(column) ? std::nullopt : std::optional<std::int64_t>(r.Int(column));
}

// Environment "" matches every environment.
constexpr const char* kEnvironmentMatches = "(? = '' OR environment = ?)";

std::vector<Incident> QueryIncidents(db::Connection& c, const std::string& where, const db::Params& params) {
    std::vector<Incident> out;
    c.Query(
        "SELECT i.id, i.external_id, i.title, i.source, i.environment, i.opened_at, i.resolved_at, i.deployment_id,"
        " COALESCE(d.external_id, ''), i.link FROM delivery_incidents i"
        " LEFT JOIN delivery_deployments d ON d.id = i.deployment_id WHERE " +
            where + " ORDER BY i.opened_at DESC, i.id DESC",
        params, [&](const db::Row& r) {
            out.push_back({r.Int(0), std::string(r.Text(1)), std::string(r.Text(2)), std::string(r.Text(3)),
                           std::string(r.Text(4)), r.Int(5), OptionalInt(r, 6), OptionalInt(r, 7),
                           std::string(r.Text(8)), std::string(r.Text(9))});
        });
    return out;
}

LeadTime ComputeLeadTime(db::Connection& c, const Period& p, const std::string& environment) {
    // Each commit counts once, at its first deployment to the environment.
    std::vector<std::int64_t> leads;
    c.Query(
        "SELECT c.sha, MIN(c.committed_at), MIN(d.deployed_at) FROM delivery_deployment_commits c"
        " JOIN delivery_deployments d ON d.id = c.deployment_id WHERE d.environment = ? AND c.sha IN"
        " (SELECT c2.sha FROM delivery_deployment_commits c2 JOIN delivery_deployments d2 ON d2.id = c2.deployment_id"
        " WHERE d2.environment = ? AND d2.deployed_at >= ? AND d2.deployed_at < ?) GROUP BY c.sha",
        {environment, environment, p.from, p.to}, [&](const db::Row& r) {
            const std::int64_t first = r.Int(2);
            if (first < p.from || first >= p.to) return;  // shipped before the period began
            leads.push_back(std::max<std::int64_t>(0, first - r.Int(1)));
        });
    LeadTime out;
    out.deployments = c.QueryInt(
        "SELECT COUNT(DISTINCT d.id) FROM delivery_deployments d JOIN delivery_deployment_commits c"
        " ON c.deployment_id = d.id WHERE d.environment = ? AND d.deployed_at >= ? AND d.deployed_at < ?"
        " AND NOT EXISTS (SELECT 1 FROM delivery_deployment_commits c3 JOIN delivery_deployments d3"
        " ON d3.id = c3.deployment_id WHERE c3.sha = c.sha AND d3.environment = d.environment"
        " AND (d3.deployed_at < d.deployed_at OR (d3.deployed_at = d.deployed_at AND d3.id < d.id)))",
        {environment, p.from, p.to});
    out.commits = static_cast<std::int64_t>(leads.size());
    out.p50_seconds = Percentile(leads, 50);
    out.p95_seconds = Percentile(leads, 95);
    return out;
}

TimeToRestore ComputeRestore(db::Connection& c, const Period& p, const std::string& environment) {
    TimeToRestore out;
    std::vector<std::int64_t> durations;
    c.Query(std::string("SELECT opened_at, resolved_at FROM delivery_incidents WHERE ") + kEnvironmentMatches +
                " AND resolved_at >= ? AND resolved_at < ?",
            {environment, environment, p.from, p.to},
            [&](const db::Row& r) { durations.push_back(std::max<std::int64_t>(0, r.Int(1) - r.Int(0))); });
    out.open = c.QueryInt(std::string("SELECT COUNT(*) FROM delivery_incidents WHERE ") + kEnvironmentMatches +
                              " AND opened_at < ? AND (resolved_at IS NULL OR resolved_at >= ?)",
                          {environment, environment, p.to, p.to});
    out.resolved = static_cast<std::int64_t>(durations.size());
    out.p50_seconds = Percentile(durations, 50);
    out.p95_seconds = Percentile(durations, 95);
    return out;
}

SuccessRate ComputeSuccess(db::Connection& c, const Period& p) {
    SuccessRate out;
    out.daily_succeeded = EveryDay(p);
    out.daily_failed = EveryDay(p);
    c.Query("SELECT started_at, result FROM delivery_runs WHERE started_at >= ? AND started_at < ?", {p.from, p.to},
            [&](const db::Row& r) {
                const std::string_view result = r.Text(1);
                if (result == "success") {
                    ++out.succeeded;
                    CountOn(out.daily_succeeded, r.Int(0));
                } else if (result == "failed") {
                    ++out.failed;
                    CountOn(out.daily_failed, r.Int(0));
                } else if (result == "cancelled") {
                    ++out.cancelled;
                } else {
                    ++out.running;
                }
            });
    out.finished = out.succeeded + out.failed + out.cancelled;
    if (out.finished > 0) out.rate = static_cast<double>(out.succeeded) / static_cast<double>(out.finished);
    return out;
}

std::vector<StageFigure> ComputeStages(db::Connection& c, const Period& p) {
    struct Samples {
        std::vector<std::int64_t> current, previous;
        std::int64_t failed = 0;
        std::map<std::int64_t, std::vector<std::int64_t>> by_day;
    };
    std::map<std::string, Samples> stages;
    const std::int64_t previous_from = p.from - (p.to - p.from);
    c.Query(
        "SELECT name, started_at, duration_ms, result FROM delivery_stages WHERE started_at >= ? AND started_at < ?",
        {previous_from, p.to}, [&](const db::Row& r) {
            Samples& s = stages[std::string(r.Text(0))];
            const std::int64_t at = r.Int(1), ms = r.Int(2);
            if (at < p.from) {
                s.previous.push_back(ms);
                return;
            }
            s.current.push_back(ms);
            s.by_day[DayOf(at)].push_back(ms);
            if (r.Text(3) == "failed") ++s.failed;
        });
    std::vector<StageFigure> out;
    for (auto& [name, s] : stages) {
        if (s.current.empty()) continue;
        StageFigure f;
        f.name = name;
        f.runs = static_cast<std::int64_t>(s.current.size());
        f.failed = s.failed;
        f.p50_ms = Percentile(s.current, 50);
        f.p95_ms = Percentile(s.current, 95);
        f.previous_p50_ms = Percentile(s.previous, 50);
        f.previous_runs = static_cast<std::int64_t>(s.previous.size());
        for (auto& [day, values] : s.by_day) f.trend.push_back({day, *Percentile(values, 50)});
        out.push_back(std::move(f));
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const StageFigure& a, const StageFigure& b) { return a.runs > b.runs; });
    if (out.size() > kMaxStages) out.resize(kMaxStages);
    return out;
}

Flakiness ComputeFlaky(db::Connection& c, const Period& p) {
    Flakiness out;
    out.window_to = p.to;
    out.window_from = p.to - kFlakyWindowSeconds;
    std::map<std::pair<std::string, std::string>, FlakyTest> tests;
    c.Query(
        "SELECT suite, name, commit_sha, SUM(CASE WHEN result = 'passed' THEN 1 ELSE 0 END),"
        " SUM(CASE WHEN result = 'failed' THEN 1 ELSE 0 END), MAX(recorded_at) FROM delivery_test_results"
        " WHERE recorded_at >= ? AND recorded_at < ? GROUP BY suite, name, commit_sha",
        {out.window_from, out.window_to}, [&](const db::Row& r) {
            auto key = std::make_pair(std::string(r.Text(0)), std::string(r.Text(1)));
            auto [it, added] = tests.try_emplace(key);
            if (added) {
                it->second.suite = key.first;
                it->second.name = key.second;
            }
            const std::int64_t passed = r.Int(3), failed = r.Int(4);
            if (passed == 0 || failed == 0) return;
            FlakyTest& t = it->second;
            ++t.commits;
            t.passed += passed;
            t.failed += failed;
            t.last_seen = std::max(t.last_seen, r.Int(5));
        });
    out.tests_seen = static_cast<std::int64_t>(tests.size());
    for (auto& [key, t] : tests) {
        if (t.commits > 0) out.items.push_back(std::move(t));
    }
    out.total = static_cast<std::int64_t>(out.items.size());
    std::stable_sort(out.items.begin(), out.items.end(), [](const FlakyTest& a, const FlakyTest& b) {
        return a.commits != b.commits ? a.commits > b.commits : a.failed > b.failed;
    });
    if (out.items.size() > kMaxFlaky) out.items.resize(kMaxFlaky);
    return out;
}

std::string TimeOrEmpty(const std::optional<std::int64_t>& t) {
    return t ? FormatRfc3339(*t) : "";
}

std::string IntOrEmpty(const std::optional<std::int64_t>& v) {
    return v ? std::to_string(*v) : "";
}

std::string CsvLine(std::initializer_list<std::string> fields) {
    std::string line;
    for (const std::string& f : fields) {
        if (!line.empty()) line += ',';
        line += CsvField(f);
    }
    return line + "\r\n";
}

}  // namespace

std::vector<Deployment> DeliveryService::Deployments(const Period& p, std::string_view environment) const {
    const std::string env(environment);
    return database_.Read([&](db::Connection& c) {
        std::vector<Deployment> out;
        std::map<std::int64_t, std::size_t> index;
        c.Query(
            "SELECT d.id, d.external_id, d.environment, d.deployed_at, d.result, d.commit_count,"
            " (SELECT COUNT(*) FROM delivery_incidents i WHERE i.deployment_id = d.id) FROM delivery_deployments d"
            " WHERE d.environment = ? AND d.deployed_at >= ? AND d.deployed_at < ? ORDER BY d.deployed_at, d.id",
            {env, p.from, p.to}, [&](const db::Row& r) {
                index[r.Int(0)] = out.size();
                out.push_back({r.Int(0), std::string(r.Text(1)), std::string(r.Text(2)), r.Int(3),
                               std::string(r.Text(4)), r.Int(5), r.Int(6), std::nullopt});
            });
        std::map<std::int64_t, std::vector<std::int64_t>> leads;
        c.Query(
            "SELECT c.deployment_id, d.deployed_at - c.committed_at FROM delivery_deployment_commits c"
            " JOIN delivery_deployments d ON d.id = c.deployment_id"
            " WHERE d.environment = ? AND d.deployed_at >= ? AND d.deployed_at < ?",
            {env, p.from, p.to},
            [&](const db::Row& r) { leads[r.Int(0)].push_back(std::max<std::int64_t>(0, r.Int(1))); });
        for (auto& [id, values] : leads) out[index[id]].lead_time_p50 = Percentile(values, 50);
        return out;
    });
}

std::vector<Incident> DeliveryService::Incidents(const Period& p, std::string_view environment) const {
    const std::string env(environment);
    return database_.Read([&](db::Connection& c) {
        return QueryIncidents(
            c, "(? = '' OR i.environment = ?) AND i.opened_at < ? AND (i.resolved_at IS NULL OR i.resolved_at >= ?)",
            {env, env, p.to, p.from});
    });
}

std::optional<Incident> DeliveryService::IncidentById(std::int64_t id) const {
    std::vector<Incident> found =
        database_.Read([&](db::Connection& c) { return QueryIncidents(c, "i.id = ?", {id}); });
    if (found.empty()) return std::nullopt;
    return std::move(found.front());
}

Summary DeliveryService::Figures(const Period& p, std::string_view environment) const {
    Summary s;
    s.period = p;
    s.environment = std::string(environment);
    std::vector<Deployment> deployments = Deployments(p, environment);
    s.frequency.deployments = static_cast<std::int64_t>(deployments.size());
    s.frequency.days = p.Days();
    s.frequency.daily = EveryDay(p);
    s.change_failure.deployments = s.frequency.deployments;
    for (const Deployment& d : deployments) {
        CountOn(s.frequency.daily, d.deployed_at);
        const bool failed_itself = d.result == "failed";
        if (failed_itself) ++s.change_failure.failed_by_result;
        if (d.incidents > 0) ++s.change_failure.with_incidents;
        if (failed_itself || d.incidents > 0) ++s.change_failure.failed;
    }
    if (s.frequency.days > 0) {
        s.frequency.per_day = static_cast<double>(s.frequency.deployments) / static_cast<double>(s.frequency.days);
        s.frequency.per_week = s.frequency.per_day * 7;
    }
    if (s.change_failure.deployments > 0) {
        s.change_failure.rate =
            static_cast<double>(s.change_failure.failed) / static_cast<double>(s.change_failure.deployments);
    }
    database_.Read([&](db::Connection& c) {
        s.lead_time = ComputeLeadTime(c, p, s.environment);
        s.restore = ComputeRestore(c, p, s.environment);
        s.success = ComputeSuccess(c, p);
        s.stages = ComputeStages(c, p);
        s.flaky = ComputeFlaky(c, p);
    });
    return s;
}

std::optional<std::string> DeliveryService::ExportCsv(std::string_view kind, const Period& p,
                                                      std::string_view environment) const {
    std::string out;
    if (kind == "deployments") {
        out = CsvLine({"id", "deployment", "environment", "deployed_at", "result", "commits", "lead_time_p50_seconds",
                       "incidents", "change_failed"});
        for (const Deployment& d : Deployments(p, environment)) {
            const bool failed = d.result == "failed" || d.incidents > 0;
            out += CsvLine({std::to_string(d.id), d.external_id, d.environment, FormatRfc3339(d.deployed_at), d.result,
                            std::to_string(d.commits), IntOrEmpty(d.lead_time_p50), std::to_string(d.incidents),
                            failed ? "yes" : "no"});
        }
        return out;
    }
    if (kind == "incidents") {
        out = CsvLine({"id", "incident", "title", "source", "environment", "opened_at", "resolved_at",
                       "restore_seconds", "deployment", "link"});
        for (const Incident& i : Incidents(p, environment)) {
            std::optional<std::int64_t> restore;
            if (i.resolved_at) restore = *i.resolved_at - i.opened_at;
            out += CsvLine({std::to_string(i.id), i.external_id, i.title, i.source, i.environment,
                            FormatRfc3339(i.opened_at), TimeOrEmpty(i.resolved_at), IntOrEmpty(restore),
                            i.deployment_external_id, i.link});
        }
        return out;
    }
    if (kind == "stages") {
        out = CsvLine({"run", "pipeline", "commit", "stage", "started_at", "duration_ms", "result", "exit_code"});
        database_.Read([&](db::Connection& c) {
            c.Query(
                "SELECT r.external_id, r.pipeline, r.commit_sha, s.name, s.started_at, s.duration_ms, s.result,"
                " s.exit_code FROM delivery_stages s JOIN delivery_runs r ON r.id = s.run_id"
                " WHERE s.started_at >= ? AND s.started_at < ? ORDER BY s.started_at, s.id",
                {p.from, p.to}, [&](const db::Row& r) {
                    out += CsvLine({std::string(r.Text(0)), std::string(r.Text(1)), std::string(r.Text(2)),
                                    std::string(r.Text(3)), FormatRfc3339(r.Int(4)), std::to_string(r.Int(5)),
                                    std::string(r.Text(6)), IntOrEmpty(OptionalInt(r, 7))});
                });
        });
        return out;
    }
    if (kind == "flaky") {
        out = CsvLine({"suite", "test", "commits", "passed", "failed", "last_seen"});
        database_.Read([&](db::Connection& c) {
            for (const FlakyTest& t : ComputeFlaky(c, p).items) {
                out += CsvLine({t.suite, t.name, std::to_string(t.commits), std::to_string(t.passed),
                                std::to_string(t.failed), FormatRfc3339(t.last_seen)});
            }
        });
        return out;
    }
    return std::nullopt;
}

}  // namespace emporium::delivery
