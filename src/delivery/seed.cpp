#include "delivery/seed.h"

#include <algorithm>
#include <array>
#include <random>
#include <stdexcept>
#include <string_view>

namespace emporium::delivery {
namespace {

struct StageShape {
    const char* name;
    double base_seconds;    // typical duration at the start of the history
    double drift;           // growth over the whole history (0.3: 30 % slower by the end)
    double failure_chance;  // a real failure, besides flaky tests
};

constexpr std::array<StageShape, 6> kStages = {{{"dependencies", 20, 0, 0.01},
                                                {"build", 210, -0.15, 0.02},
                                                {"unit tests", 75, 0.1, 0.0},
                                                {"API tests", 280, 0.35, 0.0},
                                                {"browser test", 170, 0.05, 0.0},
                                                {"sanitizers", 620, 0.1, 0.01}}};

struct SuiteShape {
    const char* stage;  // the stage that runs it
    const char* suite;
    int tests;
};

constexpr std::array<SuiteShape, 3> kSuites = {
    {{"unit tests", "unit", 40}, {"API tests", "api", 24}, {"browser test", "e2e", 10}}};

// Tests that sometimes fail for no reason of their own (suite, index, chance).
struct FlakyShape {
    const char* suite;
    int index;
    double chance;
};
constexpr std::array<FlakyShape, 3> kFlaky = {{{"api", 7, 0.10}, {"e2e", 3, 0.12}, {"unit", 21, 0.04}}};

constexpr std::array<std::string_view, 6> kUnitNames = {"CatalogTest", "OrdersTest", "AccountsTest",
                                                        "NotifyTest",  "RouterTest", "AlertsTest"};
constexpr std::array<std::string_view, 6> kApiNames = {"test_catalog", "test_orders", "test_accounts",
                                                       "test_notify",  "test_ops",    "test_lifecycle"};
constexpr std::array<std::string_view, 5> kE2eNames = {"storefront", "orders", "accounts", "operations",
                                                       "notifications"};

std::string TestName(const SuiteShape& s, int i) {
    const std::string suite = s.suite;
    if (suite == "unit") return std::string(kUnitNames[static_cast<std::size_t>(i) % 6]) + ".Case" + std::to_string(i);
    if (suite == "api")
        return std::string(kApiNames[static_cast<std::size_t>(i) % 6]) + ".test_case_" + std::to_string(i);
    return std::string(kE2eNames[static_cast<std::size_t>(i) % 5]) + " page works, part " + std::to_string(i);
}

class History {
public:
    explicit History(const SeedHistoryOptions& o) : o_(o), random_(o.seed ^ 0xde11'7e47ULL) {}

    SeededHistory Build(DeliveryService& service) {
        service_ = &service;
        const std::int64_t start_day = (o_.now / 86400 - o_.days + 1) * 86400;
        std::vector<CommitRef> undeployed;
        for (int day = 0; day < o_.days; ++day) {
            const std::int64_t day_start = start_day + std::int64_t{day} * 86400;
            const bool weekend = ((day_start / 86400) + 4) % 7 >= 5;  // 1970-01-01 was a Thursday
            const int runs = weekend ? Uniform(0, 1) : Uniform(2, 5);
            const double progress = static_cast<double>(day) / std::max(1, o_.days - 1);
            for (int r = 0; r < runs; ++r) {
                const std::int64_t at = day_start + std::int64_t{8} * 3600 + Uniform(0, 9 * 3600);
                if (at > o_.now - 3600) continue;
                const std::string sha = Sha();
                undeployed.push_back({sha, at - Uniform(600, 2 * 86400)});
                const bool failed = Run(sha, at, progress);
                if (failed) Run(sha, at + 1800, progress);  // retried on the same commit
            }
            const std::int64_t deploy_at = day_start + std::int64_t{16} * 3600 + Uniform(0, 3600);
            if (!weekend && !undeployed.empty() && deploy_at < o_.now) Deploy(deploy_at, undeployed);
        }
        Flush();
        return counts_;
    }

private:
    int Uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(random_); }
    bool Chance(double p) { return std::uniform_real_distribution<double>(0, 1)(random_) < p; }

    std::string Sha() {
        static constexpr char kHex[] = "0123456789abcdef";
        std::string sha(40, '0');
        for (char& ch : sha) ch = kHex[Uniform(0, 15)];
        return sha;
    }

    // One CI run of a commit; true when it failed.
    bool Run(const std::string& sha, std::int64_t at, double progress) {
        const std::string run_id = "seed-run-" + std::to_string(++counts_.runs);
        bool failed = false;
        std::int64_t t = at;
        for (const StageShape& s : kStages) {
            const double typical = s.base_seconds * (1 + s.drift * progress);
            std::lognormal_distribution<double> spread(0, 0.18);
            const auto ms = static_cast<std::int64_t>(typical * spread(random_) * 1000);
            bool stage_failed = Chance(s.failure_chance);
            for (const SuiteShape& suite : kSuites) {
                if (std::string(suite.stage) == s.name) stage_failed |= Tests(run_id, sha, t, suite);
            }
            failed |= stage_failed;
            StageEvent e;
            e.id = run_id + "/" + s.name;
            e.run_id = run_id;
            e.commit = sha;
            e.name = s.name;
            e.started_at = t;
            e.duration_ms = ms;
            e.result = stage_failed ? "failed" : "success";
            e.exit_code = stage_failed ? 1 : 0;
            Add(std::move(e));
            t += ms / 1000 + 1;
        }
        return failed;
    }

    // One suite's results; true when a test failed.
    bool Tests(const std::string& run_id, const std::string& sha, std::int64_t at, const SuiteShape& suite) {
        TestsEvent e;
        e.id = run_id + "/tests/" + suite.suite;
        e.run_id = run_id;
        e.commit = sha;
        e.recorded_at = at;
        bool failed = false;
        for (int i = 0; i < suite.tests; ++i) {
            bool fails = false;
            for (const FlakyShape& f : kFlaky) {
                if (std::string(f.suite) == suite.suite && f.index == i) fails = Chance(f.chance);
            }
            failed |= fails;
            e.cases.push_back({suite.suite, TestName(suite, i), fails ? "failed" : "passed", Uniform(2, 4000)});
        }
        Add(std::move(e));
        return failed;
    }

    void Deploy(std::int64_t at, std::vector<CommitRef>& commits) {
        DeploymentEvent e;
        e.id = "seed-deploy-" + std::to_string(++counts_.deployments);
        e.deployed_at = at;
        e.commits = std::move(commits);
        commits.clear();
        const bool broke = Chance(0.12);
        const bool failed_itself = broke && Chance(0.3);  // rolled back at once: no incident
        if (failed_itself) e.result = "failed";
        Add(std::move(e));
        if (!broke || failed_itself) return;
        IncidentEvent i;
        i.id = "seed-incident-" + std::to_string(++counts_.incidents);
        static constexpr std::array<std::string_view, 5> kTitles = {
            "Checkout errors after release", "Product pages slow", "Texts not sent to customers",
            "Search returns nothing for some queries", "Admin page fails to load"};
        i.title = std::string(kTitles[static_cast<std::size_t>(counts_.incidents) % kTitles.size()]);
        i.opened_at = at + Uniform(600, 6 * 3600);
        const std::int64_t resolved = i.opened_at + Uniform(900, 5 * 3600);
        if (resolved < o_.now) i.resolved_at = resolved;
        if (i.opened_at < o_.now) Add(std::move(i));
    }

    void Add(Event e) {
        pending_.push_back(std::move(e));
        if (pending_.size() >= 200) Flush();
    }

    void Flush() {
        if (pending_.empty()) return;
        Result<std::vector<Recorded>> done = service_->Record(pending_);
        if (!done.ok()) throw std::runtime_error("seeding the delivery history failed: " + done.error().message);
        pending_.clear();
    }

    SeedHistoryOptions o_;
    std::mt19937_64 random_;
    DeliveryService* service_ = nullptr;
    std::vector<Event> pending_;
    SeededHistory counts_;
};

}  // namespace

SeededHistory SeedHistory(DeliveryService& service, const SeedHistoryOptions& options) {
    return History(options).Build(service);
}

}  // namespace emporium::delivery
