#include "events/rabbitmq.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include <boost/json.hpp>
#include <thread>

#include "core/trace.h"
#include "tracing/tracer.h"

namespace emporium::events {
namespace {

namespace json = boost::json;

constexpr amqp_channel_t kChannel = 1;

std::string QueueName(std::string_view subscriber) {
    return "emporium." + std::string(subscriber);
}

amqp_bytes_t Bytes(std::string_view s) {
    return {s.size(), const_cast<char*>(s.data())};
}

// Describes a failed RPC reply, for logs. Never includes the URL (it holds a password).
std::string Describe(const amqp_rpc_reply_t& reply) {
    switch (reply.reply_type) {
        case AMQP_RESPONSE_NORMAL:
            return "ok";
        case AMQP_RESPONSE_NONE:
            return "no reply";
        case AMQP_RESPONSE_LIBRARY_EXCEPTION:
            return amqp_error_string2(reply.library_error);
        case AMQP_RESPONSE_SERVER_EXCEPTION:
            if (reply.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
                auto* m = static_cast<amqp_connection_close_t*>(reply.reply.decoded);
                return "connection closed by broker: " +
                       std::string(static_cast<char*>(m->reply_text.bytes), m->reply_text.len);
            }
            if (reply.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
                auto* m = static_cast<amqp_channel_close_t*>(reply.reply.decoded);
                return "channel closed by broker: " +
                       std::string(static_cast<char*>(m->reply_text.bytes), m->reply_text.len);
            }
            return "broker error";
    }
    return "unknown";
}

// One open connection with channel 1 and the standard topology declared.
struct Session {
    amqp_connection_state_t state = nullptr;

    Session() = default;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    ~Session() {
        if (!state) return;
        amqp_channel_close(state, kChannel, AMQP_REPLY_SUCCESS);
        amqp_connection_close(state, AMQP_REPLY_SUCCESS);
        amqp_destroy_connection(state);
    }

    bool Check(std::string& error) {
        amqp_rpc_reply_t reply = amqp_get_rpc_reply(state);
        if (reply.reply_type == AMQP_RESPONSE_NORMAL) return true;
        error = Describe(reply);
        return false;
    }

    // Connects, logs in, opens the channel and declares the exchange and standard queues.
    bool Open(const std::string& url, int heartbeat_seconds, std::string& error) {
        std::string writable = url;  // amqp_parse_url writes into its argument
        amqp_connection_info info{};
        amqp_default_connection_info(&info);
        if (amqp_parse_url(writable.data(), &info) != AMQP_STATUS_OK) {
            error = "EMPORIUM_AMQP_URL is not an amqp:// URL";
            return false;
        }
        // "amqp://host:5672/" names the empty vhost, which no broker has; people mean the default one.
        if (info.vhost == nullptr || info.vhost[0] == '\0') info.vhost = const_cast<char*>("/");
        state = amqp_new_connection();
        amqp_socket_t* socket = amqp_tcp_socket_new(state);
        if (!socket) {
            error = "cannot make a socket";
            return false;
        }
        timeval timeout{5, 0};
        if (int rc = amqp_socket_open_noblock(socket, info.host, info.port, &timeout); rc != AMQP_STATUS_OK) {
            error = std::string("cannot connect: ") + amqp_error_string2(rc);
            return false;
        }
        amqp_rpc_reply_t login = amqp_login(state, info.vhost, 0, 131072, heartbeat_seconds, AMQP_SASL_METHOD_PLAIN,
                                            info.user, info.password);
        if (login.reply_type != AMQP_RESPONSE_NORMAL) {
            error = "login failed: " + Describe(login);
            return false;
        }
        amqp_channel_open(state, kChannel);
        if (!Check(error)) return false;
        amqp_exchange_declare(state, kChannel, Bytes(kExchange), amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                              amqp_empty_table);
        if (!Check(error)) return false;
        for (const QueueBinding& q : StandardQueues()) {
            std::string name = QueueName(q.subscriber);
            amqp_queue_declare(state, kChannel, Bytes(name), 0, 1, 0, 0, amqp_empty_table);
            if (!Check(error)) return false;
            for (const std::string& pattern : q.patterns) {
                amqp_queue_bind(state, kChannel, Bytes(name), Bytes(kExchange), Bytes(pattern), amqp_empty_table);
                if (!Check(error)) return false;
            }
        }
        return true;
    }
};

}  // namespace

Result<std::vector<QueueStats>> ReadQueueStats(const AmqpSettings& settings) {
    Session session;
    std::string error;
    if (!session.Open(settings.url, 0, error)) {
        return Error{ErrorKind::kUnavailable, "broker_unavailable", "The broker cannot be reached: " + error, {}};
    }
    std::vector<QueueStats> stats;
    for (const QueueBinding& q : StandardQueues()) {
        const std::string name = QueueName(q.subscriber);
        // Passive: only reads the queue, never creates or changes one.
        amqp_queue_declare_ok_t* ok =
            amqp_queue_declare(session.state, kChannel, Bytes(name), 1, 0, 0, 0, amqp_empty_table);
        if (!ok || !session.Check(error)) {
            std::string message = "The broker did not describe ";
            message.append(name).append(": ").append(error);
            return Error{ErrorKind::kUnavailable, "broker_unavailable", std::move(message), {}};
        }
        stats.push_back(
            {name, static_cast<std::int64_t>(ok->message_count), static_cast<std::int64_t>(ok->consumer_count)});
    }
    return stats;
}

const std::vector<QueueBinding>& StandardQueues() {
    static const std::vector<QueueBinding> kQueues = {
        {"notify", {"order.*"}}, {"webhooks", {"#"}}, {"analytics", {"order.*"}}};
    return kQueues;
}

namespace {

// Boost.JSON writes a number past a double's range (read from 1e999) as `Infinity`, which is not
// JSON: a payload holding one would reach no handler intact.
bool WritesAsJson(const json::value& v) {
    boost::system::error_code ec;
    json::parse(json::serialize(v), ec);
    return !ec;
}

}  // namespace

std::string EncodeEvent(const Event& event) {
    boost::system::error_code ec;
    json::value payload = json::parse(event.payload_json, ec);
    // DecodeEvent takes objects only.
    if (ec || !payload.is_object() || !WritesAsJson(payload)) payload = json::object{};
    return json::serialize(json::object{{"id", event.id},
                                        {"type", event.type},
                                        {"aggregate_id", event.aggregate_id},
                                        {"payload", std::move(payload)},
                                        {"created_at", event.created_at},
                                        {"traceparent", event.traceparent}});
}

std::optional<Event> DecodeEvent(std::string_view body) {
    boost::system::error_code ec;
    json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const json::object& o = v.as_object();
    const json::value* id = o.if_contains("id");
    const json::value* type = o.if_contains("type");
    const json::value* aggregate = o.if_contains("aggregate_id");
    const json::value* payload = o.if_contains("payload");
    const json::value* created = o.if_contains("created_at");
    if (!id || !id->is_int64() || !type || !type->is_string() || !payload || !payload->is_object()) return std::nullopt;
    if (!WritesAsJson(*payload)) return std::nullopt;
    Event e;
    e.id = id->as_int64();
    e.type = std::string(type->as_string());
    e.aggregate_id = aggregate && aggregate->is_string() ? std::string(aggregate->as_string()) : "";
    e.payload_json = json::serialize(*payload);
    e.created_at = created && created->is_int64() ? created->as_int64() : 0;
    const json::value* traceparent = o.if_contains("traceparent");
    if (traceparent && traceparent->is_string() && ParseTraceparent(traceparent->as_string())) {
        e.traceparent = std::string(traceparent->as_string());
    }
    return e;
}

// --- publisher -------------------------------------------------------------------------------

struct AmqpPublisher::Connection {
    Session session;
    std::uint64_t next_tag = 1;  // delivery tags count publishes on the channel from 1
};

AmqpPublisher::AmqpPublisher(AmqpSettings settings, Logger logger)
    : settings_(std::move(settings)), logger_(std::move(logger)) {}

AmqpPublisher::~AmqpPublisher() = default;

bool AmqpPublisher::Connect(std::string& error) {
    auto c = std::make_unique<Connection>();
    // No heartbeat: the publisher may sit idle outside the library between events; a dead
    // connection shows at the next publish, which then reconnects.
    if (!c->session.Open(settings_.url, 0, error)) return false;
    amqp_confirm_select(c->session.state, kChannel);
    if (!c->session.Check(error)) return false;
    connection_ = std::move(c);
    LogInfo(logger_, LogFields("amqp publisher connected").Add("exchange", kExchange));
    return true;
}

void AmqpPublisher::Disconnect() {
    connection_.reset();
}

Outcome AmqpPublisher::Publish(const Event& event) {
    tracing::Span span("event.publish", tracing::SpanKind::kProducer);
    if (!span.recording()) return PublishOnce(event);
    span.Set("messaging.event_type", event.type);
    Event traced = event;
    traced.traceparent = CurrentTraceparent();  // the publish span's
    Outcome outcome = PublishOnce(traced);
    if (outcome.kind != Outcome::Kind::kDone) span.SetError();
    return outcome;
}

Outcome AmqpPublisher::PublishOnce(const Event& event) {
    std::string error;
    if (!connection_ && !Connect(error)) {
        Disconnect();
        return Outcome::Retry("rabbitmq: " + error);
    }
    amqp_connection_state_t state = connection_->session.state;
    const std::string body = EncodeEvent(event);
    const std::string message_id = std::to_string(event.id);
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG | AMQP_BASIC_MESSAGE_ID_FLAG |
                   AMQP_BASIC_TYPE_FLAG | AMQP_BASIC_TIMESTAMP_FLAG;
    props.content_type = amqp_cstring_bytes("application/json");
    props.delivery_mode = AMQP_DELIVERY_PERSISTENT;
    props.message_id = Bytes(message_id);
    props.type = Bytes(event.type);
    props.timestamp = static_cast<std::uint64_t>(event.created_at);
    // The trace as the W3C header too, for consumers that read headers rather than the body.
    amqp_table_entry_t trace_header;
    if (!event.traceparent.empty()) {
        trace_header.key = amqp_cstring_bytes("traceparent");
        trace_header.value.kind = AMQP_FIELD_KIND_UTF8;
        trace_header.value.value.bytes = Bytes(event.traceparent);
        props.headers = {1, &trace_header};
        props._flags |= AMQP_BASIC_HEADERS_FLAG;
    }
    if (int rc = amqp_basic_publish(state, kChannel, Bytes(kExchange), Bytes(event.type), 0, 0, &props, Bytes(body));
        rc != AMQP_STATUS_OK) {
        Disconnect();
        return Outcome::Retry(std::string("rabbitmq publish: ") + amqp_error_string2(rc));
    }
    const std::uint64_t tag = connection_->next_tag++;

    // Wait for the broker's Basic.Ack (or Nack) covering this delivery tag.
    const auto deadline = std::chrono::steady_clock::now() + settings_.confirm_timeout;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0) {
            Disconnect();
            return Outcome::Retry("rabbitmq: no publisher confirm in time");
        }
        timeval tv{static_cast<time_t>(left.count() / 1'000'000), static_cast<suseconds_t>(left.count() % 1'000'000)};
        amqp_frame_t frame;
        int rc = amqp_simple_wait_frame_noblock(state, &frame, &tv);
        if (rc != AMQP_STATUS_OK) {
            Disconnect();
            return Outcome::Retry(std::string("rabbitmq confirm: ") + amqp_error_string2(rc));
        }
        if (frame.frame_type != AMQP_FRAME_METHOD) continue;
        if (frame.payload.method.id == AMQP_BASIC_ACK_METHOD) {
            auto* ack = static_cast<amqp_basic_ack_t*>(frame.payload.method.decoded);
            if (ack->delivery_tag == tag || (ack->multiple && ack->delivery_tag >= tag)) return Outcome::Done();
        } else if (frame.payload.method.id == AMQP_BASIC_NACK_METHOD) {
            auto* nack = static_cast<amqp_basic_nack_t*>(frame.payload.method.decoded);
            if (nack->delivery_tag == tag || (nack->multiple && nack->delivery_tag >= tag)) {
                return Outcome::Retry("rabbitmq refused the message (nack)");
            }
        } else if (frame.payload.method.id == AMQP_CHANNEL_CLOSE_METHOD ||
                   frame.payload.method.id == AMQP_CONNECTION_CLOSE_METHOD) {
            Disconnect();
            return Outcome::Retry("rabbitmq closed the channel");
        }
    }
}

// --- consumer --------------------------------------------------------------------------------

namespace {

// Sleeps for delay unless stop is set first; true when stop was set.
bool SleepUnlessStopped(std::chrono::milliseconds delay, const std::atomic<bool>& stop) {
    const auto until = std::chrono::steady_clock::now() + delay;
    while (std::chrono::steady_clock::now() < until) {
        if (stop.load()) return true;
        std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(
            std::chrono::milliseconds(50),
            std::chrono::duration_cast<std::chrono::milliseconds>(until - std::chrono::steady_clock::now()) +
                std::chrono::milliseconds(1)));
    }
    return stop.load();
}

// Runs the handler with retries; returns false when stopped before an answer (leave the message unacked).
bool HandleWithRetries(const Event& event, const Subscriber& subscriber, const ConsumerOptions& options,
                       DeadLetters& dead_letters, const std::atomic<bool>& stop, const Logger& logger) {
    DispatcherOptions backoff;
    backoff.first_backoff = options.first_backoff;
    backoff.max_backoff = options.max_backoff;
    // The handler's log lines, spans and queued work carry the message's trace.
    tracing::WorkScope trace(options.tracer, "event.consume", tracing::SpanKind::kConsumer, event.traceparent);
    trace.Set("messaging.event_type", event.type);
    trace.Set("messaging.consumer", subscriber.name);
    for (int attempt = 1;; ++attempt) {
        Outcome outcome;
        try {
            outcome = subscriber.handle(event);
        } catch (const std::exception& e) {
            outcome = Outcome::Retry(std::string("exception: ") + e.what());
        }
        if (outcome.kind != Outcome::Kind::kDone) trace.SetError();
        if (outcome.kind == Outcome::Kind::kDone) return true;
        if (outcome.kind == Outcome::Kind::kGiveUp || attempt >= options.max_attempts) {
            dead_letters.Record(subscriber.name, event, attempt, outcome.reason);
            LogError(logger, LogFields("event dead letter")
                                 .Add("subscriber", subscriber.name)
                                 .Add("event_id", static_cast<long long>(event.id))
                                 .Add("reason", outcome.reason));
            return true;
        }
        LogWarn(logger, LogFields("event retry")
                            .Add("subscriber", subscriber.name)
                            .Add("event_id", static_cast<long long>(event.id))
                            .Add("attempt", static_cast<long long>(attempt))
                            .Add("reason", outcome.reason));
        if (SleepUnlessStopped(Backoff(backoff, attempt), stop)) return false;
    }
}

}  // namespace

void Consume(const AmqpSettings& settings, const Subscriber& subscriber, const ConsumerOptions& options,
             DeadLetters& dead_letters, const std::atomic<bool>& stop, const Logger& logger) {
    const std::string queue = QueueName(subscriber.name);
    while (!stop.load()) {
        Session session;
        std::string error;
        if (!session.Open(settings.url, 30, error)) {
            LogWarn(logger, LogFields("amqp consumer cannot connect").Add("queue", queue).Add("error", error));
            SleepUnlessStopped(options.reconnect_delay, stop);
            continue;
        }
        amqp_basic_qos(session.state, kChannel, 0, static_cast<std::uint16_t>(settings.prefetch), 0);
        amqp_basic_consume(session.state, kChannel, Bytes(queue), amqp_empty_bytes, 0, /*no_ack=*/0, 0,
                           amqp_empty_table);
        if (!session.Check(error)) {
            LogWarn(logger, LogFields("amqp consume failed").Add("queue", queue).Add("error", error));
            SleepUnlessStopped(options.reconnect_delay, stop);
            continue;
        }
        LogInfo(logger, LogFields("amqp consumer ready").Add("queue", queue));
        auto last_replay_check = std::chrono::steady_clock::now();
        while (!stop.load()) {
            if (std::chrono::steady_clock::now() - last_replay_check > std::chrono::seconds(2)) {
                // Dead letters an admin asked to replay, for this subscriber (its events live in the shared outbox).
                dead_letters.RunReplays(subscriber.name, subscriber.handle);
                last_replay_check = std::chrono::steady_clock::now();
            }
            amqp_maybe_release_buffers(session.state);
            amqp_envelope_t envelope;
            timeval timeout{0, 500'000};
            amqp_rpc_reply_t reply = amqp_consume_message(session.state, &envelope, &timeout, 0);
            if (reply.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && reply.library_error == AMQP_STATUS_TIMEOUT) {
                continue;
            }
            if (reply.reply_type != AMQP_RESPONSE_NORMAL) {
                LogWarn(
                    logger,
                    LogFields("amqp consumer lost its connection").Add("queue", queue).Add("error", Describe(reply)));
                break;
            }
            std::string_view body(static_cast<const char*>(envelope.message.body.bytes), envelope.message.body.len);
            std::optional<Event> event = DecodeEvent(body);
            bool finished = true;
            if (!event) {
                LogError(logger, LogFields("amqp message is not an event; dropped").Add("queue", queue));
            } else if (Wants(subscriber.types, event->type)) {
                finished = HandleWithRetries(*event, subscriber, options, dead_letters, stop, logger);
            }
            const std::uint64_t tag = envelope.delivery_tag;
            amqp_destroy_envelope(&envelope);
            if (!finished) break;  // stopping: the broker delivers it again to the next consumer
            if (amqp_basic_ack(session.state, kChannel, tag, 0) != AMQP_STATUS_OK) break;
        }
        if (!stop.load()) SleepUnlessStopped(options.reconnect_delay, stop);
    }
}

}  // namespace emporium::events
