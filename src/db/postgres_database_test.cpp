// What only the PostgreSQL backend promises: the pool, statement timeouts, connections killed
// under it, transaction isolation. Built as its own program (emporium_postgres_tests) and run
// against a throwaway server: scripts/services/postgres.sh run build/tests/unit/emporium_postgres_tests
#include "db/postgres_database.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

#include "db/database.h"
#include "db/migrations.h"
#include "db/testing.h"

namespace emporium::db {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;

// Waits for a condition with a deadline, never for a fixed time.
bool Eventually(const std::function<bool()>& condition, milliseconds deadline = milliseconds(10000)) {
    const auto until = std::chrono::steady_clock::now() + deadline;
    while (std::chrono::steady_clock::now() < until) {
        if (condition()) return true;
        std::this_thread::yield();
    }
    return condition();
}

class PostgresTest : public ::testing::Test {
protected:
    void SetUp() override {
        ASSERT_EQ(TestDialect(), Dialect::kPostgres)
            << "run under scripts/services/postgres.sh run, which sets EMPORIUM_TEST_DATABASE_URL";
        admin_ = std::make_unique<TempDatabase>(std::vector<Migration>{
            {"test", 1, "CREATE TABLE items (" + IdColumn(Dialect::kPostgres) + ", name TEXT NOT NULL UNIQUE)"}});
    }
    // A second pool on the same database, with its own settings.
    std::unique_ptr<Database> OpenPool(int size, milliseconds wait = milliseconds(5000),
                                       milliseconds timeout = milliseconds(10000), QueryObserver observer = nullptr) {
        return Open({.url = admin_->url(),
                     .pool_size = size,
                     .pool_min = 1,
                     .pool_wait = wait,
                     .statement_timeout = timeout,
                     .observer = std::move(observer)});
    }
    std::int64_t BackendPid(Database& database) {
        return database.Read([](Connection& c) { return c.QueryInt("SELECT pg_backend_pid()"); });
    }
    // Whether backend pid is running a statement that starts with query.
    bool Running(std::int64_t pid, const std::string& query) {
        return (*admin_)->Read([&](Connection& c) {
            return c.QueryInt(
                       "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ? AND state = 'active'"
                       " AND starts_with(query, ?)",
                       {pid, query}) == 1;
        });
    }
    bool Gone(std::int64_t pid) {
        return (*admin_)->Read([&](Connection& c) {
            return c.QueryInt("SELECT COUNT(*) FROM pg_stat_activity WHERE pid = ?", {pid});
        }) == 0;
    }
    void Terminate(std::int64_t pid) {
        (*admin_)->Read([&](Connection& c) { c.QueryInt("SELECT pg_terminate_backend(CAST(? AS INTEGER))", {pid}); });
    }

    std::unique_ptr<TempDatabase> admin_;
};

TEST_F(PostgresTest, WritesRunAtReadCommittedAndReadsInAReadOnlySnapshot) {
    Database& database = **admin_;
    std::string isolation;
    database.Write([&](Connection& c) {
        c.Query("SHOW transaction_isolation", {}, [&](const Row& r) { isolation = r.Text(0); });
    });
    EXPECT_EQ(isolation, "read committed");
    database.Read([&](Connection& c) {
        c.Query("SHOW transaction_isolation", {}, [&](const Row& r) { isolation = r.Text(0); });
    });
    EXPECT_EQ(isolation, "repeatable read");
    try {
        database.Read([](Connection& c) { c.Execute("INSERT INTO items (name) VALUES ('x')"); });
        FAIL() << "a read wrote";
    } catch (const DbError& e) {
        EXPECT_THAT(e.what(), HasSubstr("read-only"));
    }
}

TEST_F(PostgresTest, AFailedStatementCaughtInsideWriteCommitsNothing) {
    Database& database = **admin_;
    database.Write([](Connection& c) { c.Execute("INSERT INTO items (name) VALUES ('taken')"); });
    try {
        database.Write([](Connection& c) {
            c.Execute("INSERT INTO items (name) VALUES ('kept?')");
            try {
                c.Execute("INSERT INTO items (name) VALUES ('taken')");
            } catch (const DbError&) {
                // Going on here cannot work on PostgreSQL: the transaction is aborted.
            }
        });
        FAIL() << "the write reported success";
    } catch (const DbError& e) {
        EXPECT_EQ(e.kind(), DbError::Kind::kConstraint);
    }
    EXPECT_EQ(database.Read([](Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM items"); }), 1);
}

TEST_F(PostgresTest, StatementTimeoutCancelsTheStatementAndKeepsTheConnection) {
    std::unique_ptr<Database> database = OpenPool(1, milliseconds(5000), milliseconds(200));
    try {
        database->Read([](Connection& c) { c.QueryInt("SELECT COUNT(*) FROM pg_sleep(30)"); });
        FAIL() << "the statement outlived its timeout";
    } catch (const DbError& e) {
        EXPECT_EQ(e.kind(), DbError::Kind::kBusy);
        EXPECT_THAT(e.what(), HasSubstr("57014"));
    }
    EXPECT_EQ(database->Read([](Connection& c) { return c.QueryInt("SELECT 7"); }), 7);
    EXPECT_EQ(database->Pool().connects, 1);
    EXPECT_EQ(database->Pool().connection_errors, 0);
}

TEST_F(PostgresTest, ATerminatedConnectionFailsOnlyItsStatementAndThePoolRefills) {
    std::unique_ptr<Database> database = OpenPool(3);
    std::promise<std::int64_t> victim_pid;
    std::atomic<bool> bystander_done{false};
    std::promise<void> bystander_began;
    std::promise<void> victim_failed;
    std::shared_future<void> victim_failed_future = victim_failed.get_future().share();
    // A transaction on another connection, open across the kill, commits untouched.
    std::thread bystander([&] {
        database->Write([&](Connection& c) {
            c.Execute("INSERT INTO items (name) VALUES ('bystander')");
            bystander_began.set_value();
            victim_failed_future.wait();
        });
        bystander_done = true;
    });
    bystander_began.get_future().wait();
    std::thread victim([&] {
        try {
            database->Read([&](Connection& c) {
                victim_pid.set_value(c.QueryInt("SELECT pg_backend_pid()"));
                c.QueryInt("SELECT COUNT(*) FROM pg_sleep(60)");
            });
            ADD_FAILURE() << "the killed statement succeeded";
        } catch (const DbError& e) {
            EXPECT_EQ(e.kind(), DbError::Kind::kConnection) << e.what();
        }
        victim_failed.set_value();
    });
    const std::int64_t pid = victim_pid.get_future().get();
    ASSERT_TRUE(Eventually([&] { return Running(pid, "SELECT COUNT(*) FROM pg_sleep"); }));
    Terminate(pid);
    victim.join();
    bystander.join();
    EXPECT_TRUE(bystander_done);
    EXPECT_EQ((*admin_)->Read([](Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM items"); }), 1);
    // The dead connection was dropped, not pooled: the next transactions succeed.
    for (int i = 0; i < 5; ++i) EXPECT_NE(BackendPid(*database), pid);
    EXPECT_GE(database->Pool().connection_errors, 1);
    EXPECT_TRUE(Eventually([&] { return database->Pool().idle >= 1; }));
}

TEST_F(PostgresTest, AConnectionKilledWhileIdleIsReplacedWithoutAnError) {
    std::unique_ptr<Database> database = OpenPool(1);
    const std::int64_t pid = BackendPid(*database);
    Terminate(pid);
    ASSERT_TRUE(Eventually([&] { return Gone(pid); }));
    // Its BEGIN fails before anything of the caller ran, so a fresh connection takes over.
    const std::int64_t next = BackendPid(*database);
    EXPECT_NE(next, pid);
    EXPECT_EQ(database->Pool().connects, 2);
}

// Patroni's members reached through one multi-host URL (docs/OPERATIONS.md): libpq skips a member
// that refuses, a broken connection is replaced through the same list, and target_session_attrs
// reaches libpq intact (asking for a standby of a server that is a primary finds none).
TEST_F(PostgresTest, AMultiHostUrlSkipsALostMemberAndKeepsItsSessionAttributes) {
    const std::string url = admin_->url();
    const std::size_t at = url.find('@');
    ASSERT_NE(at, std::string::npos) << url;
    // Port 1 on loopback: nothing listens, so the connect is refused at once, as by a lost member.
    const std::string hosts = url.substr(0, at + 1) + "127.0.0.1:1," + url.substr(at + 1);
    const std::string multi = hosts + (hosts.find('?') == std::string::npos ? "?" : "&");
    std::unique_ptr<Database> database =
        Open({.url = multi + "target_session_attrs=read-write", .pool_size = 2, .pool_min = 1});
    database->Write([](Connection& c) { c.Execute("INSERT INTO items (name) VALUES ('through the list')"); });
    EXPECT_EQ((*admin_)->Read([](Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM items"); }), 1);

    const std::int64_t pid = BackendPid(*database);
    Terminate(pid);
    ASSERT_TRUE(Eventually([&] { return Gone(pid); }));
    EXPECT_NE(BackendPid(*database), pid);

    try {
        Open({.url = multi + "target_session_attrs=standby", .pool_size = 1, .pool_min = 0});
        ADD_FAILURE() << "a primary was taken for a standby";
    } catch (const DbError& e) {
        EXPECT_EQ(e.kind(), DbError::Kind::kConnection) << e.what();
    }
}

TEST_F(PostgresTest, AnExhaustedPoolMakesCallersWaitThenFailsBusy) {
    std::unique_ptr<Database> database = OpenPool(2, milliseconds(300));
    std::promise<void> release;
    std::shared_future<void> released = release.get_future().share();
    std::vector<std::thread> holders;
    holders.reserve(2);
    for (int i = 0; i < 2; ++i) {
        holders.emplace_back([&] { database->Read([&](Connection&) { released.wait(); }); });
    }
    ASSERT_TRUE(Eventually([&] { return database->Pool().in_use == 2; }));
    try {
        database->Read([](Connection& c) { c.QueryInt("SELECT 1"); });
        FAIL() << "a third transaction ran on a pool of two";
    } catch (const DbError& e) {
        EXPECT_EQ(e.kind(), DbError::Kind::kBusy);
    }
    EXPECT_EQ(database->Pool().wait_timeouts, 1);
    EXPECT_GE(database->Pool().waits, 1);
    EXPECT_EQ(database->Pool().waiting, 0);         // the one that gave up left the count
    EXPECT_GE(database->Pool().wait_seconds, 0.3);  // ... and added its whole wait
    release.set_value();
    for (auto& t : holders) t.join();
    EXPECT_EQ(database->Read([](Connection& c) { return c.QueryInt("SELECT 1"); }), 1);
    EXPECT_EQ(database->Pool().in_use, 0);
    EXPECT_EQ(database->Pool().idle, 2);
}

TEST_F(PostgresTest, AWaitingCallerGetsTheFirstConnectionReleased) {
    std::unique_ptr<Database> database = OpenPool(1, milliseconds(30000));
    std::promise<void> release;
    std::thread holder([&] { database->Read([&](Connection&) { release.get_future().wait(); }); });
    ASSERT_TRUE(Eventually([&] { return database->Pool().in_use == 1; }));
    std::future<std::int64_t> waiter = std::async(
        std::launch::async, [&] { return database->Read([](Connection& c) { return c.QueryInt("SELECT 5"); }); });
    ASSERT_TRUE(Eventually([&] { return database->Pool().waits == 1; }));
    EXPECT_EQ(database->Pool().waiting, 1);
    EXPECT_EQ(database->Pool().wait_seconds, 0);  // added when the wait ends
    release.set_value();
    holder.join();
    EXPECT_EQ(waiter.get(), 5);
    EXPECT_EQ(database->Pool().wait_timeouts, 0);
    EXPECT_EQ(database->Pool().waiting, 0);
    EXPECT_GT(database->Pool().wait_seconds, 0);
}

TEST_F(PostgresTest, ParametersAreCheckedBeforeTheyAreSent) {
    Database& database = **admin_;
    EXPECT_THROW(database.Read([](Connection& c) { c.QueryInt("SELECT ?", {}); }), DbError);
    EXPECT_THROW(database.Read([](Connection& c) { c.QueryInt("SELECT 1", {std::int64_t{1}}); }), DbError);
    // A NUL would cut the text short on the wire: refused instead of stored truncated.
    EXPECT_THROW(database.Write([](Connection& c) {
        c.Execute("INSERT INTO items (name) VALUES (?)", {std::string("before\0after", 12)});
    }),
                 DbError);
    EXPECT_EQ(database.Read([](Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM items"); }), 0);
}

TEST_F(PostgresTest, TheObserverTimesEveryStatement) {
    std::atomic<int> observed{0};
    std::unique_ptr<Database> database = OpenPool(1, milliseconds(5000), milliseconds(10000), [&](double seconds) {
        EXPECT_GE(seconds, 0.0);
        ++observed;
    });
    database->Write([](Connection& c) {
        c.Execute("INSERT INTO items (name) VALUES ('a')");
        c.QueryInt("SELECT COUNT(*) FROM items");
    });
    EXPECT_EQ(observed.load(), 2);
}

// The statements prepared on a pool's one connection whose text starts with prefix.
std::int64_t Prepared(Database& database, const std::string& prefix) {
    return database.Read([&](Connection& c) {
        return c.QueryInt("SELECT COUNT(*) FROM pg_prepared_statements WHERE starts_with(statement, ?)", {prefix});
    });
}

TEST_F(PostgresTest, AStatementIsPreparedOnceAndRunByNameAfterThat) {
    std::unique_ptr<Database> database = OpenPool(1);
    for (int i = 0; i < 3; ++i) {
        database->Write(
            [&](Connection& c) { c.Execute("INSERT INTO items (name) VALUES (?)", {"item " + std::to_string(i)}); });
    }
    EXPECT_EQ(Prepared(*database, "INSERT INTO items"), 1);
    EXPECT_EQ(database->Read([](Connection& c) { return c.QueryInt("SELECT COUNT(*) FROM items"); }), 3);
}

TEST_F(PostgresTest, OneStatementWithParametersOfOtherTypesIsPreparedForEachAndAnswersAlike) {
    std::unique_ptr<Database> database = OpenPool(1);
    auto text_of = [&](const Value& v) {
        std::string out;
        database->Read([&](Connection& c) {
            c.Query("SELECT COALESCE(CAST(? AS TEXT), 'none')", {v}, [&](const Row& r) { out = r.Text(0); });
        });
        return out;
    };
    for (int round = 0; round < 2; ++round) {
        EXPECT_EQ(text_of(std::int64_t{42}), "42");
        EXPECT_EQ(text_of(std::string("forty-two")), "forty-two");
        EXPECT_EQ(text_of(nullptr), "none");
        EXPECT_EQ(text_of(2.5), "2.5");
    }
    // Integers and reals go typed; text and NULL both go untyped, so they share one.
    EXPECT_EQ(Prepared(*database, "SELECT COALESCE"), 3);
}

TEST_F(PostgresTest, TheStatementsAConnectionKeepsPreparedAreBoundedAndEvictedOnesRunAgain) {
    std::unique_ptr<Database> database = OpenPool(1);
    const int distinct = static_cast<int>(kPreparedStatementsPerConnection) + 50;
    database->Read([&](Connection& c) {
        for (int i = 0; i < distinct; ++i) {
            EXPECT_EQ(c.QueryInt("SELECT CAST(? AS BIGINT) + " + std::to_string(i), {std::int64_t{1}}), i + 1);
        }
        // The first ones were deallocated to make room; they are prepared again.
        EXPECT_EQ(c.QueryInt("SELECT CAST(? AS BIGINT) + 0", {std::int64_t{1}}), 1);
        EXPECT_EQ(c.QueryInt("SELECT COUNT(*) FROM pg_prepared_statements"),
                  static_cast<std::int64_t>(kPreparedStatementsPerConnection));
    });
}

TEST_F(PostgresTest, AStatementWhoseResultChangedShapeFailsOnceAndIsPreparedAgain) {
    std::unique_ptr<Database> database = OpenPool(1);
    (*admin_)->Write([](Connection& c) { c.Execute("INSERT INTO items (name) VALUES ('a')"); });
    auto rows = [&] {
        int n = 0;
        database->Read([&](Connection& c) { c.Query("SELECT * FROM items", {}, [&](const Row&) { ++n; }); });
        return n;
    };
    EXPECT_EQ(rows(), 1);
    (*admin_)->Write([](Connection& c) { c.Execute("ALTER TABLE items ADD COLUMN note TEXT"); });
    // PostgreSQL refuses to run a prepared statement whose result has other columns now; the
    // statement is forgotten with that, so the next run prepares it anew and succeeds.
    EXPECT_THROW(rows(), DbError);
    EXPECT_EQ(rows(), 1);
    // The stale statement was deallocated once the new one was prepared: one left, not two.
    EXPECT_EQ(Prepared(*database, "SELECT * FROM items"), 1);
}

}  // namespace
}  // namespace emporium::db
