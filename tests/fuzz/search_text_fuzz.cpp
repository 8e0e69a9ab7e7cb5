// Search text to the FTS5 query: any text gives at most eight distinct words, each of them one
// token of the index (never a phrase: "a—a—a" would be a phrase of three), and a query SQLite
// accepts, run against a real products_fts table holding a few products.
#include <stdlib.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "catalog/catalog.h"
#include "catalog/list_sql.h"
#include "core/clock.h"
#include "db/database.h"
#include "db/migrations.h"
#include "events/outbox.h"

namespace {

using namespace emporium;

void Check(bool condition) {
    if (!condition) __builtin_trap();
}

// One database for the whole run, removed at exit.
db::Database& Shop() {
    struct Holder {
        std::filesystem::path dir;
        std::unique_ptr<db::Database> database;
        Holder() {
            std::string pattern = (std::filesystem::temp_directory_path() / "emporium-fuzz-search-XXXXXX").string();
            Check(mkdtemp(pattern.data()) != nullptr);
            dir = pattern;
            database = db::OpenSqlite({(dir / "shop.db").string(), 1, 5000, false, nullptr});
            std::vector<db::Migration> all = catalog::Migrations(db::Dialect::kSqlite);
            for (auto& m : events::Migrations(db::Dialect::kSqlite)) all.push_back(m);
            db::ApplyMigrations(*database, all);
            SystemClock clock;
            catalog::CatalogService catalog(*database, clock);
            for (const char* name : {"The Legend of Zelda: Breath of the Wild", "Café Racer — Édition 2", "Halo 3"}) {
                catalog::ProductDraft d;
                d.sku = std::string("F-") + std::to_string(std::hash<std::string_view>{}(name) % 100000);
                d.name = name;
                d.category = "pc-games";
                d.price_cents = 1000;
                d.stock = 1;
                catalog.Create(d, 1);
            }
        }
        ~Holder() {
            database.reset();
            std::filesystem::remove_all(dir);
        }
    };
    static Holder holder;
    return *holder.database;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    const std::vector<catalog::SearchWord> words = catalog::SearchWords(text);
    Check(words.size() <= catalog::kMaxSearchWords);
    for (std::size_t i = 0; i < words.size(); ++i) {
        Check(!words[i].text.empty());
        Check(words[i].text.find('"') == std::string::npos);
        for (std::size_t j = 0; j < i; ++j) Check(words[j].text != words[i].text);
    }
    const std::string match = catalog::FtsQuery(text);
    Check(match.empty() == words.empty());
    Shop().Read([&](db::Connection& c) {
        // Per connection: a scratch index with the catalog's tokenizer, to count each word's tokens.
        c.ExecuteScript(std::string("CREATE VIRTUAL TABLE IF NOT EXISTS temp.probe USING fts5(x, tokenize='") +
                        catalog::kFtsTokenizer +
                        "'); CREATE VIRTUAL TABLE IF NOT EXISTS temp.probe_tokens USING fts5vocab(temp, probe, "
                        "instance)");
        for (const catalog::SearchWord& w : words) {
            c.Execute("INSERT INTO temp.probe (rowid, x) VALUES (1, ?)", {w.text});
            Check(c.QueryInt("SELECT COUNT(*) FROM temp.probe_tokens") <= 1);
            c.Execute("DELETE FROM temp.probe");
        }
        // Throws (and so fails the run) when SQLite does not accept the query.
        if (!match.empty()) c.QueryInt("SELECT COUNT(*) FROM products_fts WHERE products_fts MATCH ?", {match});
    });
    return 0;
}
