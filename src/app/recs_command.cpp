// `emporium recs export | train | rollback`, and the recommendations' part of serve.
#include <boost/json.hpp>
#include <cstdio>
#include <filesystem>

#include "app/commands.h"
#include "app/wiring.h"
#include "core/text.h"
#include "recommend/recommend.h"
#include "recommend/recommend_routes.h"

namespace emporium::app {
namespace {

void PrintError(const char* command, const Error& error) {
    std::fprintf(stderr, "emporium recs %s: %s\n", command, error.message.c_str());
    for (const FieldError& f : error.fields) std::fprintf(stderr, "  %s %s\n", f.field.c_str(), f.message.c_str());
}

}  // namespace

std::string RecsDir(const std::string& data_dir) {
    return (std::filesystem::path(data_dir) / "recs").string();
}

int RecsExport(const std::string& data_dir, const std::string& out) {
    std::unique_ptr<db::Database> database = OpenDatabase(data_dir, 1, nullptr);
    recommend::TrainingData data = recommend::ReadTrainingData(*database);
    recommend::WriteCsv(data, out);
    std::printf("%s\n",
                boost::json::serialize(boost::json::object{{"dir", out},
                                                           {"items", data.items.size()},
                                                           {"order_lines", data.purchases.size()},
                                                           {"files", boost::json::array{"items.csv", "baskets.csv"}}})
                    .c_str());
    return 0;
}

int RecsTrain(const std::string& data_dir, const std::string& from) {
    std::unique_ptr<db::Database> database = OpenDatabase(data_dir, 1, nullptr);
    SystemClock clock;
    recommend::ModelStore store(*database, RecsDir(data_dir), clock);
    Result<recommend::Manifest> saved =
        recommend::TrainAndSave(*database, store, recommend::TrainOptions{}, clock,
                                from.empty() ? std::nullopt : std::optional<std::string>(from));
    if (!saved.ok()) {
        PrintError("train", saved.error());
        return saved.error().kind == ErrorKind::kValidation ? 2 : 1;
    }
    std::printf("%s\n", recommend::ManifestJson(saved.value()).c_str());
    return 0;
}

int RecsRollback(const std::string& data_dir) {
    std::unique_ptr<db::Database> database = OpenDatabase(data_dir, 1, nullptr);
    SystemClock clock;
    recommend::ModelStore store(*database, RecsDir(data_dir), clock);
    Result<std::int64_t> back = store.Rollback();
    if (!back.ok()) {
        PrintError("rollback", back.error());
        return 3;
    }
    // A running shop swaps within its poll interval; it validates the version first.
    std::printf("{\"wanted_version\":%lld}\n", static_cast<long long>(back.value()));
    return 0;
}

RecsServing::RecsServing(db::Database& database, const std::string& data_dir, const Clock& clock, const Logger& logger,
                         std::chrono::seconds interval, std::chrono::seconds poll, std::string interval_text)
    : database_(database),
      store_(database, RecsDir(data_dir), clock),
      recommender_(database, store_, logger),
      schedule_(database, store_, recommender_, clock, logger, interval, poll),
      interval_text_(std::move(interval_text)) {}

std::unique_ptr<RecsServing> RecsServing::Open(db::Database& database, const std::string& data_dir,
                                               const RecsSettings& settings, const Clock& clock, const Logger& logger) {
    std::optional<std::chrono::seconds> interval =
        settings.retrain_interval == "0" ? std::chrono::seconds(0) : ParseDuration(settings.retrain_interval);
    std::optional<std::chrono::seconds> poll = ParseDuration(settings.poll);
    if (!interval) {
        LogError(
            logger,
            LogFields("bad setting").Add("setting", "recs-retrain-interval").Add("value", settings.retrain_interval));
        return nullptr;
    }
    if (!poll || *poll < std::chrono::seconds(1)) {
        LogError(logger, LogFields("bad setting").Add("setting", "recs-poll").Add("value", settings.poll));
        return nullptr;
    }
    std::unique_ptr<RecsServing> recs(new RecsServing(database, data_dir, clock, logger, *interval, *poll,
                                                      interval->count() > 0 ? settings.retrain_interval : "off"));
    recs->recommender_.Refresh();
    return recs;
}

void RecsServing::AddRoutes(http::Router& router, ReadCache& cache, const http::Authenticator& authenticate) {
    recommend::AddRoutes(router, recommender_, cache, database_, authenticate);
    recommend::AddAdminRoutes(router, recommender_, store_, schedule_, authenticate, interval_text_);
}

}  // namespace emporium::app
