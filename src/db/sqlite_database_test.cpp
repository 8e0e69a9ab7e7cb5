#include <gtest/gtest.h>

#include <thread>

#include "db/database.h"
#include "db/migrations.h"
#include "db/testing.h"

namespace emporium::db {
namespace {

class SqliteTest : public ::testing::Test {
protected:
    inline static const std::vector<Migration> kMigrations = {
        {"test", 1,
         "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE, qty INTEGER NOT NULL CHECK (qty >= "
         "0))"},
        {"test", 2, "ALTER TABLE items ADD COLUMN note TEXT"},
    };
    TempDatabase database_{kMigrations};
};

TEST_F(SqliteTest, WritesCommitAndReadsSeeThem) {
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

TEST_F(SqliteTest, MigrationsRunOnce) {
    EXPECT_EQ(ApplyMigrations(*database_, kMigrations), 0);
    int64_t recorded =
        database_->Read([](Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM schema_migrations"); });
    EXPECT_EQ(recorded, 2);
}

TEST_F(SqliteTest, ErrorResultRollsBack) {
    Result<int> r = database_->Write([](Connection& c) -> Result<int> {
        c.Execute("INSERT INTO items (name, qty) VALUES ('pear', 1)");
        return Error::Conflict("nope", "changed my mind");
    });
    EXPECT_FALSE(r.ok());
    EXPECT_EQ(database_->Read([](Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM items"); }), 0);
}

TEST_F(SqliteTest, ExceptionRollsBackAndIsRethrown) {
    EXPECT_THROW(database_->Write([](Connection& c) {
        c.Execute("INSERT INTO items (name, qty) VALUES ('plum', 1)");
        c.Execute("INSERT INTO items (name, qty) VALUES ('plum', 1)");  // duplicate name
    }),
                 DbError);
    EXPECT_EQ(database_->Read([](Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM items"); }), 0);
}

TEST_F(SqliteTest, ConstraintViolationsAreClassified) {
    try {
        database_->Write([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('x', -1)"); });
        FAIL() << "expected a DbError";
    } catch (const DbError& e) {
        EXPECT_EQ(e.kind(), DbError::Kind::kConstraint);
    }
}

TEST_F(SqliteTest, ConditionalUpdateNeverGoesBelowZero) {
    database_->Write([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('last', 10)"); });
    std::atomic<int> taken{0};
    std::vector<std::thread> buyers;
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
    EXPECT_EQ(database_->Read([](Connection& c) { return c.QueryInt("SELECT qty FROM items WHERE name = 'last'"); }),
              0);
}

TEST_F(SqliteTest, GroupCommitKeepsEachWriteAllOrNothing) {
    // Many writers at once share commits; a failing one must not take the others with it.
    database_->Write([](Connection& c) { c.Execute("INSERT INTO items (name, qty) VALUES ('taken', 1)"); });
    std::vector<std::thread> writers;
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
    EXPECT_EQ(database_->Read([](Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM items"); }), 41);
    EXPECT_EQ(database_->Read([](Connection& c) {
        return c.QueryInt("SELECT COUNT(*) FROM items WHERE name = 'w3' OR name = 'x3' OR name = 'w1' OR name = 'w2'");
    }),
              2);
}

TEST_F(SqliteTest, AStatementPastItsDeadlineStopsAndTheConnectionRecovers) {
    // A count to a billion takes seconds; a deadline already passed stops it at the first check.
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
}

TEST_F(SqliteTest, UsesWriteAheadLog) {
    std::string mode;
    database_->Write(
        [&](Connection& c) { c.Query("PRAGMA journal_mode", {}, [&](const Row& r) { mode = r.Text(0); }); });
    EXPECT_EQ(mode, "wal");
}

TEST_F(SqliteTest, ReadersMapTheFileAndKeepABiggerCache) {
    const SqliteOptions defaults;
    EXPECT_EQ(database_->Read([](Connection& c) { return c.QueryInt("PRAGMA mmap_size"); }), defaults.mmap_bytes);
    EXPECT_EQ(database_->Read([](Connection& c) { return c.QueryInt("PRAGMA cache_size"); }), -defaults.cache_kib);
}

}  // namespace
}  // namespace emporium::db
