#include "catalog/search_index.h"

#include <malloc.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "catalog/list_sql.h"

namespace emporium::catalog {

namespace {

// bm25's column weights in list_sql.cpp's ORDER BY: name, description, tags.
constexpr std::uint32_t kColumnWeights[] = {10, 1, 4};

// The columns of products_fts, in the order of its definition (catalog migration 2).
int ColumnNumber(std::string_view name) {
    if (name == "name") return 0;
    if (name == "description") return 1;
    if (name == "tags") return 2;
    return -1;
}

// SQLite's variable-length integer, as FTS5 writes its sizes: big-endian groups of seven bits, the
// high bit set on every byte but the last, and a ninth byte of eight bits. False when cut short.
bool ReadVarint(std::string_view& bytes, std::uint64_t& value) {
    value = 0;
    for (int i = 0; i < 9; ++i) {
        if (bytes.empty()) return false;
        const auto byte = static_cast<unsigned char>(bytes.front());
        bytes.remove_prefix(1);
        if (i == 8) {
            value = (value << 8) | byte;
            return true;
        }
        value = (value << 7) | (byte & 0x7F);
        if ((byte & 0x80) == 0) return true;
    }
    return true;
}

// One cache line each: a search reads a matching product's length and filter columns together,
// and prefetches the product a few matches ahead; 56 bytes unaligned put the length on the
// line after the prefetched one for most products (a third of a new-words search's time).
struct alignas(64) Doc {
    std::int64_t id = 0;
    std::int64_t category_id = 0;
    std::int64_t price_cents = 0;
    std::int64_t seller_id = 0;
    std::int64_t popularity = 0;
    std::int64_t created_at = 0;
    std::uint32_t tokens = 0;  // in all columns: bm25's document length
    bool archived = false;
};

// A posting: product (by position in Data::docs) and its weighted hit count.
struct PhraseHit {
    std::uint32_t doc;
    std::uint32_t weight;
};

// One phrase's (word's) matches, in ascending product order: a term's own postings when the word
// matches one term, else its terms' postings merged, their weights summed.
struct Phrase {
    const std::uint32_t* docs = nullptr;
    const std::uint16_t* weights = nullptr;  // one term's; else merged_weights
    std::size_t size = 0;
    const std::uint64_t* bits = nullptr;  // one common term's products as a bit set (Data::BitsOf)
    std::vector<std::uint32_t> merged_docs;
    std::vector<std::uint32_t> merged_weights;

    std::uint32_t Weight(std::size_t i) const { return weights ? weights[i] : merged_weights[i]; }

    // Moves at forward to the first match at or after doc (galloping: a short list walks a long
    // one in a few steps per product); true when that match is doc.
    bool Seek(std::uint32_t doc, std::size_t& at) const {
        if (at < size && docs[at] < doc) {
            std::size_t low = at;  // docs[low] < doc
            std::size_t step = 1;
            while (low + step < size && docs[low + step] < doc) {
                low += step;
                step *= 2;
            }
            const std::size_t high = std::min(low + step, size);
            at = static_cast<std::size_t>(std::lower_bound(docs + low + 1, docs + high, doc) - docs);
        }
        return at < size && docs[at] == doc;
    }
};

}  // namespace

struct SearchIndex::Data {
    std::int64_t version = 0;
    bool faithful = true;   // false: something was not as expected; every search goes to SQL
    std::vector<Doc> docs;  // by id
    std::unordered_map<std::string, std::int64_t> categories;  // slug -> id
    std::vector<std::string> terms;                            // in FTS5's (byte) order
    std::vector<std::uint32_t> term_start;                     // term i's postings: [term_start[i], term_start[i + 1])
    std::vector<std::uint32_t> posting_doc;                    // ascending within a term
    std::vector<std::uint16_t> posting_weight;                 // 10 per hit in name, 1 in description, 4 in tags
    std::int64_t rows = 0;                                     // the index's row count (bm25's N)
    std::int64_t total_tokens = 0;                             // in all rows and columns
    // The products of every term found in at least one in kBitsEvery products, as bit sets of
    // words_per_set words each (they cost no more than the term's own postings): a search of
    // common words intersects them a word of 64 products at a time.
    static constexpr std::size_t kBitsEvery = 32;
    std::size_t words_per_set = 0;
    std::vector<std::int64_t> term_bits;  // per term: its set's first word in bits, or -1
    std::vector<std::uint64_t> bits;

    const std::uint64_t* BitsOf(std::size_t term) const {
        return term_bits[term] < 0 ? nullptr : bits.data() + term_bits[term];
    }

    std::optional<std::uint32_t> DocOf(std::int64_t id) const {
        auto it = std::lower_bound(docs.begin(), docs.end(), id, [](const Doc& d, std::int64_t v) { return d.id < v; });
        if (it == docs.end() || it->id != id) return std::nullopt;
        return static_cast<std::uint32_t>(it - docs.begin());
    }

    // The products a word matches (every term it is a prefix of, or only itself), by position,
    // with the weights of their hits summed; empty when none.
    // The terms a word matches (every term it is a prefix of, or only itself): [first, second).
    std::pair<std::size_t, std::size_t> TermsOf(const SearchWord& word) const {
        auto first = std::lower_bound(terms.begin(), terms.end(), word.text);
        auto last = first;
        if (word.prefix) {
            while (last != terms.end() && std::string_view{*last}.starts_with(word.text)) ++last;
        } else if (last != terms.end() && *last == word.text) {
            ++last;
        }
        return {static_cast<std::size_t>(first - terms.begin()), static_cast<std::size_t>(last - terms.begin())};
    }

    // How many postings a search for these words walks: its cost.
    std::size_t PostingsOf(const std::vector<SearchWord>& words) const {
        std::size_t postings = 0;
        for (const SearchWord& w : words) {
            const auto [begin, end] = TermsOf(w);
            postings += term_start[end] - term_start[begin];
        }
        return postings;
    }

    // The products a word matches, by position, with the weights of their hits summed.
    Phrase Matches(const SearchWord& word) const {
        Phrase phrase;
        const auto [begin, end] = TermsOf(word);
        if (begin == end) return phrase;
        const std::size_t first = term_start[begin];
        const std::size_t postings = term_start[end] - first;
        if (end - begin == 1) {  // one term: its own postings, as they are
            phrase.docs = posting_doc.data() + first;
            phrase.weights = posting_weight.data() + first;
            phrase.size = postings;
            phrase.bits = BitsOf(begin);
            return phrase;
        }
        // Many terms: their weights are summed per product, in a table over every product when
        // the postings are many, else by sorting them.
        std::vector<PhraseHit> hits;
        if (postings > docs.size() / 8) {
            std::vector<std::uint32_t> sums(docs.size(), 0);
            for (std::size_t p = first; p < first + postings; ++p) sums[posting_doc[p]] += posting_weight[p];
            for (std::uint32_t d = 0; d < sums.size(); ++d) {
                if (sums[d] > 0) hits.push_back({d, sums[d]});
            }
        } else {
            hits.reserve(postings);
            for (std::size_t p = first; p < first + postings; ++p) hits.push_back({posting_doc[p], posting_weight[p]});
            std::sort(hits.begin(), hits.end(), [](const PhraseHit& a, const PhraseHit& b) { return a.doc < b.doc; });
        }
        for (const PhraseHit& hit : hits) {
            if (!phrase.merged_docs.empty() && phrase.merged_docs.back() == hit.doc) {
                phrase.merged_weights.back() += hit.weight;
            } else {
                phrase.merged_docs.push_back(hit.doc);
                phrase.merged_weights.push_back(hit.weight);
            }
        }
        phrase.docs = phrase.merged_docs.data();
        phrase.size = phrase.merged_docs.size();
        return phrase;
    }
};

SearchIndex::SearchIndex(std::unique_ptr<Data> data) : data_(std::move(data)) {}
SearchIndex::~SearchIndex() = default;

std::int64_t SearchIndex::version() const {
    return data_->version;
}
std::size_t SearchIndex::products() const {
    return data_->docs.size();
}
std::size_t SearchIndex::terms() const {
    return data_->terms.size();
}

std::int64_t ReadSearchVersion(db::Connection& c) {
    return c.QueryInt("SELECT version FROM catalog_search_version WHERE id = 1");
}

std::unique_ptr<const SearchIndex> SearchIndex::Build(db::Connection& c) {
    auto data = std::make_unique<Data>();
    Data& d = *data;
    d.version = ReadSearchVersion(c);
    c.Query("SELECT id, slug FROM categories", {},
            [&](const db::Row& r) { d.categories.emplace(std::string(r.Text(1)), r.Int(0)); });
    // Every array is sized before it is filled: grown by doubling, they would leave the process
    // holding up to twice the copy's size.
    d.docs.reserve(static_cast<std::size_t>(c.QueryInt("SELECT COUNT(*) FROM products")));
    c.Query(
        "SELECT id, category_id, price_cents, seller_id, popularity, created_at, archived FROM products ORDER BY id",
        {}, [&](const db::Row& r) {
            d.docs.push_back({r.Int(0), r.Int(1), r.Int(2), r.Int(3), r.Int(4), r.Int(5), 0, r.Int(6) != 0});
        });
    // bm25's N and average length: the row count and the columns' token totals FTS5 keeps in its
    // "averages" record (FTS5_AVERAGES_ROWID), which is what its own bm25 reads.
    bool averages = false;
    c.Query("SELECT block FROM products_fts_data WHERE id = 1", {}, [&](const db::Row& r) {
        std::string_view bytes = r.Text(0);
        std::uint64_t value = 0;
        if (!ReadVarint(bytes, value)) return;
        d.rows = static_cast<std::int64_t>(value);
        for (int column = 0; column < 3; ++column) {
            if (!ReadVarint(bytes, value)) return;
            d.total_tokens += static_cast<std::int64_t>(value);
        }
        averages = true;
    });
    if (!averages) d.faithful = false;
    // Each product's length in tokens, from the sizes FTS5 keeps per row.
    c.Query("SELECT id, sz FROM products_fts_docsize", {}, [&](const db::Row& r) {
        std::optional<std::uint32_t> doc = d.DocOf(r.Int(0));
        std::string_view bytes = r.Text(1);
        std::uint64_t total = 0;
        std::uint64_t value = 0;
        for (int column = 0; column < 3; ++column) {
            if (!ReadVarint(bytes, value)) d.faithful = false;
            total += value;
        }
        if (!doc || total > std::numeric_limits<std::uint32_t>::max()) {
            d.faithful = false;  // a row of the index without its product: the copy would count it
            return;
        }
        d.docs[*doc].tokens = static_cast<std::uint32_t>(total);
    });
    // Every token of every row, as the index holds it, in term order, then row, then column.
    std::int64_t last_doc = -1;
    std::uint32_t weight = 0;
    auto close_posting = [&] {
        if (last_doc < 0) return;
        if (weight > std::numeric_limits<std::uint16_t>::max()) d.faithful = false;
        d.posting_weight.push_back(static_cast<std::uint16_t>(std::min<std::uint32_t>(weight, 0xFFFF)));
        weight = 0;
    };
    // A product's postings are at most its tokens (a term twice in it is one posting).
    d.posting_doc.reserve(static_cast<std::size_t>(std::max<std::int64_t>(d.total_tokens, 0)));
    d.posting_weight.reserve(d.posting_doc.capacity());
    c.Query("SELECT term, doc, col FROM products_fts_instance", {}, [&](const db::Row& r) {
        const std::string_view term = r.Text(0);
        const std::int64_t id = r.Int(1);
        if (d.terms.empty() || d.terms.back() != term) {
            close_posting();
            if (!d.terms.empty() && term < std::string_view{d.terms.back()}) d.faithful = false;
            d.terms.emplace_back(term);
            d.term_start.push_back(static_cast<std::uint32_t>(d.posting_doc.size()));
            last_doc = -1;
        }
        if (id != last_doc) {
            close_posting();
            if (id < last_doc) d.faithful = false;
            std::optional<std::uint32_t> doc = d.DocOf(id);
            if (!doc) d.faithful = false;
            d.posting_doc.push_back(doc.value_or(0));
            last_doc = id;
        }
        const int column = ColumnNumber(r.Text(2));
        if (column < 0) {
            d.faithful = false;
            return;
        }
        weight += kColumnWeights[column];
    });
    close_posting();
    d.term_start.push_back(static_cast<std::uint32_t>(d.posting_doc.size()));
    if (d.posting_doc.size() > std::numeric_limits<std::uint32_t>::max() / 2) d.faithful = false;
    d.terms.shrink_to_fit();
    d.posting_doc.shrink_to_fit();  // the keeper gives the bound's memory back to the system
    d.posting_weight.shrink_to_fit();
    d.words_per_set = d.docs.size() / 64 + 1;
    d.term_bits.assign(d.terms.size(), -1);
    for (std::size_t t = 0; t < d.terms.size(); ++t) {
        const std::size_t begin = d.term_start[t];
        const std::size_t end = d.term_start[t + 1];
        if ((end - begin) * Data::kBitsEvery < d.docs.size()) continue;
        d.term_bits[t] = static_cast<std::int64_t>(d.bits.size());
        d.bits.resize(d.bits.size() + d.words_per_set, 0);
        std::uint64_t* set = d.bits.data() + d.term_bits[t];
        for (std::size_t p = begin; p < end; ++p)
            set[d.posting_doc[p] / 64] |= std::uint64_t{1} << (d.posting_doc[p] % 64);
    }
    return std::unique_ptr<const SearchIndex>(new SearchIndex(std::move(data)));
}

namespace {

// The words of q when the copy can search for them as FTS5 would; nullopt for a word beyond ASCII.
std::optional<std::vector<SearchWord>> AsciiWords(std::string_view q) {
    std::vector<SearchWord> words = SearchWords(q);
    for (const SearchWord& w : words) {
        if (std::any_of(w.text.begin(), w.text.end(), [](char ch) { return static_cast<unsigned char>(ch) >= 0x80; })) {
            return std::nullopt;
        }
    }
    return words;
}

}  // namespace

template <typename Count, typename Fn>
void SearchIndex::ForEachMatch(const std::vector<SearchWord>& words, bool scored, Count&& count, Fn&& fn) const {
    const Data& d = *data_;
    if (words.empty()) return;
    // Every phrase's matches, and its IDF over the whole index, as fts5Bm25GetData computes it.
    std::vector<Phrase> phrases;
    std::vector<double> idf;
    phrases.reserve(words.size());
    std::size_t driver = 0;  // the phrase with the fewest matches: the others are looked up from it
    for (const SearchWord& w : words) {
        phrases.push_back(d.Matches(w));
        const auto hits = static_cast<std::int64_t>(phrases.back().size);
        if (hits == 0) return;
        if (phrases.back().size < phrases[driver].size) driver = phrases.size() - 1;
        double value = std::log((static_cast<double>(d.rows - hits) + 0.5) / (static_cast<double>(hits) + 0.5));
        if (value <= 0.0) value = 1e-6;
        idf.push_back(value);
    }
    const double avgdl = static_cast<double>(d.total_tokens) / static_cast<double>(d.rows);
    // The phrases' products as bit sets (a common term's own, else made here), except the
    // smallest phrase's when it has none: a product of it is then tested in each set with one load
    // and a branch rarely taken (a merge of two lists mispredicts at every step). When every phrase
    // has a set, the sets are intersected 64 products at a time. Only products in all of them are
    // looked up in the lists, for their weights.
    const std::size_t words_per_set = d.words_per_set;
    const bool all_sets = std::all_of(phrases.begin(), phrases.end(), [](const Phrase& p) { return p.bits; });
    std::vector<const std::uint64_t*> sets;
    std::vector<std::uint64_t> made;  // sets made for this search
    made.reserve(phrases.size() * words_per_set);
    for (std::size_t i = 0; i < phrases.size(); ++i) {
        if (phrases[i].bits) {
            if (all_sets || i != driver) sets.push_back(phrases[i].bits);
            continue;
        }
        if (i == driver) continue;
        made.resize(made.size() + words_per_set, 0);
        std::uint64_t* bits = made.data() + made.size() - words_per_set;
        for (std::size_t k = 0; k < phrases[i].size; ++k) {
            const std::uint32_t doc = phrases[i].docs[k];
            bits[doc / 64] |= std::uint64_t{1} << (doc % 64);
        }
        sets.push_back(bits);
    }
    std::vector<std::uint32_t> candidates;  // the products in every phrase, ascending
    candidates.reserve(phrases[driver].size);
    if (all_sets) {
        for (std::size_t w = 0; w < words_per_set; ++w) {
            std::uint64_t word = sets[0][w];
            for (std::size_t set = 1; set < sets.size() && word; ++set) word &= sets[set][w];
            while (word) {
                candidates.push_back(
                    static_cast<std::uint32_t>(w * 64 + static_cast<std::size_t>(__builtin_ctzll(word))));
                word &= word - 1;
            }
        }
    } else {
        const Phrase& smallest = phrases[driver];
        for (std::size_t k = 0; k < smallest.size; ++k) {
            const std::uint32_t doc = smallest.docs[k];
            bool everywhere = true;
            for (std::size_t set = 0; set < sets.size() && everywhere; ++set) {
                everywhere = (sets[set][doc / 64] >> (doc % 64)) & 1;
            }
            if (everywhere) candidates.push_back(doc);
        }
    }
    count(candidates.size());
    std::vector<std::size_t> cursor(phrases.size(), 0);
    std::vector<std::uint32_t> weights(phrases.size(), 0);
    // Products are read in ascending order but far apart (a common word is in one product of five):
    // each would be a cache miss without asking for it a few products ahead.
    constexpr std::size_t kAhead = 16;
    for (std::size_t c = 0; c < candidates.size(); ++c) {
        const std::uint32_t doc = candidates[c];
        if (c + kAhead < candidates.size()) __builtin_prefetch(&d.docs[candidates[c + kAhead]]);
        for (std::size_t i = 0; i < phrases.size(); ++i) {
            if (phrases[i].Seek(doc, cursor[i])) weights[i] = phrases[i].Weight(cursor[i]);
        }
        double score = 0.0;
        if (scored) {
            // fts5Bm25Function, operation for operation (this file is built without contracting
            // multiplications and additions, so every rounding is the same as SQLite's).
            const double k1 = 1.2;
            const double b = 0.75;
            const auto length = static_cast<double>(d.docs[doc].tokens);  // bm25's D
            for (std::size_t i = 0; i < phrases.size(); ++i) {
                const auto freq = static_cast<double>(weights[i]);
                score += idf[i] * ((freq * (k1 + 1.0)) / (freq + k1 * (1 - b + b * length / avgdl)));
            }
            score = -1.0 * score;
        }
        fn(doc, score);
    }
}

std::optional<std::vector<std::pair<std::int64_t, double>>> SearchIndex::Scores(std::string_view q) const {
    std::optional<std::vector<SearchWord>> words = AsciiWords(q);
    if (!data_->faithful || !words) return std::nullopt;
    std::vector<std::pair<std::int64_t, double>> out;
    ForEachMatch(
        *words, true, [&](std::size_t n) { out.reserve(n); },
        [&](std::uint32_t doc, double score) { out.emplace_back(data_->docs[doc].id, score); });
    return out;
}

std::optional<SearchHits> SearchIndex::Search(const ProductQuery& query, std::size_t max_postings) const {
    const Data& d = *data_;
    // A list without search text walks every product; a search, its words' postings.
    const bool listing = query.q.empty();
    std::optional<std::vector<SearchWord>> words = listing ? std::vector<SearchWord>() : AsciiWords(query.q);
    if (!d.faithful || !words || (listing ? d.docs.size() : d.PostingsOf(*words)) > max_postings) return std::nullopt;
    SearchHits out;
    std::optional<std::int64_t> category;
    if (!query.category.empty()) {
        auto it = d.categories.find(query.category);
        if (it == d.categories.end()) return out;  // an unknown slug matches nothing, as in SQL
        category = it->second;
    }
    // Each match carries what its order needs, so that sorting reads no product again: the
    // score (relevance only; 0 otherwise), the sort's column, and the id that breaks ties.
    struct Match {
        double score;
        std::int64_t key;
        std::int64_t id;
    };
    const Sort sort = query.sort;
    const bool key_descending = sort != Sort::kPriceAsc;
    const bool id_descending = sort == Sort::kNewest;
    // list_sql.cpp's ORDER BY: bm25 ascending, then popularity descending, then id (relevance);
    // price and id; price descending and id; created_at and id both descending (newest);
    // popularity descending and id.
    auto order = [&](const Match& x, const Match& y) {
        if (x.score != y.score) return x.score < y.score;
        if (x.key != y.key) return key_descending ? x.key > y.key : x.key < y.key;
        return id_descending ? x.id > y.id : x.id < y.id;
    };
    // Only the first `want` matches in that order are kept, in a heap whose top is the last of
    // them: a page costs memory for itself and the pages before it, not for every match (a list
    // of 100,000 products would otherwise take 2.4 MB per request, and the workers' allocator
    // arenas keep what they once held).
    const std::int64_t offset = (query.page - 1) * query.per_page;
    const auto everything = static_cast<std::int64_t>(d.docs.size());
    const auto want =
        static_cast<std::size_t>(offset >= everything ? 0 : std::min(everything, offset + query.per_page));
    std::vector<Match> kept;
    kept.reserve(want);
    std::int64_t found = 0;
    auto take = [&](std::uint32_t at, double score) {
        const Doc& doc = d.docs[at];
        if (doc.archived) return;
        if (category && doc.category_id != *category) return;
        if (query.min_price && doc.price_cents < *query.min_price) return;
        if (query.max_price && doc.price_cents > *query.max_price) return;
        if (query.seller_id && doc.seller_id != *query.seller_id) return;
        ++found;
        if (want == 0) return;
        const std::int64_t key = sort == Sort::kPriceAsc || sort == Sort::kPriceDesc ? doc.price_cents
                                 : sort == Sort::kNewest                             ? doc.created_at
                                                                                     : doc.popularity;
        const Match match{score, key, doc.id};
        if (kept.size() < want) {
            kept.push_back(match);
            std::push_heap(kept.begin(), kept.end(), order);
        } else if (order(match, kept.front())) {
            std::pop_heap(kept.begin(), kept.end(), order);
            kept.back() = match;
            std::push_heap(kept.begin(), kept.end(), order);
        }
    };
    if (listing) {
        // Every score is 0: relevance without words orders by popularity, as the SQL does.
        for (std::uint32_t at = 0; at < d.docs.size(); ++at) take(at, 0.0);
    } else {
        ForEachMatch(
            *words, sort == Sort::kRelevance, [](std::size_t) {}, take);
    }
    std::sort_heap(kept.begin(), kept.end(), order);
    for (std::size_t i = static_cast<std::size_t>(offset); i < kept.size(); ++i) out.ids.push_back(kept[i].id);
    // The SQL counts a list exactly and a search's matches only up to the limit.
    out.total = listing ? found : std::min(found, kSearchCountLimit);
    out.total_exact = listing || found <= kSearchCountLimit;
    return out;
}

SearchIndexKeeper::SearchIndexKeeper(db::Database& database)
    : database_(database), thread_([this](const std::stop_token& stop) { Run(stop); }) {}

SearchIndexKeeper::~SearchIndexKeeper() {
    thread_.request_stop();
    thread_.join();
}

std::shared_ptr<const SearchIndex> SearchIndexKeeper::At(std::int64_t version, std::uint64_t notices_before) {
    std::lock_guard lock(mutex_);
    if (current_ && current_->version() == version) {
        if (notices_ == notices_before) {
            trusted_ = true;
            confirmed_at_ = std::chrono::steady_clock::now();
        }
        return current_;
    }
    trusted_ = false;
    if (!wanted_) {
        wanted_ = true;
        wake_.notify_one();
    }
    return nullptr;
}

std::shared_ptr<const SearchIndex> SearchIndexKeeper::Trusted(std::chrono::steady_clock::duration max_age) const {
    std::lock_guard lock(mutex_);
    if (!trusted_ || std::chrono::steady_clock::now() - confirmed_at_ > max_age) return nullptr;
    return current_;
}

std::uint64_t SearchIndexKeeper::notices() const {
    std::lock_guard lock(mutex_);
    return notices_;
}

void SearchIndexKeeper::Suspect() {
    std::lock_guard lock(mutex_);
    ++notices_;
    trusted_ = false;
}

std::int64_t SearchIndexKeeper::builds() const {
    std::lock_guard lock(mutex_);
    return builds_;
}

namespace {

// SearchIndex::Build on an SQLite connection with its memory map of the file, if it has one
// (SqliteOptions::mmap_bytes), turned off for the build, and its page cache let go after. The
// build reads every page of the full-text index once; through a map those pages would stay in the
// process's resident memory (one map per reader connection) long after the copy no longer needs
// them. Read with read(), they pass through the connection's bounded page cache, which
// shrink_memory empties. The map comes back for the connection's ordinary reads.
std::unique_ptr<const SearchIndex> BuildUnmapped(db::Connection& c) {
    const std::int64_t mmap_bytes = c.QueryInt("PRAGMA mmap_size");
    struct Restore {
        db::Connection& c;
        std::int64_t mmap_bytes;
        ~Restore() {
            try {
                c.ExecuteScript("PRAGMA mmap_size = " + std::to_string(mmap_bytes));
                c.ExecuteScript("PRAGMA shrink_memory");
            } catch (const std::exception&) {
                // Left unmapped: the connection only reads more slowly.
            }
        }
    } restore{c, mmap_bytes};
    c.ExecuteScript("PRAGMA mmap_size = 0");
    return SearchIndex::Build(c);
}

}  // namespace

void SearchIndexKeeper::Run(const std::stop_token& stop) {
    while (true) {
        {
            std::unique_lock lock(mutex_);
            if (!wake_.wait(lock, stop, [&] { return wanted_; })) return;
        }
        const auto started = std::chrono::steady_clock::now();
        std::shared_ptr<const SearchIndex> built;
        try {
            built = database_.Read([](db::Connection& c) { return BuildUnmapped(c); });
        } catch (const std::exception&) {
            // The database is away (a restore, a failover): searches run their SQL meanwhile, and
            // the next one that finds no copy asks again, after the pause below.
        }
        const auto took = std::chrono::steady_clock::now() - started;
        std::shared_ptr<const SearchIndex> old;
        const bool fresh = built != nullptr;
        {
            std::lock_guard lock(mutex_);
            if (fresh) {
                old = std::exchange(current_, std::move(built));
                trusted_ = false;  // until a search reads its version in the database
            }
            ++builds_;
            wanted_ = false;
        }
        if (fresh) {
            // The old copy (unless a search still holds it) and the build's scratch go back to the
            // system rather than to the allocator's free lists: the process keeps one copy's worth.
            old.reset();
            malloc_trim(0);
        }
        std::unique_lock lock(mutex_);
        // Rests twice as long as the build took before the next can start.
        wake_.wait_for(lock, stop, 2 * took, [] { return false; });
        if (stop.stop_requested()) return;
    }
}

}  // namespace emporium::catalog
