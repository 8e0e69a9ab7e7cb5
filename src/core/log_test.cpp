#include "core/log.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

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
