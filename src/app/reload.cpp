#include "app/reload.h"

#include <filesystem>
#include <fstream>
#include <iterator>

#include "handoff/handoff.h"
#include "ops/backup.h"

namespace emporium::app {
namespace {

// argv[1...] as this process was started with them.
std::vector<std::string> OwnArguments() {
    std::ifstream in("/proc/self/cmdline", std::ios::binary);
    const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<std::string> args;
    std::size_t start = 0;
    while (start < all.size()) {
        std::size_t end = all.find('\0', start);
        if (end == std::string::npos) end = all.size();
        args.push_back(all.substr(start, end - start));
        start = end + 1;
    }
    if (!args.empty()) args.erase(args.begin());
    return args;
}

}  // namespace

Reloader::Reloader(http::Server& server, std::vector<std::string> socket_names, int lock_fd, Logger logger)
    : server_(server),
      socket_names_(std::move(socket_names)),
      lock_fd_(lock_fd),
      logger_(std::move(logger)),
      binary_(std::filesystem::read_symlink("/proc/self/exe").string()),
      args_(OwnArguments()) {}

Reloader::~Reloader() {
    std::lock_guard lock(thread_mutex_);
    if (thread_.joinable()) thread_.join();
}

void Reloader::Begin() {
    if (starting_.exchange(true)) {
        LogInfo(logger_, LogFields("reload ignored").Add("reason", "a new process is starting already"));
        return;
    }
    std::lock_guard lock(thread_mutex_);
    if (thread_.joinable()) thread_.join();  // a failed earlier attempt's thread, long done
    thread_ = std::thread([this] { Run(); });
}

void Reloader::Run() {
    handoff::Successor successor{binary_, args_, {}, lock_fd_, std::chrono::milliseconds(60000)};
    const std::vector<int> fds = server_.ListeningSockets();
    for (std::size_t i = 0; i < fds.size() && i < socket_names_.size(); ++i) {
        successor.sockets.push_back({socket_names_[i], fds[i]});
    }
    LogInfo(logger_, LogFields("reloading").Add("binary", binary_));
    Result<int> started = handoff::StartSuccessor(successor);
    if (!started.ok()) {
        LogError(logger_, LogFields("reload failed").Add("error", started.error().message));
        starting_ = false;
        return;
    }
    LogInfo(logger_, LogFields("handed over").Add("successor_pid", static_cast<long long>(started.value())));
    server_.HandOver();
}

std::string BinaryDigest() {
    try {
        return ops::FileSha256("/proc/self/exe").substr(0, 16);
    } catch (const std::exception&) {
        return "";
    }
}

}  // namespace emporium::app
