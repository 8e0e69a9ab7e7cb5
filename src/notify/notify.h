// Customer texts and admin webhooks, driven by outbox events.
//
// Two steps keep side effects neither lost nor doubled, and keep them off the checkout path:
//  1. Subscribers (OnOrderEvent, OnWebhookEvent) turn an event into message rows, one per
//     recipient, in one transaction. A row's (channel, event, recipient) is unique, so an event
//     delivered twice makes its messages once.
//  2. The courier sends queued rows on its own threads: it claims a row (status `sending`, with
//     a lease), sends it, and records the answer. Passing failures wait with exponential backoff;
//     permanent ones stop at once. A row still `sending` after its lease belongs to a sender that
//     died mid-send: before sending it again the courier asks Twilio whether that exact text
//     already went out, so a crash between Twilio's answer and the commit does not double it.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "accounts/accounts.h"
#include "accounts/pii_vault.h"
#include "catalog/catalog.h"
#include "core/clock.h"
#include "core/log.h"
#include "core/result.h"
#include "db/database.h"
#include "db/migrations.h"
#include "events/dispatcher.h"
#include "notify/sms_gateway.h"
#include "orders/orders.h"

namespace emporium::tracing {
class Tracer;
}

namespace emporium::notify {

std::vector<db::Migration> Migrations(db::Dialect dialect);

// The SMS text for an order event's template ("order_placed", "order_shipped",
// "order_cancelled"); nullopt for a template that does not exist.
std::optional<std::string> RenderSms(std::string_view template_name, std::string_view shop_name,
                                     const orders::Order& order);

// "$12.34" for USD, "12.34 EUR" for other currencies.
std::string FormatMoney(std::int64_t cents, std::string_view currency);

// The webhook signature header value: "t=<timestamp>,v1=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>".
// Receivers recompute it and reject stale timestamps, which stops replays.
std::string WebhookSignature(std::string_view secret, std::int64_t timestamp, std::string_view body);

struct Message {
    std::int64_t id = 0;
    std::string channel;  // sms, webhook
    std::int64_t event_id = 0;
    std::string event_type;
    std::string template_name;  // order_placed...; empty for webhooks
    std::string recipient;      // masked phone number, or the webhook URL
    std::string body;
    std::string status;  // pending, sending, sent, local, failed, dead
    int attempts = 0;
    std::string last_error;
    std::string provider_id;
    std::int64_t created_at = 0;
    std::int64_t updated_at = 0;
    std::optional<std::int64_t> next_attempt_at;
};

struct MessageQuery {
    std::string channel;  // empty: both
    std::string status;   // empty: any
    std::int64_t page = 1;
    std::int64_t per_page = 50;
};

struct MessagePage {
    std::vector<Message> items;
    std::int64_t total = 0;
};

struct Webhook {
    std::int64_t id = 0;
    std::string url;
    std::vector<std::string> events;  // empty: every event
    bool active = true;
    std::int64_t created_at = 0;
    std::string secret;  // only when just created
};

struct CourierOptions {
    int senders = 4;  // messages in flight at once
    std::chrono::milliseconds poll_interval{1000};
    std::chrono::seconds lease{60};  // longer than any send may take
    std::chrono::milliseconds first_backoff{2000};
    std::chrono::milliseconds max_backoff{600'000};
    int max_attempts = 12;                            // then the message is dead (an admin may retry it)
    std::chrono::milliseconds webhook_timeout{5000};  // also the SMS gateway's, set at wiring
    // Webhook URLs may name loopback or private addresses (a receiver on the shop's own network,
    // tests). Off: such URLs are refused at registration and at every connect (http::IsPublicAddress).
    bool webhook_private_targets = false;
    // Each send is a root span ("notify.send") in the order's trace, with the provider's or
    // receiver's call under it. Optional; must outlive the service.
    tracing::Tracer* tracer = nullptr;
};

// The notify module's share of a key rotation: texts' numbers and webhook secrets. NotifyService
// registers them itself; a process that rotates keys without a courier calls this.
void RegisterSealedTables(accounts::PiiVault& vault, db::Database& database);

class NotifyService {
public:
    NotifyService(db::Database& database, accounts::PiiVault& vault, accounts::AccountService& accounts,
                  orders::OrderService& orders, catalog::CatalogService& catalog, SmsGateway& sms, const Clock& clock,
                  Logger logger, CourierOptions options);
    ~NotifyService();
    NotifyService(const NotifyService&) = delete;
    NotifyService& operator=(const NotifyService&) = delete;

    // The "notify" subscriber: a text for order.placed, order.shipped and order.cancelled to the
    // customer who has texts on, at the order's phone (else the profile's).
    events::Outcome OnOrderEvent(const events::Event& event);
    // The "webhooks" subscriber: one delivery per active webhook that wants the event's type.
    events::Outcome OnWebhookEvent(const events::Event& event);

    // Starts the sender threads; Stop ends them after the message in hand.
    void Start();
    void Stop();
    // Tells idle senders that messages were queued.
    void Wake();

    // Claims and sends due messages on the calling thread until none is due or limit is reached;
    // returns how many it handled. For tests and tools; the senders do the same.
    int DeliverDue(int limit);

    MessagePage List(const MessageQuery& query);
    // Queues a failed or dead message again; 404 when unknown, 409 for any other status.
    Result<Message> Retry(std::int64_t id);

    // Registers a webhook; 422 for a URL that is not http(s) or an unknown event type.
    Result<Webhook> AddWebhook(const std::string& url, const std::vector<std::string>& events);
    std::vector<Webhook> Webhooks();
    Status RemoveWebhook(std::int64_t id);

    // What the courier has done since start, for metrics.
    struct Counters {
        std::atomic<std::int64_t> sent{0};
        std::atomic<std::int64_t> kept{0};  // in the local outbox
        std::atomic<std::int64_t> retried{0};
        std::atomic<std::int64_t> failed{0};
        std::atomic<std::int64_t> dead{0};
    };
    const Counters& counters() const { return counters_; }

    // Messages waiting to be sent (pending or sending) and the creation time of the oldest.
    struct Queue {
        std::int64_t waiting = 0;
        std::optional<std::int64_t> oldest_created_at;
    };
    Queue QueueDepth();

    // Event types a webhook may ask for.
    static const std::vector<std::string>& WebhookEventTypes();

private:
    struct Claimed;
    std::optional<Claimed> Claim();
    void Send(const Claimed& message);
    void Record(std::int64_t id, const std::string& status, const std::string& error, const std::string& provider_id,
                std::optional<std::int64_t> next_attempt_at);
    void RecoverExpiredLeases();
    void RunSender();
    std::int64_t Now() const;

    db::Database& database_;
    accounts::PiiVault& vault_;
    accounts::AccountService& accounts_;
    orders::OrderService& orders_;
    catalog::CatalogService& catalog_;
    SmsGateway& sms_;
    const Clock& clock_;
    Logger logger_;
    CourierOptions options_;

    std::mutex wake_mutex_;  // guards wake_generation_ and stopping_
    std::condition_variable wake_;
    std::uint64_t wake_generation_ = 0;
    bool stopping_ = false;
    std::vector<std::thread> senders_;
    Counters counters_;
};

}  // namespace emporium::notify
