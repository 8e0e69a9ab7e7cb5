#include "redis/client.h"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <sstream>
#include <thread>

#include "redis/testing.h"

namespace emporium::redis {
namespace {

using std::chrono::milliseconds;

struct CapturedLog {
    std::ostringstream text;
    Logger logger = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_mt>(text));
};

TEST(RedisUrl, ParsesEveryPart) {
    std::string error;
    std::optional<Url> url = ParseUrl("redis://shop:s%40cret@cache.internal:6380/3", &error);
    ASSERT_TRUE(url) << error;
    EXPECT_EQ(url->host, "cache.internal");
    EXPECT_EQ(url->port, 6380);
    EXPECT_EQ(url->database, 3);
    EXPECT_EQ(url->username, "shop");
    EXPECT_EQ(url->password, "s@cret");
    EXPECT_EQ(url->Redacted(), "redis://cache.internal:6380/3");

    url = ParseUrl("redis://:pw@127.0.0.1", &error);
    ASSERT_TRUE(url) << error;
    EXPECT_EQ(url->port, 6379);
    EXPECT_EQ(url->database, 0);
    EXPECT_EQ(url->username, "");
    EXPECT_EQ(url->password, "pw");

    url = ParseUrl("redis://[::1]:7000/", &error);
    ASSERT_TRUE(url) << error;
    EXPECT_EQ(url->host, "::1");
    EXPECT_EQ(url->Redacted(), "redis://[::1]:7000/0");
}

TEST(RedisUrl, RefusesWhatItCannotUseWithoutRepeatingThePassword) {
    for (const char* bad : {"http://host:6379", "rediss://host", "redis://:hunter2@host:0", "redis://:hunter2@host/16",
                            "redis://:hunter2@host/x", "redis://host?db=1", "redis://", "not a url"}) {
        std::string error;
        EXPECT_FALSE(ParseUrl(bad, &error)) << bad;
        EXPECT_FALSE(error.empty()) << bad;
        EXPECT_EQ(error.find("hunter2"), std::string::npos) << error;
    }
}

TEST(RedisClient, RunsBinarySafeCommands) {
    TestServer server;
    CapturedLog log;
    Client client(server.parsed(), TestOptions(), log.logger);
    client.Start();
    ASSERT_TRUE(WaitFor([&] { return client.Figures().up; }));
    const std::string value("a\0b\x1e\xff", 5);
    ASSERT_TRUE(client.Command({"SET", "k", value}).ok());
    Outcome got = client.Command({"GET", "k"});
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got.reply.type, Reply::Type::kString);
    EXPECT_EQ(got.reply.text, value);
    EXPECT_EQ(client.Command({"GET", "missing"}).reply.type, Reply::Type::kNil);
    Outcome wrong = client.Command({"INCR", "k"});
    EXPECT_EQ(wrong.failure, Failure::kReply);
    EXPECT_TRUE(client.commands_up());  // an error reply is not a broken connection
    EXPECT_EQ(client.Figures().reply_errors, 1u);
}

TEST(RedisClient, AuthenticatesSelectsItsDatabaseAndNeverLogsThePassword) {
    TestServer server("pw-7f3a9c");
    Url url = server.parsed();
    url.database = 3;
    CapturedLog log;
    Client client(url, TestOptions(), log.logger);
    client.Start();
    ASSERT_TRUE(WaitFor([&] { return client.Figures().up; }));
    ASSERT_TRUE(client.Command({"SET", "in-three", "1"}).ok());

    Client other(server.parsed(), TestOptions(), log.logger);  // database 0
    other.Start();
    ASSERT_TRUE(WaitFor([&] { return other.Figures().up; }));
    EXPECT_EQ(other.Command({"EXISTS", "in-three"}).reply.integer, 0);

    Url wrong = server.parsed();
    wrong.password = "not-the-pw-1b2c";
    Client refused(wrong, TestOptions(), log.logger);
    refused.Start();
    ASSERT_TRUE(WaitFor([&] { return refused.Figures().reply_errors > 0; }));
    EXPECT_FALSE(refused.Figures().up);
    EXPECT_EQ(refused.Command({"PING"}).failure, Failure::kDown);  // nothing is sent while down
    refused.Stop();
    const std::string logged = log.text.str();
    EXPECT_NE(logged.find("WRONGPASS"), std::string::npos) << logged;
    EXPECT_EQ(logged.find("pw-7f3a9c"), std::string::npos) << logged;
    EXPECT_EQ(logged.find("not-the-pw-1b2c"), std::string::npos) << logged;
}

TEST(RedisClient, ACommandTimesOutOnAStalledServerAndLaterOnesFailAtOnce) {
    TestServer server;
    CapturedLog log;
    ClientOptions options = TestOptions();
    options.command_timeout = milliseconds(100);
    Client client(server.parsed(), options, log.logger);
    client.Start();
    ASSERT_TRUE(WaitFor([&] { return client.Figures().up; }));
    server.Pause();
    EXPECT_EQ(client.Command({"PING"}).failure, Failure::kTimeout);
    EXPECT_EQ(client.Figures().timeouts, 1u);
    EXPECT_FALSE(client.commands_up());
    EXPECT_EQ(client.Command({"PING"}).failure, Failure::kDown);
    server.Resume();
    ASSERT_TRUE(WaitFor([&] { return client.Figures().up; }));
    EXPECT_TRUE(client.Command({"PING"}).ok());
}

TEST(RedisClient, ReconnectsResubscribesAndReloadsScriptsAfterARestart) {
    TestServer server;
    CapturedLog log;
    Client client(server.parsed(), TestOptions(), log.logger);
    std::mutex mutex;
    std::vector<std::string> messages, run_ids;
    std::vector<bool> states;
    client.Subscribe({"news",
                      [&](std::string_view m) {
                          std::lock_guard lock(mutex);
                          messages.emplace_back(m);
                      },
                      [&](bool subscribed, std::string_view run_id) {
                          std::lock_guard lock(mutex);
                          states.push_back(subscribed);
                          if (subscribed) run_ids.emplace_back(run_id);
                      }});
    client.Start();
    ASSERT_TRUE(WaitFor([&] { return client.Figures().up; }));
    const Script script("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    EXPECT_EQ(client.Eval(script, {"n"}, {"2"}).reply.integer, 2);

    server.Kill();
    ASSERT_TRUE(WaitFor([&] { return !client.Figures().up; }));
    EXPECT_FALSE(client.Eval(script, {"n"}, {"2"}).ok());
    server.Restart();
    ASSERT_TRUE(WaitFor([&] { return client.Figures().up; }));

    // The restarted server knows no scripts and no keys: EVALSHA's NOSCRIPT is answered by a load.
    EXPECT_EQ(client.Eval(script, {"n"}, {"5"}).reply.integer, 5);
    EXPECT_GE(client.Figures().reconnects, 1u);
    ASSERT_TRUE(client.Command({"PUBLISH", "news", "after restart"}).ok());
    ASSERT_TRUE(WaitFor([&] {
        std::lock_guard lock(mutex);
        return !messages.empty();
    }));
    std::lock_guard lock(mutex);
    EXPECT_EQ(messages, std::vector<std::string>{"after restart"});
    ASSERT_GE(states.size(), 3u);
    EXPECT_EQ(states[0], true);
    EXPECT_EQ(states[1], false);
    EXPECT_EQ(states.back(), true);
    ASSERT_GE(run_ids.size(), 2u);
    EXPECT_EQ(run_ids[0].size(), 40u);
    EXPECT_NE(run_ids.front(), run_ids.back());  // a restart is told apart
}

TEST(RedisClient, ThreadsShareThePoolWithoutLosingCommands) {
    TestServer server;
    CapturedLog log;
    Client client(server.parsed(), TestOptions(), log.logger);  // two connections for four threads
    client.Start();
    ASSERT_TRUE(WaitFor([&] { return client.Figures().up; }));
    std::atomic<int> succeeded{0};
    std::vector<std::thread> threads;
    threads.reserve(4);
    for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&] {
            for (int i = 0; i < 200; ++i) {
                if (client.Command({"INCR", "counter"}).ok()) ++succeeded;
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_GT(succeeded.load(), 0);
    EXPECT_EQ(client.Command({"GET", "counter"}).reply.text, std::to_string(succeeded.load()));
    EXPECT_EQ(static_cast<std::uint64_t>(800 - succeeded.load()), client.Figures().busy);
}

}  // namespace
}  // namespace emporium::redis
