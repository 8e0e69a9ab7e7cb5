// Model versions: the artifact files, their manifests and states in the database, counters.
#include <boost/json.hpp>
#include <filesystem>
#include <fstream>

#include "core/clock.h"
#include "recommend/model.h"

namespace emporium::recommend {
namespace {

namespace json = boost::json;
namespace fs = std::filesystem;

constexpr const char* kModelFile = "model.bin";
constexpr const char* kIndexFile = "index.hnsw";
constexpr const char* kManifestFile = "manifest.json";

// Versions a server may serve, newest first wins.
constexpr const char* kServable = "('ready', 'live', 'retired')";

json::object ScoresJson(const Scores& s) {
    return {{"recall_at_10", s.recall_at_10},
            {"ndcg_at_10", s.ndcg_at_10},
            {"hit_rate_at_10", s.hit_rate_at_10},
            {"customers", s.customers}};
}

json::object MethodJson(const MethodScores& m) {
    json::object o = ScoresJson(m.all);
    o["repeat"] = ScoresJson(m.repeat);
    o["new"] = ScoresJson(m.fresh);
    return o;
}

double Number(const json::value* v) {
    if (v == nullptr) return 0;
    if (v->is_double()) return v->as_double();
    if (v->is_int64()) return static_cast<double>(v->as_int64());
    if (v->is_uint64()) return static_cast<double>(v->as_uint64());
    return 0;
}

std::int64_t Integer(const json::value* v) {
    return v != nullptr && v->is_int64() ? v->as_int64() : static_cast<std::int64_t>(Number(v));
}

const json::object& Object(const json::object& o, const char* key) {
    static const json::object kEmpty;
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_object() ? v->as_object() : kEmpty;
}

Scores ScoresFrom(const json::object& o) {
    return {Number(o.if_contains("recall_at_10")), Number(o.if_contains("ndcg_at_10")),
            Number(o.if_contains("hit_rate_at_10")), Integer(o.if_contains("customers"))};
}

MethodScores MethodFrom(const json::object& o) {
    return {ScoresFrom(o), ScoresFrom(Object(o, "repeat")), ScoresFrom(Object(o, "new"))};
}

std::string Text(const json::object& o, const char* key) {
    const json::value* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : "";
}

VersionState StateFrom(std::string_view name) {
    for (auto s : {VersionState::kWriting, VersionState::kReady, VersionState::kLive, VersionState::kRetired,
                   VersionState::kRejected, VersionState::kRolledBack, VersionState::kPruned}) {
        if (StateName(s) == name) return s;
    }
    return VersionState::kRejected;
}

}  // namespace

std::string_view ScopeName(CoPurchaseScope scope) {
    return scope == CoPurchaseScope::kCustomer ? "customer" : "order";
}

std::string_view StateName(VersionState state) {
    switch (state) {
        case VersionState::kWriting:
            return "writing";
        case VersionState::kReady:
            return "ready";
        case VersionState::kLive:
            return "live";
        case VersionState::kRetired:
            return "retired";
        case VersionState::kRejected:
            return "rejected";
        case VersionState::kRolledBack:
            return "rolled_back";
        case VersionState::kPruned:
            return "pruned";
    }
    return "rejected";
}

std::string ManifestJson(const Manifest& m) {
    const Evaluation& e = m.evaluation;
    const double ratio =
        e.popularity.all.recall_at_10 > 0 ? e.blend.all.recall_at_10 / e.popularity.all.recall_at_10 : 0;
    json::object evaluation{
        {"held_out", "each customer's last basket"},
        {"validation_customers", e.validation_customers},
        {"test_customers", e.test_customers},
        {"blend", MethodJson(e.blend)},
        {"popularity", MethodJson(e.popularity)},
        {"buy_again", MethodJson(e.buy_again)},
        {"blend_vs_popularity",
         json::object{{"recall_ratio", ratio},
                      {"at_least_3x", e.popularity.all.recall_at_10 > 0 && ratio >= 3.0},
                      {"better_on_new_items", e.blend.fresh.recall_at_10 > e.popularity.fresh.recall_at_10}}}};
    const TrainOptions& o = m.options;
    json::object out{
        {"version", m.version},
        {"created_at", FormatRfc3339(m.created_at)},
        {"source", m.source},
        {"data_window", json::object{{"from", m.data_from ? json::value(FormatRfc3339(m.data_from)) : json::value()},
                                     {"to", m.data_to ? json::value(FormatRfc3339(m.data_to)) : json::value()},
                                     {"orders", m.orders},
                                     {"order_lines", m.order_lines},
                                     {"customers", m.customers}}},
        {"items", m.items},
        {"items_with_co_purchase", m.items_with_co_purchase},
        {"dims", m.dims},
        {"parameters", json::object{{"M", o.m},
                                    {"ef_construction", o.ef_construction},
                                    {"ef", m.ef},
                                    {"ef_start", o.ef},
                                    {"min_ann_recall", o.min_ann_recall},
                                    {"recall_queries", o.recall_queries},
                                    {"co_purchase_top", o.co_purchase_top},
                                    {"co_purchase_basket", ScopeName(m.co_purchase_scope)},
                                    {"shrinkage", o.shrinkage},
                                    {"seed", o.seed},
                                    {"validation_share", o.validation_share}}},
        {"weights", json::object{{"buy_again", m.weights.buy_again},
                                 {"co_purchase", m.weights.co_purchase},
                                 {"content", m.weights.content},
                                 {"popularity", m.weights.popularity},
                                 {"max_repeat", m.weights.max_repeat}}},
        {"evaluation", std::move(evaluation)},
        {"ann_recall_at_10", m.ann_recall_at_10},
        {"training_seconds", m.training_seconds},
        {"memory_bytes", m.memory_bytes},
        {"size_bytes", m.size_bytes},
        {"checksum", m.checksum}};
    return json::serialize(out);
}

Result<Manifest> ParseManifest(const std::string& text) {
    json::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return Error::Validation({{"manifest", "is not a JSON object"}});
    const json::object& o = v.as_object();
    Manifest m;
    m.version = Integer(o.if_contains("version"));
    m.created_at = ParseTime(Text(o, "created_at")).value_or(0);
    m.source = Text(o, "source");
    const json::object& window = Object(o, "data_window");
    m.data_from = ParseTime(Text(window, "from")).value_or(0);
    m.data_to = ParseTime(Text(window, "to")).value_or(0);
    m.orders = Integer(window.if_contains("orders"));
    m.order_lines = Integer(window.if_contains("order_lines"));
    m.customers = Integer(window.if_contains("customers"));
    m.items = Integer(o.if_contains("items"));
    m.items_with_co_purchase = Integer(o.if_contains("items_with_co_purchase"));
    m.dims = Integer(o.if_contains("dims"));
    const json::object& p = Object(o, "parameters");
    m.options.m = static_cast<int>(Integer(p.if_contains("M")));
    m.options.ef_construction = static_cast<int>(Integer(p.if_contains("ef_construction")));
    m.ef = static_cast<int>(Integer(p.if_contains("ef")));
    m.options.ef = static_cast<int>(Integer(p.if_contains("ef_start")));
    m.options.min_ann_recall = Number(p.if_contains("min_ann_recall"));
    m.options.recall_queries = static_cast<int>(Integer(p.if_contains("recall_queries")));
    m.options.co_purchase_top = static_cast<int>(Integer(p.if_contains("co_purchase_top")));
    m.options.shrinkage = Number(p.if_contains("shrinkage"));
    m.co_purchase_scope =
        Text(p, "co_purchase_basket") == "customer" ? CoPurchaseScope::kCustomer : CoPurchaseScope::kOrder;
    m.options.seed = static_cast<std::uint64_t>(Integer(p.if_contains("seed")));
    m.options.validation_share = Number(p.if_contains("validation_share"));
    const json::object& w = Object(o, "weights");
    m.weights = {Number(w.if_contains("buy_again")), Number(w.if_contains("co_purchase")),
                 Number(w.if_contains("content")), Number(w.if_contains("popularity")),
                 static_cast<int>(Integer(w.if_contains("max_repeat")))};
    const json::object& e = Object(o, "evaluation");
    m.evaluation.blend = MethodFrom(Object(e, "blend"));
    m.evaluation.popularity = MethodFrom(Object(e, "popularity"));
    m.evaluation.buy_again = MethodFrom(Object(e, "buy_again"));
    m.evaluation.validation_customers = Integer(e.if_contains("validation_customers"));
    m.evaluation.test_customers = Integer(e.if_contains("test_customers"));
    m.ann_recall_at_10 = Number(o.if_contains("ann_recall_at_10"));
    m.training_seconds = Number(o.if_contains("training_seconds"));
    m.memory_bytes = Integer(o.if_contains("memory_bytes"));
    m.size_bytes = Integer(o.if_contains("size_bytes"));
    m.checksum = Text(o, "checksum");
    if (m.version <= 0 || m.checksum.empty()) return Error::Validation({{"manifest", "has no version or checksum"}});
    return m;
}

std::vector<db::Migration> Migrations(db::Dialect dialect) {
    return {{"recommend", 1,
             "CREATE TABLE recs_models (" + db::IdColumn(dialect) +
                 ", state TEXT NOT NULL, note TEXT NOT NULL DEFAULT '', manifest TEXT NOT NULL DEFAULT '',"
                 " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL);"
                 "CREATE TABLE recs_counters (version BIGINT PRIMARY KEY, impressions BIGINT NOT NULL DEFAULT 0,"
                 " clicks BIGINT NOT NULL DEFAULT 0, add_to_carts BIGINT NOT NULL DEFAULT 0);"}};
}

ModelStore::ModelStore(db::Database& database, std::string dir, const Clock& clock)
    : database_(database), dir_(std::move(dir)), clock_(clock) {}

Result<Manifest> ModelStore::Save(const Model& model, Manifest manifest, int keep) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    const std::int64_t version = database_.Write([&](db::Connection& c) {
        return c.QueryInt(
            "INSERT INTO recs_models (state, created_at, updated_at) VALUES ('writing', ?, ?) RETURNING id",
            {now, now});
    });
    const fs::path final_dir = fs::path(dir_) / ("v" + std::to_string(version));
    const fs::path temp_dir = fs::path(dir_) / ("v" + std::to_string(version) + ".tmp");
    try {
        fs::remove_all(temp_dir);
        fs::create_directories(temp_dir);
        WriteModelFile(model, (temp_dir / kModelFile).string());
        model.SaveIndex((temp_dir / kIndexFile).string());
        manifest.version = version;
        manifest.checksum = ChecksumFiles({(temp_dir / kModelFile).string(), (temp_dir / kIndexFile).string()});
        manifest.size_bytes =
            static_cast<std::int64_t>(fs::file_size(temp_dir / kModelFile) + fs::file_size(temp_dir / kIndexFile));
        const std::string text = ManifestJson(manifest);
        std::ofstream(temp_dir / kManifestFile, std::ios::trunc) << text << "\n";
        fs::remove_all(final_dir);
        fs::rename(temp_dir, final_dir);  // the version appears whole or not at all
        database_.Write([&](db::Connection& c) {
            c.Execute("UPDATE recs_models SET state = 'ready', manifest = ?, updated_at = ? WHERE id = ?",
                      {text, now, version});
        });
    } catch (const std::exception& e) {
        fs::remove_all(temp_dir);
        MarkRejected(version, "could not be written");
        return Error{ErrorKind::kInternal, "model_not_saved", "The model files could not be written."};
    }
    // Older versions' files go, except the live one's (a server may still need to reload it).
    std::vector<std::int64_t> pruned;
    database_.Read([&](db::Connection& c) {
        std::int64_t kept = 0;
        c.Query("SELECT id, state FROM recs_models WHERE state NOT IN ('writing', 'pruned') ORDER BY id DESC", {},
                [&](const db::Row& r) {
                    if (++kept > keep && r.Text(1) != "live") pruned.push_back(r.Int(0));
                });
    });
    for (std::int64_t old : pruned) {
        std::error_code ec;
        fs::remove_all(fs::path(dir_) / ("v" + std::to_string(old)), ec);
        database_.Write([&](db::Connection& c) {
            c.Execute("UPDATE recs_models SET state = 'pruned', updated_at = ? WHERE id = ?", {now, old});
        });
    }
    return manifest;
}

std::optional<std::int64_t> ModelStore::Wanted() {
    std::int64_t v = database_.Read([](db::Connection& c) {
        return c.QueryInt(std::string("SELECT MAX(id) FROM recs_models WHERE state IN ") + kServable, {}, 0);
    });
    if (v <= 0) return std::nullopt;
    return v;
}

Result<Trained> ModelStore::Load(std::int64_t version) {
    std::string text;
    database_.Read([&](db::Connection& c) {
        c.Query("SELECT manifest FROM recs_models WHERE id = ?", {version},
                [&](const db::Row& r) { text = r.Text(0); });
    });
    Result<Manifest> manifest = ParseManifest(text);
    if (!manifest.ok()) return manifest.error();
    const fs::path dir = fs::path(dir_) / ("v" + std::to_string(version));
    const std::string model_path = (dir / kModelFile).string(), index_path = (dir / kIndexFile).string();
    auto reject = [](const std::string& why) { return Error::Validation({{"model", why}}); };
    if (ChecksumFiles({model_path, index_path}) != manifest->checksum) {
        return reject("its files are missing or do not match the manifest's checksum");
    }
    auto model = std::make_unique<Model>();
    try {
        ReadModelFile(*model, model_path);
        model->LoadIndex(index_path);
    } catch (const std::exception& e) {
        return reject(std::string("its files cannot be read: ") + e.what());
    }
    if (static_cast<std::int64_t>(model->size()) != manifest->items ||
        static_cast<std::int64_t>(model->IndexedCount()) != manifest->items ||
        model->features.dims() != manifest->dims) {
        return reject("its counts do not match the manifest");
    }
    // A smoke test of the index: a small sample must find what exact search finds.
    const double recall = AnnRecall(*model, 50, manifest->options.seed + 1);
    if (recall < std::min(0.9, manifest->ann_recall_at_10 - 0.05)) {
        return reject("its index finds only " + std::to_string(recall) + " of the exact neighbours");
    }
    return Trained{std::shared_ptr<const Model>(std::move(model)), std::move(manifest.value())};
}

Result<std::int64_t> ModelStore::Rollback() {
    return database_.Write([&](db::Connection& c) -> Result<std::int64_t> {
        const std::string servable = std::string(" state IN ") + kServable;
        std::int64_t wanted = c.QueryInt("SELECT MAX(id) FROM recs_models WHERE" + servable, {}, 0);
        std::int64_t previous = c.QueryInt("SELECT MAX(id) FROM recs_models WHERE id < ? AND" + servable, {wanted}, 0);
        if (wanted <= 0 || previous <= 0) {
            return Error::Conflict("no_previous_version", "There is no earlier model version to go back to.");
        }
        c.Execute("UPDATE recs_models SET state = 'rolled_back', updated_at = ? WHERE id = ?",
                  {UnixSeconds(clock_.Now()), wanted});
        return previous;
    });
}

void ModelStore::MarkLive(std::int64_t version) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    database_.Write([&](db::Connection& c) {
        c.Execute("UPDATE recs_models SET state = 'retired', updated_at = ? WHERE state = 'live' AND id <> ?",
                  {now, version});
        c.Execute(
            "UPDATE recs_models SET state = 'live', updated_at = ? WHERE id = ? AND state IN ('ready', 'retired')",
            {now, version});
    });
}

void ModelStore::MarkRejected(std::int64_t version, const std::string& why) {
    database_.Write([&](db::Connection& c) {
        c.Execute("UPDATE recs_models SET state = 'rejected', note = ?, updated_at = ? WHERE id = ?",
                  {why, UnixSeconds(clock_.Now()), version});
    });
}

std::vector<VersionInfo> ModelStore::Versions() {
    std::vector<VersionInfo> out;
    database_.Read([&](db::Connection& c) {
        c.Query(
            "SELECT m.id, m.state, m.note, m.manifest, m.created_at, COALESCE(k.impressions, 0),"
            " COALESCE(k.clicks, 0), COALESCE(k.add_to_carts, 0)"
            " FROM recs_models m LEFT JOIN recs_counters k ON k.version = m.id ORDER BY m.id DESC",
            {}, [&](const db::Row& r) {
                VersionInfo v;
                v.version = r.Int(0);
                v.state = StateFrom(r.Text(1));
                v.note = r.Text(2);
                if (Result<Manifest> m = ParseManifest(std::string(r.Text(3))); m.ok()) v.manifest = m.value();
                v.created_at = r.Int(4);
                v.impressions = r.Int(5);
                v.clicks = r.Int(6);
                v.add_to_carts = r.Int(7);
                out.push_back(std::move(v));
            });
    });
    return out;
}

void ModelStore::AddCounts(std::int64_t version, std::int64_t impressions, std::int64_t clicks,
                           std::int64_t add_to_carts) {
    database_.Write([&](db::Connection& c) {
        c.Execute(
            "INSERT INTO recs_counters (version, impressions, clicks, add_to_carts) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (version) DO UPDATE SET impressions = recs_counters.impressions + excluded.impressions,"
            " clicks = recs_counters.clicks + excluded.clicks,"
            " add_to_carts = recs_counters.add_to_carts + excluded.add_to_carts",
            {version, impressions, clicks, add_to_carts});
    });
}

Result<Manifest> TrainAndSave(db::Database& database, ModelStore& store, const TrainOptions& options,
                              const Clock& clock, const std::optional<std::string>& csv_dir) {
    TrainingData data;
    if (csv_dir) {
        Result<TrainingData> read = ReadCsv(*csv_dir);
        if (!read.ok()) return read.error();
        data = std::move(read.value());
    } else {
        data = ReadTrainingData(database);
    }
    Result<Trained> trained = Train(data, options, clock);
    if (!trained.ok()) return trained.error();
    trained->manifest.source = csv_dir ? *csv_dir : "database";
    return store.Save(*trained->model, trained->manifest);
}

}  // namespace emporium::recommend
