// The delivery pipeline's record and its figures: CI runs and their stages, test results,
// deployments with the commits they ship, and incidents. Events come from the CI tool
// (`emporium ci-report`, through POST /api/admin/delivery/events) and from the shop's own alerts;
// each event carries an id chosen by its sender, and recording the same id again updates the
// record instead of adding a second one.
//
// The figures (DORA's four keys plus pipeline health) are computed over a period and always come
// with the counts behind them, so that a rate is never shown without its numerator and
// denominator:
// - deployment frequency: deployments to the environment in the period, per day and per week;
// - lead time for changes: for each commit whose first deployment falls in the period, the time
//   from the commit to that deployment (commits as listed by the deployment when it was recorded);
// - change failure rate: deployments that failed themselves or have at least one incident linked
//   to them, over all deployments (counted per deployment, not per incident);
// - time to restore: for incidents resolved in the period, resolved minus opened;
// - stage durations: p50 and p95 of each stage, with a daily p50 trend and the previous period's
//   p50; pipeline success rate: succeeded over finished runs;
// - flaky tests: tests that both passed and failed on the same commit within the 14 days that end
//   with the period.
// Percentiles are nearest-rank: the p-th of n sorted values is the ceil(p/100*n)-th.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "db/database.h"
#include "db/migrations.h"

namespace emporium::delivery {

std::vector<db::Migration> Migrations(db::Dialect dialect);

inline constexpr std::string_view kDefaultEnvironment = "production";
inline constexpr std::int64_t kFlakyWindowSeconds = std::int64_t{14} * 86400;

// ---- Events, as validated by the routes (or built by the seed) ----

struct RunEvent {
    std::string id;  // the sender's id, e.g. "ci-20261130T101500Z-4711"
    std::string pipeline = "ci";
    std::string commit;
    std::string branch;
    std::int64_t started_at = 0;
    std::optional<std::int64_t> finished_at;
    std::optional<std::string> result;  // success, failed, cancelled, running; absent: from its stages
};

// A stage of a run. The run is made when it is not known yet (from run_id, pipeline and commit).
struct StageEvent {
    std::string id;
    std::string run_id;
    std::string pipeline = "ci";
    std::string commit;
    std::string name;
    std::int64_t started_at = 0;
    std::int64_t duration_ms = 0;
    std::string result;  // success or failed
    std::optional<std::int64_t> exit_code;
};

struct TestCase {
    std::string suite;
    std::string name;
    std::string result;  // passed, failed or skipped
    std::int64_t duration_ms = 0;
};

// One suite's results of one run; recording it again replaces its cases.
struct TestsEvent {
    std::string id;
    std::string run_id;  // optional
    std::string commit;  // required unless run_id names a known run
    std::int64_t recorded_at = 0;
    std::vector<TestCase> cases;
};

struct CommitRef {
    std::string sha;
    std::int64_t committed_at = 0;
};

struct DeploymentEvent {
    std::string id;
    std::string environment = std::string(kDefaultEnvironment);
    std::int64_t deployed_at = 0;
    std::string result = "success";  // success, or failed: the change failed in production
    std::string run_id;              // optional: the run that deployed it
    std::vector<CommitRef> commits;  // what it ships; recording it again replaces the list
};

// An incident from outside (a pager, a person). deployment_id, when given, is the deployment's
// own id as its sender chose it, and fixes the link; without it the incident is linked to the
// last deployment before it opened.
struct IncidentEvent {
    std::string id;
    std::string title;
    std::string environment = std::string(kDefaultEnvironment);
    std::int64_t opened_at = 0;
    std::optional<std::int64_t> resolved_at;
    std::optional<std::string> deployment_id;
};

using Event = std::variant<RunEvent, StageEvent, TestsEvent, DeploymentEvent, IncidentEvent>;

struct Recorded {
    std::string type;  // run, stage, tests, deployment, incident
    std::string id;    // the sender's id
    bool created = false;
};

// An alert notice, as the app hands it over from ops::Alerter.
struct AlertSignal {
    std::string rule;
    std::string summary;
    bool resolved = false;
    std::int64_t since = 0;  // when the rule was first breached: the incident's start
    std::int64_t at = 0;     // when the notice was made
};

// ---- Read models ----

// [from, to) in Unix seconds.
struct Period {
    std::int64_t from = 0;
    std::int64_t to = 0;
    std::int64_t Days() const { return (to - from) / 86400; }
};

// A period from two dates (YYYY-MM-DD, UTC, both days included). Without them: the 30 days
// that end today. 422 for a malformed date, `to` before `from`, or more than 366 days.
Result<Period> ParsePeriod(std::optional<std::string_view> from, std::optional<std::string_view> to, std::int64_t now);

struct Deployment {
    std::int64_t id = 0;
    std::string external_id;
    std::string environment;
    std::int64_t deployed_at = 0;
    std::string result;
    std::int64_t commits = 0;
    std::int64_t incidents = 0;
    std::optional<std::int64_t> lead_time_p50;  // seconds, over its commits
};

struct Incident {
    std::int64_t id = 0;
    std::string external_id;
    std::string title;
    std::string source;  // alert or api
    std::string environment;
    std::int64_t opened_at = 0;
    std::optional<std::int64_t> resolved_at;
    std::optional<std::int64_t> deployment_id;
    std::string deployment_external_id;
    std::string link;  // auto, manual or none
};

struct DayCount {
    std::int64_t day = 0;  // Unix seconds of the day's start
    std::int64_t count = 0;
};

struct DeploymentFrequency {
    std::int64_t deployments = 0;
    std::int64_t days = 0;
    double per_day = 0;
    double per_week = 0;
    std::vector<DayCount> daily;  // every day of the period
};

struct LeadTime {
    std::int64_t commits = 0;      // commits first deployed in the period
    std::int64_t deployments = 0;  // deployments that shipped them
    std::optional<std::int64_t> p50_seconds;
    std::optional<std::int64_t> p95_seconds;
};

struct ChangeFailure {
    std::int64_t deployments = 0;
    std::int64_t failed = 0;            // failed itself, or caused an incident (counted once)
    std::int64_t failed_by_result = 0;  // recorded as failed
    std::int64_t with_incidents = 0;    // with at least one linked incident
    std::optional<double> rate;         // failed / deployments
};

struct TimeToRestore {
    std::int64_t resolved = 0;  // incidents resolved in the period
    std::int64_t open = 0;      // opened before the period's end and not resolved by then
    std::optional<std::int64_t> p50_seconds;
    std::optional<std::int64_t> p95_seconds;
};

struct DayValue {
    std::int64_t day = 0;
    std::int64_t value = 0;
};

struct StageFigure {
    std::string name;
    std::int64_t runs = 0;  // times the stage ran in the period
    std::int64_t failed = 0;
    std::optional<std::int64_t> p50_ms;
    std::optional<std::int64_t> p95_ms;
    std::optional<std::int64_t> previous_p50_ms;  // the same length of time just before
    std::int64_t previous_runs = 0;
    std::vector<DayValue> trend;  // daily p50, days with runs only
};

struct SuccessRate {
    std::int64_t finished = 0;  // succeeded + failed + cancelled
    std::int64_t succeeded = 0;
    std::int64_t failed = 0;
    std::int64_t cancelled = 0;
    std::int64_t running = 0;
    std::optional<double> rate;
    std::vector<DayCount> daily_succeeded;
    std::vector<DayCount> daily_failed;
};

struct FlakyTest {
    std::string suite;
    std::string name;
    std::int64_t commits = 0;  // commits on which it both passed and failed
    std::int64_t passed = 0;   // results on those commits
    std::int64_t failed = 0;
    std::int64_t last_seen = 0;
};

struct Flakiness {
    std::int64_t window_from = 0;  // the 14 days ending with the period
    std::int64_t window_to = 0;
    std::int64_t tests_seen = 0;   // distinct tests with results in the window
    std::int64_t total = 0;        // flaky tests
    std::vector<FlakyTest> items;  // most flips first, at most 50
};

struct Summary {
    Period period;
    std::string environment;
    DeploymentFrequency frequency;
    LeadTime lead_time;
    ChangeFailure change_failure;
    TimeToRestore restore;
    SuccessRate success;
    std::vector<StageFigure> stages;  // most runs first, at most 50
    Flakiness flaky;
};

// The nearest-rank percentile (0 < p <= 100) of values; nullopt when there are none.
std::optional<std::int64_t> Percentile(std::vector<std::int64_t> values, double p);

// One CSV field (RFC 4180): quoted when it holds a comma, quote, CR or LF, quotes doubled. A
// value a spreadsheet would run as a formula (starting with =, +, -, @, tab or CR) gets a leading
// single quote first, so that opening the file never runs it.
std::string CsvField(std::string_view text);

class DeliveryService {
public:
    DeliveryService(db::Database& database, const Clock& clock) : database_(database), clock_(clock) {}

    // Records events in one transaction, all or none: each is made, or updated when its id was
    // recorded before. 422 (naming the event by its index) for a stage whose run is unknown and
    // has no commit, tests with neither, or an incident naming an unknown deployment.
    Result<std::vector<Recorded>> Record(const std::vector<Event>& events);

    // An alert that fires opens an incident ("alert:RULE:SINCE"); its resolution closes it.
    // Repeats change nothing. Never throws.
    void OnAlert(const AlertSignal& signal);

    // Links an incident to a deployment by hand (deployment_id), to none (nullopt), or back to
    // the automatic link (automatic). 404 for an unknown incident or deployment.
    Result<Incident> LinkIncident(std::int64_t incident_id, std::optional<std::int64_t> deployment_id, bool automatic);

    Summary Figures(const Period& period, std::string_view environment) const;
    std::vector<Deployment> Deployments(const Period& period, std::string_view environment) const;
    // Incidents open at any time in the period (every environment when environment is empty).
    std::vector<Incident> Incidents(const Period& period, std::string_view environment) const;
    std::optional<Incident> IncidentById(std::int64_t id) const;

    // The records behind the figures as CSV: kind is deployments, incidents, stages or flaky.
    // nullopt for another kind.
    std::optional<std::string> ExportCsv(std::string_view kind, const Period& period,
                                         std::string_view environment) const;

private:
    db::Database& database_;
    const Clock& clock_;
};

}  // namespace emporium::delivery
