// Restarts and upgrades that no client notices: a serving process hands its listening sockets to
// a new process of the binary on disk, waits until that one says it is ready, then drains and
// exits. The same sockets may come from systemd's socket activation instead (sd_listen_fds).
//
// The protocol is systemd's: the sockets are file descriptors 3, 4, ... in the new process,
// named by LISTEN_FDNAMES ("public:internal"), counted by LISTEN_FDS, meant for LISTEN_PID. A
// successor says it is ready by writing to the pipe named by EMPORIUM_READY_FD and, under
// systemd, by sd_notify("READY=1\nMAINPID=..."), so that systemd follows the new main process.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "core/result.h"

namespace emporium::handoff {

// A listening socket this process was given, and the name it was given under.
struct InheritedSocket {
    std::string name;
    int fd = -1;
};

// What this process was given at start by a predecessor or by systemd.
struct Inheritance {
    std::vector<InheritedSocket> sockets;  // LISTEN_FDS meant for this pid, each close-on-exec
    int lock_fd = -1;                      // the data directory's lock (EMPORIUM_LOCK_FD), already held
    int ready_fd = -1;                     // where a waiting predecessor hears "ready" (EMPORIUM_READY_FD)
    // A predecessor started this process and still runs: it holds its jobs' leases until it drains.
    bool predecessor = false;
};

// Reads what this process was given and removes the variables from the environment, so that a
// later child never takes them for its own. Call once, before any thread starts.
Inheritance TakeInheritance();

// The inherited socket named `name` that is a listening TCP socket, removed from `sockets`; -1
// when there is none (the caller binds a new one). Sockets of one name are taken in order.
int TakeSocket(std::vector<InheritedSocket>& sockets, const std::string& name);

// What a successor is started with.
struct Successor {
    std::string binary;                    // the program on disk now (an upgrade replaced it)
    std::vector<std::string> args;         // argv[1...]
    std::vector<InheritedSocket> sockets;  // passed as fds 3, 4, ... in this order
    // Passed on as well, under EMPORIUM_LOCK_FD: the data directory's lock, so that the successor
    // holds it from its first moment and nothing else can take it between the two processes.
    int lock_fd = -1;
    std::chrono::milliseconds ready_timeout{60000};
};

// Starts the successor and waits until it says it is ready. Ok(pid) once it has; an error when
// it exits first, cannot be started or is not ready in time (then it is killed). Either way this
// process keeps its own sockets: it drains only after Ok. Safe to call from any thread.
Result<int> StartSuccessor(const Successor& successor);

// Tells whoever started this process that it serves now: a predecessor waiting in
// StartSuccessor (through inheritance.ready_fd, closed after), and systemd (READY=1 and this pid
// as the service's main process). Does nothing more for a process started some other way.
void NotifyReady(Inheritance& inheritance);

}  // namespace emporium::handoff
