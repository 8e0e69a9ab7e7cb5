#include "events/queue_watch.h"

namespace emporium::events {

QueueWatch::QueueWatch(AmqpSettings settings, std::chrono::seconds interval, Logger logger)
    : settings_(std::move(settings)), interval_(interval), logger_(std::move(logger)) {}

QueueWatch::~QueueWatch() {
    Stop();
}

void QueueWatch::Poll() {
    Result<std::vector<QueueStats>> stats = ReadQueueStats(settings_);
    std::lock_guard lock(mutex_);
    if (stats.ok()) {
        last_ = {true, std::move(*stats)};
    } else {
        if (last_.ok) LogWarn(logger_, LogFields("queue depths unreadable").Add("error", stats.error().message));
        last_.ok = false;
    }
}

void QueueWatch::Start() {
    thread_ = std::thread([this] {
        for (;;) {
            Poll();
            std::unique_lock lock(mutex_);
            if (wake_.wait_for(lock, interval_, [this] { return stopping_; })) return;
        }
    });
}

void QueueWatch::Stop() {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

QueueWatch::Reading QueueWatch::Last() const {
    std::lock_guard lock(mutex_);
    return last_;
}

}  // namespace emporium::events
