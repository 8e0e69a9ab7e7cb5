#include "ops/pg_tools.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

namespace emporium::ops::pg {
namespace {

// A descriptor the shop holds without close-on-exec (as Asio holds its sockets) does not reach the
// program: were it a listening socket, a shop restarted while the program ran could not bind.
TEST(RunToolTest, TheProgramInheritsOnlyItsStandardDescriptors) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM, 0, pair), 0);
    const int held = ::dup2(pair[0], 900);
    ASSERT_EQ(held, 900);
    std::vector<std::string> fds;
    const ToolRun run = RunTool("ls", {"/proc/self/fd"}, "", std::chrono::seconds(20),
                                [&](std::string_view line) { fds.emplace_back(line); });
    ::close(held);
    ::close(pair[0]);
    ::close(pair[1]);
    ASSERT_TRUE(run.ok) << run.error;
    EXPECT_EQ(std::count(fds.begin(), fds.end(), "900"), 0);
    // Its own three, and the directory ls reads: nothing more.
    EXPECT_LE(fds.size(), 4U) << ::testing::PrintToString(fds);
    EXPECT_EQ(std::count(fds.begin(), fds.end(), "0") + std::count(fds.begin(), fds.end(), "1") +
                  std::count(fds.begin(), fds.end(), "2"),
              3);
}

}  // namespace
}  // namespace emporium::ops::pg
