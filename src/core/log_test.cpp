#include "core/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace emporium {
namespace {

// Points standard error at /dev/null for the test's life: the log writes to it directly.
class QuietStderr {
public:
    QuietStderr() : saved_(::dup(STDERR_FILENO)) {
        const int null = ::open("/dev/null", O_WRONLY);
        ::dup2(null, STDERR_FILENO);
        ::close(null);
    }
    ~QuietStderr() {
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
    }
    QuietStderr(const QuietStderr&) = delete;
    QuietStderr& operator=(const QuietStderr&) = delete;

private:
    int saved_;
};

// Points standard error at a new temporary file for the test's life.
class StderrToFile {
public:
    StderrToFile() : saved_(::dup(STDERR_FILENO)) {
        char name[] = "/tmp/emporium-log-test.XXXXXX";
        const int fd = ::mkstemp(name);
        path_ = name;
        ::dup2(fd, STDERR_FILENO);
        ::close(fd);
    }
    ~StderrToFile() {
        ::dup2(saved_, STDERR_FILENO);
        ::close(saved_);
        std::remove(path_.c_str());
    }
    StderrToFile(const StderrToFile&) = delete;
    StderrToFile& operator=(const StderrToFile&) = delete;

    std::vector<std::string> Lines() const {
        std::ifstream in(path_);
        std::vector<std::string> lines;
        for (std::string line; std::getline(in, line);) lines.push_back(line);
        return lines;
    }

private:
    int saved_;
    std::string path_;
};

TEST(LogFieldsTest, FiguresAreJsonWithThreeDecimalsAndNoneIsNotANumber) {
    const std::string line = LogFields("m")
                                 .Add("ms", 1.23456)
                                 .Add("zero", 0.0)
                                 .Add("big", 12345678.9)
                                 .Add("small", -0.0004)
                                 .Add("nan", std::nan(""))
                                 .Add("inf", HUGE_VAL)
                                 .Add("count", 42LL)
                                 .str();
    EXPECT_EQ(
        line,
        R"("msg":"m","ms":1.235,"zero":0.000,"big":12345678.900,"small":-0.000,"nan":null,"inf":null,"count":42)");
}

// Under load the log's thread writes batches and lingers between them (log.cpp): every line of a
// burst from several threads still arrives, whole, and each thread's in its order.
TEST(LogTest, EveryLineOfABurstArrivesWholeAndInOrder) {
    StderrToFile out;
    constexpr int kThreads = 2;
    constexpr int kLines = 20000;
    {
        Logger logger = MakeLogger("info");
        LogThreadJoin join;
        std::vector<std::thread> threads;
        threads.reserve(kThreads);
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&logger, t] {
                for (int i = 0; i < kLines; ++i) {
                    LogInfo(logger, LogFields("burst")
                                        .Add("thread", static_cast<long long>(t))
                                        .Add("i", static_cast<long long>(i)));
                }
            });
        }
        for (std::thread& thread : threads) thread.join();
    }
    std::vector<int> next(kThreads, 0);
    int seen = 0;
    for (const std::string& line : out.Lines()) {
        int thread = -1;
        int i = -1;
        const auto at = line.find("\"msg\":\"burst\",\"thread\":");
        ASSERT_NE(at, std::string::npos) << line;
        ASSERT_EQ(std::sscanf(line.c_str() + at, "\"msg\":\"burst\",\"thread\":%d,\"i\":%d}", &thread, &i), 2) << line;
        ASSERT_GE(thread, 0);
        ASSERT_LT(thread, kThreads);
        EXPECT_EQ(i, next[thread]) << line;
        next[thread] = i + 1;
        ++seen;
    }
    EXPECT_EQ(seen, kThreads * kLines);
}

// An idle shop's line goes out by itself, without a flush or the end of logging, even right after
// a burst (after which the log's thread lingers).
TEST(LogTest, ALineAfterABurstGoesOutWithoutAFlush) {
    StderrToFile out;
    Logger logger = MakeLogger("info");
    LogThreadJoin join;
    for (int i = 0; i < 5000; ++i) LogInfo(logger, LogFields("burst"));
    LogInfo(logger, LogFields("alone"));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool arrived = false;
    while (!arrived && std::chrono::steady_clock::now() < deadline) {
        const std::vector<std::string> lines = out.Lines();
        arrived = !lines.empty() && lines.back().find("\"msg\":\"alone\"") != std::string::npos;
        if (!arrived) std::this_thread::yield();
    }
    EXPECT_TRUE(arrived);
}

// A process that logs and ends at once (serve with a bad setting) ends logging while the log's
// thread is still writing. The thread once held the last reference to its own pool at that moment,
// whose destructor then joined the thread from itself: std::terminate, exit status 134 instead of 2.
TEST(LogThreadJoinTest, EndingLoggingWhileLinesAreBeingWrittenIsClean) {
    QuietStderr quiet;
    for (int round = 0; round < 500; ++round) {
        Logger logger = MakeLogger("info");
        LogThreadJoin join;
        for (int line = 0; line < 8; ++line)
            LogInfo(logger, LogFields("line").Add("round", static_cast<long long>(round)));
    }
    SUCCEED();  // the failure this guards against ends the whole program
}

}  // namespace
}  // namespace emporium
