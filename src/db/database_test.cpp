// What every backend promises, run on SQLite and, under scripts/services/postgres.sh, on
// PostgreSQL (see db/testing.h); and the backend-independent pieces of db::Open.
#include "db/database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <limits>
#include <thread>

#include "core/trace.h"
#include "db/migrations.h"
#include "db/postgres_database.h"
#include "db/testing.h"

namespace emporium::db {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::vector<Migration> Schema() {
    const Dialect d = TestDialect();
    return {
        {"test", 1,
         "CREATE TABLE items (" + IdColumn(d) + ", name TEXT NOT NULL UNIQUE, qty INTEGER NOT NULL CHECK (qty >= 0))"},
        {"test", 2, "ALTER TABLE items ADD COLUMN note TEXT"},
        {"test", 3,
         "CREATE TABLE parts (item_id BIGINT NOT NULL REFERENCES items(id), label TEXT NOT NULL);"
         "CREATE TABLE kinds (i BIGINT, r DOUBLE PRECISION, t TEXT)"},
    };
}

class DatabaseTest : public ::testing::Test {
protected:
    std::int64_t Count(const std::string& sql = "SELECT COUNT(*) FROM items") {
        return database_->Read([&](Connection& c) { return c.QueryInt(sql); });
    }
    DbError::Kind KindOf(const std::function<void(Connection&)>& write) {
        try {
            database_->Write(write);
        } catch (const DbError& e) {
            return e.kind();
        }
        ADD_FAILURE() << "expected a DbError";
        return DbError::Kind::kOther;
    }

    TempDatabase database_{Schema()};
};

TEST_F(DatabaseTest, WritesCommitAndReadsSeeThem) {
    std::int64_t id = database_->Write([](Connection& c) {
        return c.QueryInt("INSERT INTO items (name, qty) VALUES (?, ?) RETURNING id",
                          {std::string("apple"), std::int64_t{3}});
    });
    EXPECT_GT(id, 0);
    std::string name;
    database_->Read([&](Connection& c) {
        c.Query("SELECT name, qty, note FROM items WHERE id = ?", {id}, [&](const Row& r) {
            name = r.Text(0);
            EXPECT_EQ(r.Int(1), 3);
            EXPECT_TRUE(r.IsNull(2));
        });
    });
    EXPECT_EQ(name, "apple");
}

TEST_F(DatabaseTest, ExecuteCountsTheRowsItChanged) {
    database_->Write([](Connection& c) {
        c.ExecuteScript("INSERT INTO items (name, qty) VALUES ('a', 1); INSERT INTO items (name, qty) VALUES ('b', 2)");
        EXPECT_EQ(c.Execute("INSERT INTO items (name, qty) VALUES ('c', 3)"), 1);
        EXPECT_EQ(c.Execute("UPDATE items SET qty = qty + 1 WHERE qty >= ?", {std::int64_t{2}}), 2);
        EXPECT_EQ(c.Execute("UPDATE items SET qty = 0 WHERE name = 'nobody'"), 0);
        EXPECT_EQ(c.Execute("DELETE FROM items"), 3);
    });
}

TEST_F(DatabaseTest, MigrationsRunOnce) {
    EXPECT_EQ(ApplyMigrations(*database_, Schema()), 0);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM schema_migrations"), 3);
}

TEST_F(DatabaseTest, ValuesComeBackAsTheyWent) {
    const std::int64_t big = std::numeric_limits<std::int64_t>::max();
    const std::int64_t small = std::numeric_limits<std::int64_t>::min();
    const std::string text = "Grüße, 漢字 🎮 'quoted' \"double\" ? $1 \\ -- not a comment";
    const std::string long_text(100'000, 'x');
    database_->Write([&](Connection& c) {
        for (const Params& p : {Params{big, 0.1, text}, Params{small, -1.5e300, std::string()},
                                Params{std::int64_t{0}, 3.0, long_text}, Params{nullptr, nullptr, nullptr}}) {
            c.Execute("INSERT INTO kinds (i, r, t) VALUES (?, ?, ?)", p);
        }
    });
    struct Back {
        bool null;
        std::int64_t i;
        double r;
        std::string t;
    };
    std::vector<Back> back;
    database_->Read([&](Connection& c) {
        c.Query("SELECT i, r, t FROM kinds ORDER BY i IS NULL, i DESC", {}, [&](const Row& row) {
            back.push_back(
                {row.IsNull(0) && row.IsNull(1) && row.IsNull(2), row.Int(0), row.Real(1), std::string(row.Text(2))});
        });
    });
    ASSERT_EQ(back.size(), 4U);
    EXPECT_EQ(back[0].i, big);
    EXPECT_EQ(back[0].r, 0.1);
    EXPECT_EQ(back[0].t, text);
    EXPECT_EQ(back[1].i, 0);
    EXPECT_EQ(back[1].t, long_text);
    EXPECT_EQ(back[2].i, small);
    EXPECT_EQ(back[2].r, -1.5e300);
    EXPECT_EQ(back[2].t, "");
    EXPECT_FALSE(back[2].null);
    EXPECT_TRUE(back[3].null);
    EXPECT_EQ(back[3].i, 0);
    EXPECT_EQ(back[3].t, "");
}

TEST_F(DatabaseTest, ParametersTakeTheirTypeFromWhereTheyStand) {
    database_->Read([](Connection& c) {
        // Comparisons read as 1 or 0 on both (PostgreSQL answers booleans).
        EXPECT_EQ(c.QueryInt("SELECT ? < ?", {std::int64_t{1}, std::int64_t{2}}), 1);
        EXPECT_EQ(c.QueryInt("SELECT ? = ?", {std::string("a"), std::string("b")}), 0);
        // A NULL compared against a typed column, and CAST(? AS BIGINT) IS NULL for optional filters.
        EXPECT_EQ(
            c.QueryInt("SELECT COUNT(*) FROM items WHERE (CAST(? AS BIGINT) IS NULL OR id = ?)", {nullptr, nullptr}),
            0);
        // Text and integers read as each other, as SQLite converts them.
        std::string text;
        c.Query("SELECT ?", {std::int64_t{42}}, [&](const Row& r) { text = r.Text(0); });
        EXPECT_EQ(text, "42");
        EXPECT_EQ(c.QueryInt("SELECT CAST(? AS BIGINT) * 2", {std::string("21")}), 42);
        EXPECT_EQ(c.QueryInt("SELECT COUNT(*) FROM items WHERE name = 'x?y' OR name = ?", {std::string("?")}), 0);
    });
}

TEST_F(DatabaseTest, ErrorResultRollsBack) {
    Result<int> r = database_->Write([](Connection& c) -> Result<int> {
        c.Execute("INSERT INTO items (name, qty) VALUES ('pear', 1)");
        return Error::Conflict("nope", "changed my mind");
    });
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(Count(), 0);
}

TEST_F(DatabaseTest, ExceptionRollsBackAndIsRethrown) {
    EXPECT_THROW(database_->Write([](Connection& c) {
        c.Execute("INSERT INTO items (name, qty) VALUES ('plum', 1)");
        c.Execute("INSERT INTO items (name, qty) VALUES ('plum', 1)");  // duplicate name
    }),
                 DbError);
    EXPECT_EQ(Count(), 0);
    // The connection that failed is fine for the next transaction.
    database_->Write([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('plum', 1)"); });
    EXPECT_EQ(Count(), 1);
}

TEST_F(DatabaseTest, ConstraintViolationsAreClassifiedWithoutTheirValues) {
    const std::int64_t id = database_->Write([](Connection& c) {
        return c.QueryInt("INSERT INTO items (name, qty) VALUES ('secret-sku-123', 1) RETURNING id");
    });
    EXPECT_EQ(KindOf([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('x', -1)"); }),
              DbError::Kind::kConstraint);  // CHECK
    EXPECT_EQ(KindOf([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES (NULL, 1)"); }),
              DbError::Kind::kConstraint);  // NOT NULL
    EXPECT_EQ(KindOf([](Connection& c) { c.Execute("INSERT INTO parts (item_id, label) VALUES (999999, 'p')"); }),
              DbError::Kind::kConstraint);  // FOREIGN KEY
    try {
        database_->Write(
            [](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('secret-sku-123', 2)"); });
        FAIL() << "expected a DbError";
    } catch (const DbError& e) {
        EXPECT_EQ(e.kind(), DbError::Kind::kConstraint);  // UNIQUE
        // Error texts reach logs: they name the constraint, never the value.
        EXPECT_THAT(e.what(), Not(HasSubstr("secret-sku-123")));
    }
    database_->Write([&](Connection& c) { c.Execute("INSERT INTO parts (item_id, label) VALUES (?, 'p')", {id}); });
    EXPECT_EQ(Count("SELECT COUNT(*) FROM parts"), 1);
}

TEST_F(DatabaseTest, ReadSeesOneSnapshotWhileWritersCommit) {
    database_->Write([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('first', 1)"); });
    std::promise<void> read_once;
    std::promise<void> written;
    std::thread writer([&] {
        read_once.get_future().wait();
        database_->Write([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('second', 1)"); });
        written.set_value();
    });
    std::pair<std::int64_t, std::int64_t> seen = database_->Read([&](Connection& c) {
        const std::int64_t before = c.QueryInt("SELECT COUNT(*) FROM items");
        read_once.set_value();
        written.get_future().wait();
        return std::make_pair(before, c.QueryInt("SELECT COUNT(*) FROM items"));
    });
    writer.join();
    EXPECT_EQ(seen.first, 1);
    EXPECT_EQ(seen.second, 1);
    EXPECT_EQ(Count(), 2);
}

TEST_F(DatabaseTest, ConditionalUpdateNeverGoesBelowZero) {
    database_->Write([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('last', 10)"); });
    std::atomic<int> taken{0};
    std::vector<std::thread> buyers;
    buyers.reserve(8);
    for (int i = 0; i < 8; ++i) {
        buyers.emplace_back([&] {
            for (int k = 0; k < 5; ++k) {
                std::int64_t changed = database_->Write([](Connection& c) {
                    return c.Execute("UPDATE items SET qty = qty - 1 WHERE name = 'last' AND qty >= 1");
                });
                taken += static_cast<int>(changed);
            }
        });
    }
    for (auto& t : buyers) t.join();
    EXPECT_EQ(taken.load(), 10);
    EXPECT_EQ(Count("SELECT qty FROM items WHERE name = 'last'"), 0);
}

// A write runs under its caller's trace wherever it runs: on SQLite a group commit's leader runs
// the other writers' writes on its own thread, and what they queue (outbox events, texts) must
// carry their own trace, not the leader's (tests/api/test_notify.py saw a text lose its trace).
TEST_F(DatabaseTest, AWriteRunsUnderItsCallersTraceWhicheverThreadRunsIt) {
    std::vector<std::thread> writers;
    writers.reserve(16);
    std::atomic<int> wrong{0};
    for (int i = 0; i < 16; ++i) {
        writers.emplace_back([&, i] {
            const std::optional<TraceContext> mine = StartSpan(std::nullopt);
            TraceScope scope(mine);
            for (int k = 0; k < 20; ++k) {
                database_->Write([&](Connection& c) {
                    if (CurrentTraceparent() != mine->Traceparent()) ++wrong;
                    c.Execute("INSERT INTO items (name, qty) VALUES (?, 1)",
                              {"t" + std::to_string(i) + "-" + std::to_string(k)});
                });
            }
        });
    }
    for (auto& t : writers) t.join();
    EXPECT_EQ(wrong.load(), 0);
    EXPECT_EQ(Count(), 16 * 20);
    // A write from a thread with no trace runs with none, whoever leads.
    database_->Write([&](Connection&) { EXPECT_EQ(CurrentTrace(), nullptr); });
}

TEST_F(DatabaseTest, ConcurrentWritesAreEachAllOrNothing) {
    // Many writers at once (sharing commits on SQLite, side by side on PostgreSQL); a failing one
    // must not take the others with it.
    database_->Write([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('taken', 1)"); });
    std::vector<std::thread> writers;
    writers.reserve(60);
    std::atomic<int> thrown{0};
    for (int i = 0; i < 60; ++i) {
        writers.emplace_back([&, i] {
            try {
                Result<int> r = database_->Write([&](Connection& c) -> Result<int> {
                    c.Execute("INSERT INTO items (name, qty) VALUES (?, 1)", {"w" + std::to_string(i)});
                    c.Execute("INSERT INTO items (name, qty) VALUES (?, 1)", {"x" + std::to_string(i)});
                    if (i % 3 == 1) return Error::Conflict("no", "changed my mind");
                    if (i % 3 == 2)
                        c.Execute("INSERT INTO items (name, qty) VALUES ('taken', 1)");  // duplicate: throws
                    return i;
                });
                EXPECT_EQ(r.ok(), i % 3 == 0);
            } catch (const DbError&) {
                ++thrown;
            }
        });
    }
    for (auto& t : writers) t.join();
    EXPECT_EQ(thrown.load(), 20);
    EXPECT_EQ(Count(), 41);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM items WHERE name = 'w3' OR name = 'x3' OR name = 'w1' OR name = 'w2'"), 2);
}

TEST_F(DatabaseTest, PoolFiguresCountConnectionsInUse) {
    const PoolStats idle = database_->Pool();
    EXPECT_EQ(idle.in_use, 0);
    EXPECT_GE(idle.size, 1);
    const PoolStats busy = database_->Read([&](Connection&) { return database_->Pool(); });
    EXPECT_EQ(busy.in_use, 1);
    EXPECT_EQ(database_->Pool().in_use, 0);
}

TEST_F(DatabaseTest, AStatementPastItsDeadlineStopsAndTheConnectionRecovers) {
    // A count to a billion takes seconds; a deadline already passed stops it at once.
    const std::string slow =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000000) SELECT COUNT(*) FROM n";
    for (int i = 0; i < 2; ++i) {  // the connection answers in full afterwards, and stops again
        try {
            database_->Read([&](Connection& c) {
                DeadlineScope deadline(c, std::chrono::milliseconds(0));
                c.QueryInt(slow);
            });
            ADD_FAILURE() << "the statement ran to the end";
        } catch (const DbError& e) {
            EXPECT_EQ(e.kind(), DbError::Kind::kTimeout) << e.what();
        }
        EXPECT_EQ(database_->Read([](Connection& c) {
            return c.QueryInt(
                "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)"
                " SELECT COUNT(*) FROM n");
        }),
                  100000);
    }
    // Within its deadline a statement is not disturbed, and the deadline ends with its scope.
    EXPECT_EQ(database_->Read([](Connection& c) {
        DeadlineScope deadline(c, std::chrono::seconds(60));
        return c.QueryInt("SELECT 7");
    }),
              7);
}

TEST(OpenTest, RefusesUrlsOfNoKnownDatabase) {
    for (const char* url : {"", "sqlite:", "mysql://root:pw@127.0.0.1/shop"}) {
        try {
            Open({.url = url});
            ADD_FAILURE() << url;
        } catch (const DbError& e) {
            EXPECT_EQ(e.kind(), DbError::Kind::kOther) << url;
            EXPECT_THAT(e.what(), Not(HasSubstr("pw@"))) << url;
        }
    }
}

TEST(OpenTest, AnUnreachablePostgresFailsAtOpen) {
    // Port 1 on loopback: nothing listens there, so the connect is refused at once.
    try {
        Open({.url = "postgresql://shop:hunter2@127.0.0.1:1/shop"});
        FAIL() << "expected a DbError";
    } catch (const DbError& e) {
        EXPECT_EQ(e.kind(), DbError::Kind::kConnection);
        EXPECT_THAT(e.what(), Not(HasSubstr("hunter2")));
    }
}

TEST(OpenTest, RedactedHidesPasswords) {
    EXPECT_EQ(Redacted("postgresql://shop:s3cret@db.internal:5432/shop?sslmode=require"),
              "postgresql://shop:***@db.internal:5432/shop?sslmode=require");
    EXPECT_EQ(Redacted("postgresql://db/shop?user=shop&password=s3cret&sslmode=require"),
              "postgresql://db/shop?user=shop&password=***&sslmode=require");
    EXPECT_EQ(Redacted("postgresql://shop@127.0.0.1/shop"), "postgresql://shop@127.0.0.1/shop");
    EXPECT_EQ(Redacted("sqlite:/var/lib/emporium/emporium.db"), "sqlite:/var/lib/emporium/emporium.db");
}

TEST(PlaceholderTest, NumbersEveryPlaceholderOutsideLiteralsAndComments) {
    int n = -1;
    EXPECT_EQ(RewritePlaceholders("SELECT ?, ? FROM t WHERE a = ?", &n), "SELECT $1, $2 FROM t WHERE a = $3");
    EXPECT_EQ(n, 3);
    EXPECT_EQ(RewritePlaceholders("SELECT '?', 'it''s ?', ? WHERE b = 'x'", &n),
              "SELECT '?', 'it''s ?', $1 WHERE b = 'x'");
    EXPECT_EQ(n, 1);
    EXPECT_EQ(RewritePlaceholders(R"(SELECT E'\'?', "we?ird", "a""?", ?)", &n),
              R"(SELECT E'\'?', "we?ird", "a""?", $1)");
    EXPECT_EQ(n, 1);
    EXPECT_EQ(RewritePlaceholders("SELECT 1 -- why?\n, ? /* a ? /* nested ? */ still ? */ + ?", &n),
              "SELECT 1 -- why?\n, $1 /* a ? /* nested ? */ still ? */ + $2");
    EXPECT_EQ(n, 2);
    EXPECT_EQ(RewritePlaceholders("SELECT $$ ? $$, $tag$ it's ? $tag$, ?, a$b", &n),
              "SELECT $$ ? $$, $tag$ it's ? $tag$, $1, a$b");
    EXPECT_EQ(n, 1);
    // Already numbered, or a literal left open: nothing to number.
    EXPECT_EQ(RewritePlaceholders("SELECT $1, 'open ?", &n), "SELECT $1, 'open ?");
    EXPECT_EQ(n, 0);
}

TEST(PlaceholderTest, SqlStatesMapToKinds) {
    EXPECT_EQ(KindOfSqlState("23505"), DbError::Kind::kConstraint);  // unique
    EXPECT_EQ(KindOfSqlState("23503"), DbError::Kind::kConstraint);  // foreign key
    EXPECT_EQ(KindOfSqlState("40001"), DbError::Kind::kBusy);        // serialization failure
    EXPECT_EQ(KindOfSqlState("40P01"), DbError::Kind::kBusy);        // deadlock
    EXPECT_EQ(KindOfSqlState("55P03"), DbError::Kind::kBusy);        // lock timeout
    EXPECT_EQ(KindOfSqlState("57014"), DbError::Kind::kBusy);        // statement timeout
    EXPECT_EQ(KindOfSqlState("08006"), DbError::Kind::kConnection);
    EXPECT_EQ(KindOfSqlState("57P01"), DbError::Kind::kConnection);  // terminated by an administrator
    EXPECT_EQ(KindOfSqlState("42601"), DbError::Kind::kOther);       // syntax error
    EXPECT_EQ(KindOfSqlState(""), DbError::Kind::kOther);
}

TEST(PlaceholderTest, ConnectionParametersAvoidDnsForAddressesAndSetTheTimeout) {
    using Parameters = std::vector<std::pair<std::string, std::string>>;
    auto value = [](const Parameters& p, const std::string& key) -> std::optional<std::string> {
        for (const auto& [k, v] : p) {
            if (k == key) return v;
        }
        return std::nullopt;
    };
    const Parameters numeric = ConnectionParameters("postgresql://shop:pw@127.0.0.1:5433/shop?sslmode=disable",
                                                    std::chrono::milliseconds(1500));
    EXPECT_EQ(value(numeric, "hostaddr"), "127.0.0.1");
    EXPECT_EQ(value(numeric, "port"), "5433");
    EXPECT_EQ(value(numeric, "dbname"), "shop");
    EXPECT_EQ(value(numeric, "sslmode"), "disable");
    EXPECT_EQ(value(numeric, "options"), "-c statement_timeout=1500");
    EXPECT_EQ(value(numeric, "application_name"), "emporium");
    EXPECT_EQ(value(ConnectionParameters("postgresql://[::1],127.0.0.2/shop", {}), "hostaddr"), "::1,127.0.0.2");
    // Patroni's members in one URL: every host and port, and the session attribute, reach libpq.
    const Parameters members = ConnectionParameters(
        "postgresql://shop@10.0.0.21:5432,10.0.0.22:5433,10.0.0.23:5434/shop?target_session_attrs=read-write", {});
    EXPECT_EQ(value(members, "host"), "10.0.0.21,10.0.0.22,10.0.0.23");
    EXPECT_EQ(value(members, "hostaddr"), "10.0.0.21,10.0.0.22,10.0.0.23");
    EXPECT_EQ(value(members, "port"), "5432,5433,5434");
    EXPECT_EQ(value(members, "target_session_attrs"), "read-write");
    EXPECT_EQ(value(ConnectionParameters("postgresql://10.0.0.21,db2.internal/shop", {}), "hostaddr"), std::nullopt);
    const Parameters named = ConnectionParameters(
        "postgres://db.internal/shop?options=-c%20search_path%3Dshop&application_name=node1", std::chrono::seconds(2));
    EXPECT_EQ(value(named, "hostaddr"), std::nullopt);
    EXPECT_EQ(value(named, "options"), "-c search_path=shop -c statement_timeout=2000");
    EXPECT_EQ(value(named, "application_name"), "node1");
    EXPECT_THROW(ConnectionParameters("postgresql://db/shop?no_such_parameter=1", {}), DbError);
}

}  // namespace
}  // namespace emporium::db
