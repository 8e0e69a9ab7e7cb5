// Zero-downtime restarts and upgrades of `emporium serve`: on SIGHUP the process starts the
// binary now on disk with the same arguments, hands it the listening sockets and the data
// directory's lock (src/handoff), and drains once the new process says it is ready. If the new
// one fails to start, this one goes on serving as if nothing happened.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/log.h"
#include "http/server.h"

namespace emporium::app {

class Reloader {
public:
    // socket_names name server's listening sockets in the order they were opened; lock_fd is the
    // data directory's lock. Reads this process's own binary path and arguments now, before an
    // upgrade can replace the file.
    Reloader(http::Server& server, std::vector<std::string> socket_names, int lock_fd, Logger logger);
    ~Reloader();  // waits for a successor still starting
    Reloader(const Reloader&) = delete;
    Reloader& operator=(const Reloader&) = delete;

    // Starts a successor on a thread of its own, unless one is starting already; returns at once.
    void Begin();

private:
    void Run();

    http::Server& server_;
    std::vector<std::string> socket_names_;
    int lock_fd_;
    Logger logger_;
    std::string binary_;
    std::vector<std::string> args_;
    std::atomic<bool> starting_{false};
    std::mutex thread_mutex_;
    std::thread thread_;  // guarded by thread_mutex_
};

// The first 16 hex digits of the SHA-256 of this process's binary: which build a node runs,
// for /healthz (an upgrade in place changes it). Empty when the file cannot be read.
std::string BinaryDigest();

}  // namespace emporium::app
