#include "handoff/handoff.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <unistd.h>

namespace emporium::handoff {
namespace {

// A listening TCP socket on a free loopback port, closed with the fixture.
class Listening {
public:
    Listening() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
        sockaddr_in address{};
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
        EXPECT_EQ(::listen(fd_, 16), 0);
        socklen_t size = sizeof address;
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&address), &size);
        port_ = ntohs(address.sin_port);
    }
    ~Listening() { ::close(fd_); }
    Listening(const Listening&) = delete;
    Listening& operator=(const Listening&) = delete;
    int fd() const { return fd_; }
    int port() const { return port_; }

private:
    int fd_;
    int port_ = 0;
};

// Connects to the port and reads what the other side sends until it closes.
std::string ReadFrom(int port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(static_cast<std::uint16_t>(port));
    std::string text;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
        char buffer[256];
        ssize_t n = 0;
        while ((n = ::read(fd, buffer, sizeof buffer)) > 0) text.append(buffer, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return text;
}

Successor Python(std::string script, std::vector<InheritedSocket> sockets, int lock_fd = -1) {
    return {
        "/usr/bin/python3", {"-c", std::move(script)}, std::move(sockets), lock_fd, std::chrono::milliseconds(20000)};
}

// The successor gets the sockets at 3, 4, ... under systemd's variables (LISTEN_PID its own pid,
// as sd_listen_fds demands) and the lock at the fd after the ready pipe; it is ready when it says
// so, and then serves the very socket the parent listened on.
TEST(Handoff, TheSuccessorGetsTheSocketsAndTheLockAndIsReadyWhenItSaysSo) {
    Listening public_socket;
    Listening internal_socket;
    const std::string lock_path = ::testing::TempDir() + "handoff-" + std::to_string(::getpid()) + ".lock";
    const int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ASSERT_EQ(::flock(lock_fd, LOCK_EX | LOCK_NB), 0);
    const std::string script = R"(
import fcntl, os, socket, sys
env = os.environ
if env["LISTEN_PID"] != str(os.getpid()) or env["LISTEN_FDS"] != "2" or env["LISTEN_FDNAMES"] != "public:internal":
    sys.exit(3)
if env["EMPORIUM_READY_FD"] != "5" or env["EMPORIUM_LOCK_FD"] != "6":
    sys.exit(4)
fcntl.flock(6, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the parent's lock, shared: no wait
public = socket.socket(fileno=3)
os.write(5, b"R")
connection, _ = public.accept()
connection.sendall(b"served by the successor")
connection.close()
)";
    Result<int> started =
        StartSuccessor(Python(script, {{"public", public_socket.fd()}, {"internal", internal_socket.fd()}}, lock_fd));
    ASSERT_TRUE(started.ok()) << started.error().message;
    EXPECT_GT(started.value(), 0);
    EXPECT_EQ(ReadFrom(public_socket.port()), "served by the successor");
    ::close(lock_fd);
    ::unlink(lock_path.c_str());
}

TEST(Handoff, ASuccessorThatExitsBeforeItIsReadyIsAnErrorAndTheParentKeepsItsSocket) {
    Listening socket;
    Result<int> started = StartSuccessor(Python("import sys; sys.exit(5)", {{"public", socket.fd()}}));
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().message.find("exit code 5"), std::string::npos) << started.error().message;
    EXPECT_EQ(::listen(socket.fd(), 16), 0);  // still ours and open
}

TEST(Handoff, ASuccessorNotReadyInTimeIsKilled) {
    Listening socket;
    Successor slow = Python("import time; time.sleep(600)", {{"public", socket.fd()}});
    slow.ready_timeout = std::chrono::milliseconds(300);
    Result<int> started = StartSuccessor(slow);
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().message.find("not ready"), std::string::npos) << started.error().message;
}

TEST(Handoff, AMissingBinaryIsAnError) {
    Result<int> started = StartSuccessor({"/nonexistent/emporium", {}, {}, -1, std::chrono::milliseconds(5000)});
    ASSERT_FALSE(started.ok());
    EXPECT_NE(started.error().message.find("exit code 127"), std::string::npos) << started.error().message;
}

TEST(Handoff, TakeSocketPicksTheListeningSocketOfThatNameOnly) {
    Listening listening;
    const int plain = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);  // not listening
    std::vector<InheritedSocket> sockets{{"public", plain}, {"internal", listening.fd()}, {"public", listening.fd()}};
    EXPECT_EQ(TakeSocket(sockets, "public"), listening.fd());
    EXPECT_EQ(TakeSocket(sockets, "public"), -1);
    EXPECT_EQ(TakeSocket(sockets, "internal"), listening.fd());
    EXPECT_EQ(TakeSocket(sockets, "tls"), -1);
    ASSERT_EQ(sockets.size(), 1u);
    EXPECT_EQ(sockets[0].fd, plain);
    ::close(plain);
}

TEST(Handoff, WithoutAPredecessorOrSystemdNothingIsInherited) {
    Inheritance inheritance = TakeInheritance();
    EXPECT_TRUE(inheritance.sockets.empty());
    EXPECT_EQ(inheritance.lock_fd, -1);
    EXPECT_FALSE(inheritance.predecessor);
    NotifyReady(inheritance);  // nobody listens: nothing happens
}

}  // namespace
}  // namespace emporium::handoff
