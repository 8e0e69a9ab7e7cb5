#include "delivery/delivery.h"

#include <algorithm>
#include <cmath>

#include "delivery/time_text.h"

namespace emporium::delivery {

std::vector<db::Migration> Migrations(db::Dialect dialect) {
    const std::string id = db::IdColumn(dialect);
    return {{"delivery", 1,
             "CREATE TABLE delivery_runs (" + id +
                 ", external_id TEXT NOT NULL UNIQUE, pipeline TEXT NOT NULL, commit_sha TEXT NOT NULL,"
                 " branch TEXT NOT NULL, started_at BIGINT NOT NULL, finished_at BIGINT, result TEXT NOT NULL,"
                 " result_given INTEGER NOT NULL, updated_at BIGINT NOT NULL);"
                 "CREATE INDEX delivery_runs_started ON delivery_runs (started_at);"
                 "CREATE TABLE delivery_stages (" +
                 id +
                 ", external_id TEXT NOT NULL UNIQUE, run_id BIGINT NOT NULL REFERENCES delivery_runs (id),"
                 " name TEXT NOT NULL, started_at BIGINT NOT NULL, duration_ms BIGINT NOT NULL, result TEXT NOT NULL,"
                 " exit_code BIGINT, updated_at BIGINT NOT NULL);"
                 "CREATE INDEX delivery_stages_run ON delivery_stages (run_id);"
                 "CREATE INDEX delivery_stages_started ON delivery_stages (started_at);"
                 "CREATE TABLE delivery_test_batches (" +
                 id +
                 ", external_id TEXT NOT NULL UNIQUE, run_id BIGINT REFERENCES delivery_runs (id),"
                 " commit_sha TEXT NOT NULL, recorded_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
                 "CREATE TABLE delivery_test_results (" +
                 id +
                 ", batch_id BIGINT NOT NULL REFERENCES delivery_test_batches (id), commit_sha TEXT NOT NULL,"
                 " suite TEXT NOT NULL, name TEXT NOT NULL, result TEXT NOT NULL, duration_ms BIGINT NOT NULL,"
                 " recorded_at BIGINT NOT NULL);"
                 "CREATE INDEX delivery_test_results_batch ON delivery_test_results (batch_id);"
                 "CREATE INDEX delivery_test_results_recorded ON delivery_test_results (recorded_at);"
                 "CREATE TABLE delivery_deployments (" +
                 id +
                 ", external_id TEXT NOT NULL UNIQUE, environment TEXT NOT NULL, deployed_at BIGINT NOT NULL,"
                 " result TEXT NOT NULL, run_external_id TEXT NOT NULL, commit_count BIGINT NOT NULL,"
                 " updated_at BIGINT NOT NULL);"
                 "CREATE INDEX delivery_deployments_at ON delivery_deployments (environment, deployed_at);"
                 "CREATE TABLE delivery_deployment_commits ("
                 " deployment_id BIGINT NOT NULL REFERENCES delivery_deployments (id), sha TEXT NOT NULL,"
                 " committed_at BIGINT NOT NULL, PRIMARY KEY (deployment_id, sha));"
                 "CREATE INDEX delivery_deployment_commits_sha ON delivery_deployment_commits (sha);"
                 "CREATE TABLE delivery_incidents (" +
                 id +
                 ", external_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, source TEXT NOT NULL,"
                 " environment TEXT NOT NULL, opened_at BIGINT NOT NULL, resolved_at BIGINT,"
                 " deployment_id BIGINT REFERENCES delivery_deployments (id), link TEXT NOT NULL,"
                 " updated_at BIGINT NOT NULL);"
                 "CREATE INDEX delivery_incidents_opened ON delivery_incidents (environment, opened_at);"}};
}

Result<Period> ParsePeriod(std::optional<std::string_view> from, std::optional<std::string_view> to, std::int64_t now) {
    const std::int64_t today = now - (now % 86400 + 86400) % 86400;
    const std::optional<std::int64_t> last_day = to ? ParseDate(*to) : std::optional<std::int64_t>(today);
    if (!last_day) return Error::Validation({{"to", "must be a date, YYYY-MM-DD"}});
    const std::optional<std::int64_t> first_day = from ? ParseDate(*from) : *last_day - std::int64_t{29} * 86400;
    if (!first_day) return Error::Validation({{"from", "must be a date, YYYY-MM-DD"}});
    if (*first_day > *last_day) return Error::Validation({{"to", "must not be before from"}});
    if (*last_day - *first_day >= std::int64_t{366} * 86400) {
        return Error::Validation({{"to", "must be at most 366 days after from"}});
    }
    return Period{*first_day, *last_day + 86400};
}

std::optional<std::int64_t> Percentile(std::vector<std::int64_t> values, double p) {
    if (values.empty()) return std::nullopt;
    std::sort(values.begin(), values.end());
    const double rank = std::ceil(p / 100.0 * static_cast<double>(values.size()));
    const std::size_t index = static_cast<std::size_t>(std::clamp(rank, 1.0, static_cast<double>(values.size()))) - 1;
    return values[index];
}

std::string CsvField(std::string_view text) {
    std::string value(text);
    if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                           value[0] == '\t' || value[0] == '\r')) {
        value.insert(value.begin(), '\'');
    }
    if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
    std::string out = "\"";
    for (char ch : value) {
        if (ch == '"') out += '"';
        out += ch;
    }
    return out + "\"";
}

namespace {

// Inserts a row for a new external id, or updates the row that has it; returns its id and
// whether it was made now. Both statements end in `RETURNING id`; the update's last parameter
// is the external id.
std::pair<std::int64_t, bool> Upsert(db::Connection& c, std::string_view insert_sql, const db::Params& insert,
                                     std::string_view update_sql, const db::Params& update) {
    std::optional<std::int64_t> id;
    c.Query(insert_sql, insert, [&](const db::Row& r) { id = r.Int(0); });
    if (id) return {*id, true};
    c.Query(update_sql, update, [&](const db::Row& r) { id = r.Int(0); });
    if (!id) throw db::DbError(db::DbError::Kind::kOther, "upsert found neither a new nor an old row");
    return {*id, false};
}

std::optional<std::int64_t> FindId(db::Connection& c, std::string_view table, const std::string& external_id) {
    std::optional<std::int64_t> id;
    c.Query("SELECT id FROM " + std::string(table) + " WHERE external_id = ?", {external_id},
            [&](const db::Row& r) { id = r.Int(0); });
    return id;
}

db::Value Optional(const std::optional<std::int64_t>& v) {
    return v ? db::Value(*v) : db::Value(nullptr);
}

// A run's start, end and result follow its stages unless the run said its result itself.
void RefreshRun(db::Connection& c, std::int64_t run_id, std::int64_t now) {
    bool any = false;
    std::int64_t first = 0, last_end_ms = 0, failed = 0;
    c.Query(
        "SELECT MIN(started_at), MAX(started_at * 1000 + duration_ms),"
        " SUM(CASE WHEN result = 'failed' THEN 1 ELSE 0 END), COUNT(*) FROM delivery_stages WHERE run_id = ?",
        {run_id}, [&](const db::Row& r) {
            if (r.Int(3) == 0) return;
            any = true;
            first = r.Int(0);
            last_end_ms = r.Int(1);
            failed = r.Int(2);
        });
    if (!any) return;
    const std::int64_t end = (last_end_ms + 999) / 1000;
    c.Execute(
        "UPDATE delivery_runs SET started_at = CASE WHEN started_at > ? THEN ? ELSE started_at END,"
        " finished_at = CASE WHEN result_given = 1 THEN finished_at ELSE ? END,"
        " result = CASE WHEN result_given = 1 THEN result ELSE ? END, updated_at = ? WHERE id = ?",
        {first, first, end, std::string(failed > 0 ? "failed" : "success"), now, run_id});
}

// The run named by a stage, made when it is new.
Result<std::int64_t> EnsureRun(db::Connection& c, const StageEvent& s, std::int64_t now, const std::string& where) {
    if (std::optional<std::int64_t> id = FindId(c, "delivery_runs", s.run_id)) return *id;
    if (s.commit.empty()) {
        return Error::Validation({{where + ".commit", "is required when run_id names a run not recorded yet"}});
    }
    return c.QueryInt(
        "INSERT INTO delivery_runs (external_id, pipeline, commit_sha, branch, started_at, finished_at, result,"
        " result_given, updated_at) VALUES (?, ?, ?, '', ?, NULL, 'running', 0, ?) RETURNING id",
        {s.run_id, s.pipeline, s.commit, s.started_at, now});
}

// Points every incident not linked by hand, opened at or after `since`, at the last deployment
// of its environment before it opened.
void RelinkIncidents(db::Connection& c, const std::string& environment, std::int64_t since, std::int64_t now) {
    c.Execute(
        "UPDATE delivery_incidents SET deployment_id = (SELECT d.id FROM delivery_deployments d"
        " WHERE d.environment = delivery_incidents.environment AND d.deployed_at <= delivery_incidents.opened_at"
        " ORDER BY d.deployed_at DESC, d.id DESC LIMIT 1), updated_at = ?"
        " WHERE environment = ? AND link = 'auto' AND opened_at >= ?",
        {now, environment, since});
}

Result<Recorded> RecordRun(db::Connection& c, const RunEvent& e, std::int64_t now) {
    const std::int64_t given = e.result ? 1 : 0;
    const std::string result = e.result.value_or("running");
    auto [id, created] =
        Upsert(c,
               "INSERT INTO delivery_runs (external_id, pipeline, commit_sha, branch, started_at, finished_at, result,"
               " result_given, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING"
               " RETURNING id",
               {e.id, e.pipeline, e.commit, e.branch, e.started_at, Optional(e.finished_at), result, given, now},
               "UPDATE delivery_runs SET pipeline = ?, commit_sha = ?, branch = ?, started_at = ?, finished_at = ?,"
               " result = ?, result_given = ?, updated_at = ? WHERE external_id = ? RETURNING id",
               {e.pipeline, e.commit, e.branch, e.started_at, Optional(e.finished_at), result, given, now, e.id});
    if (!e.result) RefreshRun(c, id, now);
    return Recorded{"run", e.id, created};
}

Result<Recorded> RecordStage(db::Connection& c, const StageEvent& e, std::int64_t now, const std::string& where) {
    Result<std::int64_t> run = EnsureRun(c, e, now, where);
    if (!run.ok()) return run.error();
    auto [id, created] = Upsert(
        c,
        "INSERT INTO delivery_stages (external_id, run_id, name, started_at, duration_ms, result, exit_code,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING RETURNING id",
        {e.id, *run, e.name, e.started_at, e.duration_ms, e.result, Optional(e.exit_code), now},
        "UPDATE delivery_stages SET run_id = ?, name = ?, started_at = ?, duration_ms = ?, result = ?, exit_code = ?,"
        " updated_at = ? WHERE external_id = ? RETURNING id",
        {*run, e.name, e.started_at, e.duration_ms, e.result, Optional(e.exit_code), now, e.id});
    (void)id;
    RefreshRun(c, *run, now);
    return Recorded{"stage", e.id, created};
}

Result<Recorded> RecordTests(db::Connection& c, const TestsEvent& e, std::int64_t now, const std::string& where) {
    std::optional<std::int64_t> run;
    std::string commit = e.commit;
    std::int64_t recorded_at = e.recorded_at;
    if (!e.run_id.empty()) {
        c.Query("SELECT id, commit_sha, started_at FROM delivery_runs WHERE external_id = ?", {e.run_id},
                [&](const db::Row& r) {
                    run = r.Int(0);
                    if (commit.empty()) commit = std::string(r.Text(1));
                    if (recorded_at == 0) recorded_at = r.Int(2);
                });
    }
    if (commit.empty()) {
        return Error::Validation({{where + ".commit", "is required unless run_id names a recorded run"}});
    }
    if (recorded_at == 0) recorded_at = now;
    auto [batch, created] =
        Upsert(c,
               "INSERT INTO delivery_test_batches (external_id, run_id, commit_sha, recorded_at, updated_at)"
               " VALUES (?, ?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING RETURNING id",
               {e.id, Optional(run), commit, recorded_at, now},
               "UPDATE delivery_test_batches SET run_id = ?, commit_sha = ?, recorded_at = ?, updated_at = ?"
               " WHERE external_id = ? RETURNING id",
               {Optional(run), commit, recorded_at, now, e.id});
    c.Execute("DELETE FROM delivery_test_results WHERE batch_id = ?", {batch});
    constexpr std::size_t kRowsPerStatement = 100;
    for (std::size_t start = 0; start < e.cases.size(); start += kRowsPerStatement) {
        const std::size_t end = std::min(e.cases.size(), start + kRowsPerStatement);
        std::string sql =
            "INSERT INTO delivery_test_results (batch_id, commit_sha, suite, name, result, duration_ms, recorded_at)"
            " VALUES ";
        db::Params params;
        for (std::size_t i = start; i < end; ++i) {
            sql += i == start ? "(?, ?, ?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?, ?, ?)";
            const TestCase& t = e.cases[i];
            params.insert(params.end(), {batch, commit, t.suite, t.name, t.result, t.duration_ms, recorded_at});
        }
        c.Execute(sql, params);
    }
    return Recorded{"tests", e.id, created};
}

Result<Recorded> RecordDeployment(db::Connection& c, const DeploymentEvent& e, std::int64_t now) {
    std::int64_t relink_from = e.deployed_at;
    c.Query("SELECT deployed_at FROM delivery_deployments WHERE external_id = ?", {e.id},
            [&](const db::Row& r) { relink_from = std::min(relink_from, r.Int(0)); });
    const auto commits = static_cast<std::int64_t>(e.commits.size());
    auto [id, created] = Upsert(
        c,
        "INSERT INTO delivery_deployments (external_id, environment, deployed_at, result, run_external_id,"
        " commit_count, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING RETURNING id",
        {e.id, e.environment, e.deployed_at, e.result, e.run_id, commits, now},
        "UPDATE delivery_deployments SET environment = ?, deployed_at = ?, result = ?, run_external_id = ?,"
        " commit_count = ?, updated_at = ? WHERE external_id = ? RETURNING id",
        {e.environment, e.deployed_at, e.result, e.run_id, commits, now, e.id});
    c.Execute("DELETE FROM delivery_deployment_commits WHERE deployment_id = ?", {id});
    for (const CommitRef& commit : e.commits) {
        c.Execute("INSERT INTO delivery_deployment_commits (deployment_id, sha, committed_at) VALUES (?, ?, ?)",
                  {id, commit.sha, commit.committed_at});
    }
    // A deployment recorded late (sent from a spool file) may come before incidents already linked.
    RelinkIncidents(c, e.environment, relink_from, now);
    return Recorded{"deployment", e.id, created};
}

Result<Recorded> RecordIncident(db::Connection& c, const IncidentEvent& e, std::int64_t now, const std::string& where,
                                std::string_view source) {
    std::optional<std::int64_t> deployment;
    if (e.deployment_id) {
        deployment = FindId(c, "delivery_deployments", *e.deployment_id);
        if (!deployment) return Error::Validation({{where + ".deployment_id", "names no recorded deployment"}});
    }
    // A link made by hand outlives the incident being sent again without one.
    const std::string link = e.deployment_id ? "manual" : "auto";
    auto [id, created] = Upsert(
        c,
        "INSERT INTO delivery_incidents (external_id, title, source, environment, opened_at, resolved_at,"
        " deployment_id, link, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING"
        " RETURNING id",
        {e.id, e.title, std::string(source), e.environment, e.opened_at, Optional(e.resolved_at), Optional(deployment),
         link, now},
        "UPDATE delivery_incidents SET title = ?, environment = ?, opened_at = ?, resolved_at = ?,"
        " deployment_id = CASE WHEN ? = 'manual' OR link = 'auto' THEN ? ELSE deployment_id END,"
        " link = CASE WHEN ? = 'manual' THEN 'manual' ELSE link END, updated_at = ? WHERE external_id = ? RETURNING id",
        {e.title, e.environment, e.opened_at, Optional(e.resolved_at), link, Optional(deployment), link, now, e.id});
    if (!e.deployment_id) {
        c.Execute(
            "UPDATE delivery_incidents SET deployment_id = (SELECT d.id FROM delivery_deployments d"
            " WHERE d.environment = ? AND d.deployed_at <= ? ORDER BY d.deployed_at DESC, d.id DESC LIMIT 1)"
            " WHERE id = ? AND link = 'auto'",
            {e.environment, e.opened_at, id});
    }
    return Recorded{"incident", e.id, created};
}

}  // namespace

Result<std::vector<Recorded>> DeliveryService::Record(const std::vector<Event>& events) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    return database_.Write([&](db::Connection& c) -> Result<std::vector<Recorded>> {
        std::vector<Recorded> out;
        out.reserve(events.size());
        for (std::size_t i = 0; i < events.size(); ++i) {
            const std::string where = "events[" + std::to_string(i) + "]";
            Result<Recorded> r = std::visit(
                [&](const auto& e) -> Result<Recorded> {
                    using T = std::decay_t<decltype(e)>;
                    if constexpr (std::is_same_v<T, RunEvent>) return RecordRun(c, e, now);
                    if constexpr (std::is_same_v<T, StageEvent>) return RecordStage(c, e, now, where);
                    if constexpr (std::is_same_v<T, TestsEvent>) return RecordTests(c, e, now, where);
                    if constexpr (std::is_same_v<T, DeploymentEvent>) return RecordDeployment(c, e, now);
                    if constexpr (std::is_same_v<T, IncidentEvent>) return RecordIncident(c, e, now, where, "api");
                },
                events[i]);
            if (!r.ok()) return r.error();
            out.push_back(std::move(*r));
        }
        return out;
    });
}

void DeliveryService::OnAlert(const AlertSignal& signal) {
    const std::string id = "alert:" + signal.rule + ":" + std::to_string(signal.since);
    const std::int64_t now = UnixSeconds(clock_.Now());
    try {
        database_.Write([&](db::Connection& c) {
            if (signal.resolved) {
                c.Execute(
                    "UPDATE delivery_incidents SET resolved_at = ?, updated_at = ? WHERE external_id = ?"
                    " AND resolved_at IS NULL",
                    {signal.at, now, id});
                return;
            }
            if (FindId(c, "delivery_incidents", id)) return;  // a repeat of a firing alert
            IncidentEvent e;
            e.id = id;
            e.title = signal.rule + ": " + signal.summary;
            e.opened_at = signal.since;
            (void)RecordIncident(c, e, now, "alert", "alert");
        });
    } catch (const std::exception&) {
        // The alert itself has been sent; a database that cannot take the incident now (a standby,
        // a full disk) must not stop the alerter.
    }
}

Result<Incident> DeliveryService::LinkIncident(std::int64_t incident_id, std::optional<std::int64_t> deployment_id,
                                               bool automatic) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    Status linked = database_.Write([&](db::Connection& c) -> Status {
        std::string environment;
        std::int64_t opened_at = 0;
        bool found = false;
        c.Query("SELECT environment, opened_at FROM delivery_incidents WHERE id = ?", {incident_id},
                [&](const db::Row& r) {
                    found = true;
                    environment = std::string(r.Text(0));
                    opened_at = r.Int(1);
                });
        if (!found) return Error::NotFound("There is no incident " + std::to_string(incident_id) + ".");
        if (automatic) {
            c.Execute("UPDATE delivery_incidents SET link = 'auto' WHERE id = ?", {incident_id});
            RelinkIncidents(c, environment, opened_at, now);
            return Ok{};
        }
        if (deployment_id &&
            c.QueryInt("SELECT COUNT(*) FROM delivery_deployments WHERE id = ?", {*deployment_id}) == 0) {
            return Error::Validation({{"deployment_id", "names no recorded deployment"}});
        }
        c.Execute("UPDATE delivery_incidents SET deployment_id = ?, link = 'manual', updated_at = ? WHERE id = ?",
                  {Optional(deployment_id), now, incident_id});
        return Ok{};
    });
    if (!linked.ok()) return linked.error();
    std::optional<Incident> incident = IncidentById(incident_id);
    if (!incident) return Error::NotFound("There is no incident " + std::to_string(incident_id) + ".");
    return std::move(*incident);
}

}  // namespace emporium::delivery
