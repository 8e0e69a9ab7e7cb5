// The RabbitMQ bridge for when web nodes and workers run as separate processes.
//
// Web nodes publish outbox events to a durable topic exchange ("emporium.events", routing key =
// event type) as persistent messages with publisher confirms: the dispatcher's "rabbitmq" lane
// advances only past events the broker confirmed, so a broker restart loses nothing. Workers
// consume a durable queue per subscriber with manual acknowledgements, acknowledging only after
// the handler finished; a worker killed mid-message leaves it to be delivered again, and the
// handlers are idempotent by event id.
//
// rabbitmq-c is blocking and sends heartbeats only inside its calls: each publisher and consumer
// owns one connection and runs on one thread of its own.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/log.h"
#include "core/result.h"
#include "events/dispatcher.h"

namespace emporium::tracing {
class Tracer;
}

namespace emporium::events {

inline constexpr std::string_view kExchange = "emporium.events";

// A queue of the topology: its name ("emporium.notify") and the routing keys bound to it.
struct QueueBinding {
    std::string subscriber;             // "notify": the queue is "emporium.notify"
    std::vector<std::string> patterns;  // AMQP topic patterns: "order.*", "#"
};

// The queues every node declares, so that events published before the first worker started
// wait in their queue instead of being dropped by an exchange with no binding.
const std::vector<QueueBinding>& StandardQueues();

struct AmqpSettings {
    std::string url = "amqp://guest:guest@127.0.0.1:5672";  // from EMPORIUM_AMQP_URL (holds a password)
    std::chrono::milliseconds confirm_timeout{10'000};
    int prefetch = 64;
};

// Turns an event into the message body and back (the payload stays raw JSON).
std::string EncodeEvent(const Event& event);
std::optional<Event> DecodeEvent(std::string_view body);

class AmqpPublisher {
public:
    AmqpPublisher(AmqpSettings settings, Logger logger);
    ~AmqpPublisher();
    AmqpPublisher(const AmqpPublisher&) = delete;
    AmqpPublisher& operator=(const AmqpPublisher&) = delete;

    // Publishes one event and waits for the broker's confirm: Done once confirmed, Retry when the
    // broker is unreachable, refused it, or did not confirm in time (the connection is then
    // dropped and made again on the next call). Use as a dispatcher handler, from one thread.
    // Inside a traced event's dispatch the publish is a span ("event.publish") and the message
    // names it as the parent of the consumer's span.
    Outcome Publish(const Event& event);

private:
    struct Connection;
    Outcome PublishOnce(const Event& event);
    bool Connect(std::string& error);
    void Disconnect();

    AmqpSettings settings_;
    Logger logger_;
    std::unique_ptr<Connection> connection_;
};

// One standard queue as the broker sees it.
struct QueueStats {
    std::string queue;           // "emporium.notify"
    std::int64_t ready = 0;      // messages waiting for a consumer (not those being handled)
    std::int64_t consumers = 0;  // workers consuming it now
};

// Reads each standard queue's ready messages and consumers over a short connection of its own
// (declaring the topology if it is missing, as every node does). Blocking, up to a few seconds;
// a kUnavailable error when the broker cannot be reached.
Result<std::vector<QueueStats>> ReadQueueStats(const AmqpSettings& settings);

struct ConsumerOptions {
    int max_attempts = 10;
    std::chrono::milliseconds first_backoff{1000};
    std::chrono::milliseconds max_backoff{300'000};
    std::chrono::milliseconds reconnect_delay{1000};
    // Each message's handling is a root span ("event.consume") in the message's trace. Optional;
    // must outlive Consume.
    tracing::Tracer* tracer = nullptr;
};

// Consumes the subscriber's queue until stop is set, calling handle for each event. Done and
// GiveUp are acknowledged (GiveUp and exhausted retries become dead letters first); a Retry waits
// with backoff and tries again, holding the message. Reconnects after broker failures.
void Consume(const AmqpSettings& settings, const Subscriber& subscriber, const ConsumerOptions& options,
             DeadLetters& dead_letters, const std::atomic<bool>& stop, const Logger& logger);

}  // namespace emporium::events
