// The broker's queue depths, read every few seconds on a thread of its own, for /metrics: a
// scrape answers from memory and never waits on the broker. These are the figures an autoscaler
// or a dashboard reads (deploy/k8s: KEDA reads RabbitMQ itself; a Prometheus-based scaler, the
// alert rules and people read these).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <vector>

#include "core/log.h"
#include "events/rabbitmq.h"

namespace emporium::events {

class QueueWatch {
public:
    QueueWatch(AmqpSettings settings, std::chrono::seconds interval, Logger logger);
    ~QueueWatch();
    QueueWatch(const QueueWatch&) = delete;
    QueueWatch& operator=(const QueueWatch&) = delete;

    void Start();
    void Stop();

    struct Reading {
        bool ok = false;                 // the last attempt reached the broker
        std::vector<QueueStats> queues;  // from the last successful reading, in StandardQueues order
    };
    Reading Last() const;

    // Reads the broker once now (the thread calls it every interval).
    void Poll();

private:
    AmqpSettings settings_;
    std::chrono::seconds interval_;
    Logger logger_;
    mutable std::mutex mutex_;  // guards last_, stopping_
    std::condition_variable wake_;
    Reading last_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace emporium::events
