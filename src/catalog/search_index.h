// Catalog searches answered from memory, on SQLite: a copy of the full-text index's own tokens and
// of the columns a search filters and sorts on, that picks a page's products in microseconds where
// the full-text query takes a millisecond or more.
//
// The copy answers exactly as the SQL of list_sql.h does: the same matches (FTS5's tokens, read
// back from the index, not tokenized again), the same bm25 scores to the last bit (FTS5's formula
// in its order of operations), the same order and the same totals. search_index_test.cpp compares
// the two over thousands of searches.
//
// It is never stale: every change a search could see (a product added, removed, renamed, repriced,
// archived, moved; a category changed) sets a new random search version in the same transaction,
// by trigger (catalog migration 4). A search reads that version inside its own read transaction
// and uses the copy only when it was built at that very version; otherwise it runs its SQL, and
// the copy is rebuilt in the background. Stock and photos are not part of the copy: the page's
// rows are read from the database.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "catalog/catalog.h"
#include "catalog/list_sql.h"
#include "db/database.h"

namespace emporium::catalog {

// The catalog's search version as c's transaction sees it (catalog migration 4).
std::int64_t ReadSearchVersion(db::Connection& c);

// Which products a search shows, and the total List reports for it.
struct SearchHits {
    std::vector<std::int64_t> ids;  // the page's products, in order
    std::int64_t total = 0;         // capped at kSearchCountLimit, as the SQL count is
    bool total_exact = true;
};

class SearchIndex {
public:
    // Reads the index, the products and the categories in c's transaction (a read of the whole
    // catalog: about a second for 100,000 products). Throws db::DbError on a database error.
    static std::unique_ptr<const SearchIndex> Build(db::Connection& c);

    ~SearchIndex();
    SearchIndex(const SearchIndex&) = delete;
    SearchIndex& operator=(const SearchIndex&) = delete;

    // The search version the copy was read at.
    std::int64_t version() const;
    std::size_t products() const;
    std::size_t terms() const;

    // The page List gives for query, a search (with text in q) or a list (without: filters and
    // order only, counted exactly). nullopt when the copy cannot answer it the way SQL would, and
    // the caller must run the SQL: a word beyond ASCII (FTS5 folds it with Unicode tables this copy
    // does not have), or an index this copy could not read faithfully (see Build); and when it
    // would walk more than max_postings entries (a search: one per word and product in the index;
    // a list: every product), for callers that must stay quick.
    std::optional<SearchHits> Search(const ProductQuery& query,
                                     std::size_t max_postings = static_cast<std::size_t>(-1)) const;

    // Every product the text matches, archived ones too, in id order, with its bm25 score as
    // SQLite's bm25(products_fts, 10.0, 1.0, 4.0) gives it; nullopt as for Search. For tests and
    // diagnostics.
    std::optional<std::vector<std::pair<std::int64_t, double>>> Scores(std::string_view q) const;

private:
    struct Data;
    explicit SearchIndex(std::unique_ptr<Data> data);
    // Calls count(n) with the number of products every word matches, then fn(position, score) for
    // each, in id order; the score is bm25's when scored.
    template <typename Count, typename Fn>
    void ForEachMatch(const std::vector<SearchWord>& words, bool scored, Count&& count, Fn&& fn) const;
    std::unique_ptr<Data> data_;
};

// Keeps a SearchIndex current in the background: one thread that builds a new copy when a search
// finds the copy older than the catalog, at most one build at a time, and never more often than
// every two build times (a catalog edited without pause costs at most a third of one core).
class SearchIndexKeeper {
public:
    // Starts the first build at once.
    explicit SearchIndexKeeper(db::Database& database);
    // Stops the thread; waits for a build under way.
    ~SearchIndexKeeper();
    SearchIndexKeeper(const SearchIndexKeeper&) = delete;
    SearchIndexKeeper& operator=(const SearchIndexKeeper&) = delete;

    // The copy when it was built at version (read in the caller's transaction), else nullptr and a
    // new build is asked for. With notices_before, the count of change notices taken before that
    // transaction began: when no notice came since, the copy is trusted (see Trusted).
    std::shared_ptr<const SearchIndex> At(std::int64_t version, std::uint64_t notices_before);

    // The copy, without reading the database, when a search confirmed its version within max_age
    // and no change notice came since (the promise the catalog's answer cache keeps, bounded in
    // time for changes no notice tells of: another process writing the file); else nullptr.
    std::shared_ptr<const SearchIndex> Trusted(std::chrono::steady_clock::duration max_age) const;

    // A change may have been committed (CatalogService's change notices): the copy is no longer
    // trusted until a search confirms its version again.
    void Suspect();
    std::uint64_t notices() const;

    // How many builds have finished (for tests and logs).
    std::int64_t builds() const;

private:
    void Run(const std::stop_token& stop);

    db::Database& database_;
    mutable std::mutex mutex_;
    std::condition_variable_any wake_;                    // guarded by mutex_
    std::shared_ptr<const SearchIndex> current_;          // guarded by mutex_; shared with searches under way
    bool wanted_ = true;                                  // guarded by mutex_
    bool trusted_ = false;                                // guarded by mutex_
    std::chrono::steady_clock::time_point confirmed_at_;  // guarded by mutex_: when trusted_ was last set
    std::uint64_t notices_ = 0;                           // guarded by mutex_
    std::int64_t builds_ = 0;                             // guarded by mutex_
    std::jthread thread_;                                 // last: started once the rest stands
};

}  // namespace emporium::catalog
