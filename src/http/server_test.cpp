#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>

#include "core/log.h"
#include "db/database.h"
#include "http/client.h"
#include "http/router.h"

namespace emporium::http {
namespace {

// A real server on a loopback port with one worker, served from its own thread.
class ServerTest : public ::testing::Test {
protected:
    void Start(ServerOptions options) {
        server_ = std::make_unique<Server>(std::move(options), MakeLogger("off"), nullptr);
        port_ = server_->Listen({"public", "127.0.0.1", 0, &router_, true, "", ""});
        runner_ = std::thread([this] { server_->Run(); });
    }
    void TearDown() override {
        release_.set_value();
        if (server_) {
            server_->Stop();
            runner_.join();
        }
    }

    HttpAnswer Get(const std::string& path) {
        HttpCall call;
        call.method = "GET";
        call.url = "http://127.0.0.1:" + std::to_string(port_) + path;
        return Perform(call);
    }
    // Polls the server's own count: no request is assumed to have arrived after some delay.
    void WaitForInFlight(std::int64_t n) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        while (server_->in_flight() < n) {
            ASSERT_LT(std::chrono::steady_clock::now(), deadline) << "in flight: " << server_->in_flight();
            std::this_thread::yield();
        }
    }

    Router router_;
    std::promise<void> held_;     // set when /hold has its worker
    std::promise<void> release_;  // lets /hold finish
    std::unique_ptr<Server> server_;
    std::uint16_t port_ = 0;
    std::thread runner_;
};

// max_in_flight counts the public listeners' requests only: a scrape or probe held on the internal
// listener never gets a shopper shed.
TEST_F(ServerTest, InternalRequestsDoNotCountTowardsPublicShedding) {
    std::shared_future<void> release = release_.get_future().share();
    Router internal;
    internal.Get("/internal/hold", [this, release](const Request&) {
        held_.set_value();
        release.wait();
        return Response::Json(200, "{}");
    });
    router_.Get("/work", [](const Request&) { return Response::Json(200, "{}"); });
    ServerOptions options;
    options.worker_threads = 2;
    options.max_in_flight = 1;
    server_ = std::make_unique<Server>(std::move(options), MakeLogger("off"), nullptr);
    port_ = server_->Listen({"public", "127.0.0.1", 0, &router_, true, "", ""});
    const std::uint16_t internal_port = server_->Listen({"internal", "127.0.0.1", 0, &internal, false, "", ""});
    runner_ = std::thread([this] { server_->Run(); });

    std::future<HttpAnswer> holder = std::async(std::launch::async, [internal_port] {
        HttpCall call;
        call.method = "GET";
        call.url = "http://127.0.0.1:" + std::to_string(internal_port) + "/internal/hold";
        return Perform(call);
    });
    held_.get_future().wait();
    EXPECT_EQ(Get("/work").status, 200);  // one public request in flight: within max_in_flight
    release_.set_value();
    release_ = std::promise<void>();
    EXPECT_EQ(holder.get().status, 200);
}

TEST_F(ServerTest, ShedsWorkWhileTheWorkersAreBehindButNeverInlineAnswers) {
    std::shared_future<void> release = release_.get_future().share();
    router_.Get("/hold", [this, release](const Request&) {
        held_.set_value();
        release.wait();
        return Response::Json(200, "{\"held\":true}");
    });
    router_.Get("/work", [](const Request&) { return Response::Json(200, "{}"); });
    router_.Add({"GET", "/inline", [](const Request&) { return Response::Json(200, "{}"); }, {}, true});
    ServerOptions options;
    // One I/O thread: a request counted in flight has also joined the worker queue before the
    // thread reads the next one, so the third request below surely finds the second waiting.
    options.io_threads = 1;
    options.worker_threads = 1;
    options.max_queue_wait = std::chrono::milliseconds(0);  // any wait at all is too long here
    Start(options);

    std::future<HttpAnswer> holder = std::async(std::launch::async, [this] { return Get("/hold"); });
    held_.get_future().wait();
    std::future<HttpAnswer> queued = std::async(std::launch::async, [this] { return Get("/work"); });
    WaitForInFlight(2);  // the second one is waiting for the only worker

    // The gauge grows while the second request waits.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (server_->worker_queue_wait().count() == 0) {
        ASSERT_LT(std::chrono::steady_clock::now(), deadline);
        std::this_thread::yield();
    }
    HttpAnswer shed = Get("/work");
    EXPECT_EQ(shed.status, 503);
    EXPECT_NE(shed.body.find("\"overloaded\""), std::string::npos) << shed.body;
    ASSERT_TRUE(shed.retry_after.has_value());
    EXPECT_EQ(shed.retry_after->count(), 1);
    EXPECT_EQ(Get("/inline").status, 200);  // needs no worker: never shed for their queue

    release_.set_value();
    release_ = std::promise<void>();
    EXPECT_EQ(holder.get().status, 200);
    EXPECT_EQ(queued.get().status, 200);  // admitted work is finished, not dropped
    EXPECT_EQ(Get("/work").status, 200);  // the queue is empty again: work is taken
    EXPECT_EQ(server_->worker_queue_wait().count(), 0);
}

TEST_F(ServerTest, HeavyRoutesRunWhereRunHeavySaysOrGet503) {
    std::atomic<int> handled{0};
    Route hash{"GET", "/hash", [&](const Request&) {
                   ++handled;
                   return Response::Json(200, "{\"hashed\":true}");
               }};
    hash.heavy = true;
    router_.Add(std::move(hash));
    std::atomic<bool> refuse{false};
    std::mutex jobs_mutex;
    std::vector<std::thread> jobs;  // guarded by jobs_mutex
    ServerOptions options;
    options.run_heavy = [&](std::function<void()> job) {
        if (refuse) return false;
        std::lock_guard lock(jobs_mutex);
        jobs.emplace_back(std::move(job));
        return true;
    };
    Start(options);

    HttpAnswer hashed = Get("/hash");
    EXPECT_EQ(hashed.status, 200);
    EXPECT_EQ(hashed.body, "{\"hashed\":true}");
    refuse = true;
    HttpAnswer shed = Get("/hash");
    EXPECT_EQ(shed.status, 503);
    EXPECT_EQ(shed.retry_after, std::chrono::seconds(1));
    EXPECT_EQ(handled.load(), 1);  // the shed one never ran
    std::lock_guard lock(jobs_mutex);
    EXPECT_EQ(jobs.size(), 1u);
    for (std::thread& t : jobs) t.join();
}

TEST_F(ServerTest, ManyHeavyRequestsAtOnceAllAnswer) {
    // Each on its own connection and answered from a thread of its own: every hand-back to a
    // connection's strand wakes the right request, whatever order they finish in.
    Route hash{"GET", "/hash",
               [](const Request& r) { return Response::Json(200, "{\"id\":\"" + r.request_id + "\"}"); }};
    hash.heavy = true;
    router_.Add(std::move(hash));
    std::mutex jobs_mutex;
    std::vector<std::thread> jobs;  // guarded by jobs_mutex
    ServerOptions options;
    options.io_threads = 2;
    options.run_heavy = [&](std::function<void()> job) {
        std::lock_guard lock(jobs_mutex);
        jobs.emplace_back(std::move(job));
        return true;
    };
    Start(options);
    std::vector<std::future<HttpAnswer>> answers;
    answers.reserve(100);
    for (int i = 0; i < 100; ++i) answers.push_back(std::async(std::launch::async, [this] { return Get("/hash"); }));
    for (auto& a : answers) EXPECT_EQ(a.get().status, 200);
    std::lock_guard lock(jobs_mutex);
    for (std::thread& t : jobs) t.join();
}

TEST_F(ServerTest, WaitingWithinTheLimitIsNotShed) {
    std::shared_future<void> release = release_.get_future().share();
    router_.Get("/hold", [this, release](const Request&) {
        held_.set_value();
        release.wait();
        return Response::Json(200, "{}");
    });
    router_.Get("/work", [](const Request&) { return Response::Json(200, "{}"); });
    ServerOptions options;
    options.io_threads = 1;
    options.worker_threads = 1;
    options.max_queue_wait = std::chrono::minutes(10);
    Start(options);

    std::future<HttpAnswer> holder = std::async(std::launch::async, [this] { return Get("/hold"); });
    held_.get_future().wait();
    std::vector<std::future<HttpAnswer>> waiting;
    waiting.reserve(20);
    for (int i = 0; i < 20; ++i) waiting.push_back(std::async(std::launch::async, [this] { return Get("/work"); }));
    WaitForInFlight(21);
    release_.set_value();
    release_ = std::promise<void>();
    EXPECT_EQ(holder.get().status, 200);
    for (auto& w : waiting) EXPECT_EQ(w.get().status, 200);
}

// The handlers' one way out for a database in trouble: whatever route throws it, the client
// gets 503 with Retry-After, never 500.
TEST_F(ServerTest, AHandlerWhoseDatabaseIsUnavailableAnswers503WithRetryAfter) {
    router_.Get("/timeout", [](const Request&) -> Response {
        throw db::DbError(db::DbError::Kind::kBusy, "canceling statement due to statement timeout (SQLSTATE 57014)");
    });
    router_.Get("/gone", [](const Request&) -> Response {
        throw db::DbError(db::DbError::Kind::kConnection, "server closed the connection unexpectedly");
    });
    router_.Get("/bug", [](const Request&) -> Response { throw std::logic_error("a bug"); });
    Start(ServerOptions{});
    for (const char* path : {"/timeout", "/gone"}) {
        HttpAnswer a = Get(path);
        EXPECT_EQ(a.status, 503) << path;
        EXPECT_NE(a.body.find("\"database_unavailable\""), std::string::npos) << a.body;
        ASSERT_TRUE(a.retry_after) << path;
        EXPECT_EQ(a.retry_after->count(), 1);
    }
    HttpAnswer bug = Get("/bug");
    EXPECT_EQ(bug.status, 500);
    EXPECT_FALSE(bug.retry_after);
}

// A streamed body arrives whole when its maker finishes, and cut off (never as a shorter answer
// that looks complete) when its maker fails half way.
TEST_F(ServerTest, AStreamedBodyThatFailsHalfWayIsCutOff) {
    auto rows = [](bool fail) {
        Response r;
        r.status = 200;
        r.headers.emplace_back("Content-Type", "text/csv");
        r.stream = [fail, n = 0](std::string& out) mutable {
            if (n == 2 && fail) throw std::runtime_error("the database went away");
            out += "row " + std::to_string(n) + "\r\n";
            return ++n < 3;
        };
        return r;
    };
    router_.Get("/whole", [rows](const Request&) { return rows(false); });
    router_.Get("/broken", [rows](const Request&) { return rows(true); });
    Start(ServerOptions{});

    HttpAnswer whole = Get("/whole");
    EXPECT_EQ(whole.status, 200);
    EXPECT_EQ(whole.body, "row 0\r\nrow 1\r\nrow 2\r\n");
    HttpAnswer broken = Get("/broken");
    EXPECT_EQ(broken.status, 0) << broken.body;
    EXPECT_FALSE(broken.error.empty());
    EXPECT_EQ(Get("/whole").status, 200);  // the server goes on serving
}

}  // namespace
}  // namespace emporium::http
