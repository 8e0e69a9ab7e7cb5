#include "notify/notify.h"

#include <sodium.h>

#include <algorithm>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include "core/contact.h"
#include "core/text.h"
#include "core/trace.h"
#include "http/client.h"
#include "tracing/tracer.h"

namespace emporium::notify {
namespace {

namespace json = boost::json;

constexpr std::string_view kPhoneField = "message_phone";
constexpr std::string_view kSecretField = "webhook_secret";

std::string Join(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& i : items) out += (out.empty() ? "" : ",") + i;
    return out;
}

// True when a URL's host is visibly not public: a literal loopback or private address, or
// localhost. A name that merely resolves to one is caught at connect time (HttpCall::public_only);
// this check only gives the admin a clear answer at registration.
bool NamesPrivateHost(const boost::urls::url_view& url) {
    switch (url.host_type()) {
        case boost::urls::host_type::ipv4:
            return !http::IsPublicAddress(url.host_ipv4_address().to_string());
        case boost::urls::host_type::ipv6:
            return !http::IsPublicAddress(url.host_ipv6_address().to_string());
        case boost::urls::host_type::name: {
            std::string host = ToLowerAscii(url.host());
            while (!host.empty() && host.back() == '.') host.pop_back();
            return host == "localhost" || host.ends_with(".localhost");
        }
        default:
            return true;  // IPvFuture: nothing a webhook needs
    }
}

std::optional<std::string_view> TemplateFor(std::string_view event_type) {
    if (event_type == "order.placed") return "order_placed";
    if (event_type == "order.shipped") return "order_shipped";
    if (event_type == "order.cancelled") return "order_cancelled";
    return std::nullopt;
}

std::int64_t IntMember(const json::value& v, std::string_view key) {
    if (!v.is_object()) return 0;
    const json::value* m = v.as_object().if_contains(key);
    return m && m->is_int64() ? m->as_int64() : 0;
}

}  // namespace

std::vector<db::Migration> Migrations(db::Dialect dialect) {
    return {{"notify", 1,
             "CREATE TABLE messages (" + db::IdColumn(dialect) +
                 ", channel TEXT NOT NULL, event_id BIGINT NOT NULL, event_type TEXT NOT NULL,"
                 " template TEXT NOT NULL, recipient_key TEXT NOT NULL, recipient TEXT NOT NULL,"
                 " recipient_masked TEXT NOT NULL, webhook_id BIGINT, body TEXT NOT NULL, status TEXT NOT NULL,"
                 " attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT NOT NULL DEFAULT '',"
                 " provider_id TEXT NOT NULL DEFAULT '', next_attempt_at BIGINT, claimed_at BIGINT,"
                 " created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL,"
                 " UNIQUE (channel, event_id, recipient_key));"
                 "CREATE INDEX messages_due ON messages (status, next_attempt_at);"
                 "CREATE TABLE webhooks (" +
                 db::IdColumn(dialect) +
                 ", url TEXT NOT NULL, secret TEXT NOT NULL, events TEXT NOT NULL, active INTEGER NOT NULL,"
                 " created_at BIGINT NOT NULL);"},
            // The trace of the order event that queued a text or post: its sending carries it on.
            {"notify", 2, "ALTER TABLE messages ADD COLUMN traceparent TEXT NOT NULL DEFAULT ''"}};
}

std::string FormatMoney(std::int64_t cents, std::string_view currency) {
    const bool negative = cents < 0;
    const std::int64_t abs = negative ? -cents : cents;
    std::string digits = std::to_string(abs / 100) + "." + (abs % 100 < 10 ? "0" : "") + std::to_string(abs % 100);
    if (currency == "USD") return (negative ? "-$" : "$") + digits;
    return (negative ? "-" : "") + digits + " " + std::string(currency);
}

std::optional<std::string> RenderSms(std::string_view template_name, std::string_view shop_name,
                                     const orders::Order& order) {
    const std::string shop(shop_name.empty() ? "Emporium" : shop_name);
    const std::string number = "#" + std::to_string(order.id);
    if (template_name == "order_placed") {
        return shop + ": thank you! Order " + number + " is placed, total " +
               FormatMoney(order.total_cents, order.currency) + ". We'll text you when it ships.";
    }
    if (template_name == "order_shipped") return shop + ": order " + number + " is on its way.";
    if (template_name == "order_cancelled") {
        return shop + ": order " + number + " is cancelled. Any payment is returned to your card.";
    }
    return std::nullopt;
}

std::string WebhookSignature(std::string_view secret, std::int64_t timestamp, std::string_view body) {
    const std::string signed_text = std::to_string(timestamp) + "." + std::string(body);
    crypto_auth_hmacsha256_state state;
    crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
    crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signed_text.data()),
                                  signed_text.size());
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&state, mac);
    char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    return "t=" + std::to_string(timestamp) + ",v1=" + hex;
}

struct NotifyService::Claimed {
    std::int64_t id = 0;
    std::string channel;
    std::string recipient;  // sealed phone, or URL
    std::string masked;
    std::string body;
    int attempts = 0;
    std::int64_t event_id = 0;
    std::string event_type;
    std::int64_t webhook_id = 0;
    std::string traceparent;
    std::string last_error;  // the previous attempt's, if any
};

namespace {

// A text whose last attempt ended without the provider's answer (a timeout, a connection lost
// after the request went out) may have been sent: the provider can have taken it. The next attempt
// asks the provider first, and a lookup that fails keeps the text in doubt (this prefix).
constexpr std::string_view kInDoubt = "in doubt: ";

bool MaybeSentBefore(const std::string& last_error) {
    return last_error.starts_with(kNetworkErrorPrefix) || last_error.starts_with(kInDoubt);
}

}  // namespace

NotifyService::NotifyService(db::Database& database, accounts::PiiVault& vault, accounts::AccountService& accounts,
                             orders::OrderService& orders, catalog::CatalogService& catalog, SmsGateway& sms,
                             const Clock& clock, Logger logger, CourierOptions options)
    : database_(database),
      vault_(vault),
      accounts_(accounts),
      orders_(orders),
      catalog_(catalog),
      sms_(sms),
      clock_(clock),
      logger_(std::move(logger)),
      options_(options) {
    http::InitHttpClient();
    RegisterSealedTables(vault_, database_);
}

void RegisterSealedTables(accounts::PiiVault& vault, db::Database& database) {
    // Texts' numbers (webhook rows hold a URL in the same column, in clear) and webhook secrets.
    accounts::SealedTable messages{"messages", "id", {{"recipient", std::string(kPhoneField)}}};
    messages.only_where = "channel = 'sms'";
    vault.Register(database, std::move(messages));
    vault.Register(database, accounts::SealedTable{"webhooks", "id", {{"secret", std::string(kSecretField)}}});
}

NotifyService::~NotifyService() {
    Stop();
}

std::int64_t NotifyService::Now() const {
    return UnixSeconds(clock_.Now());
}

// --- subscribers -----------------------------------------------------------------------------

events::Outcome NotifyService::OnOrderEvent(const events::Event& event) {
    std::optional<std::string_view> template_name = TemplateFor(event.type);
    if (!template_name) return events::Outcome::Done();
    boost::system::error_code ec;
    json::value payload = json::parse(event.payload_json, ec);
    const std::int64_t order_id = ec ? 0 : IntMember(payload, "order_id");
    const std::int64_t user_id = ec ? 0 : IntMember(payload, "user_id");
    if (order_id <= 0 || user_id <= 0) return events::Outcome::GiveUp("the event names no order or customer");

    Result<accounts::User> customer = accounts_.Profile(user_id);
    if (!customer.ok() || !customer->sms_notifications) return events::Outcome::Done();  // texts off, or gone
    Result<orders::Order> order = orders_.Find(order_id);
    if (!order.ok()) return events::Outcome::GiveUp("order " + std::to_string(order_id) + " does not exist");
    const std::string phone = !order->phone.empty() ? order->phone : customer->phone.value_or("");
    if (phone.empty()) return events::Outcome::Done();
    std::optional<std::string> body = RenderSms(*template_name, catalog_.Store().name, *order);

    const std::int64_t now = Now();
    database_.Write([&](db::Connection& c) {
        c.Execute(
            "INSERT INTO messages (channel, event_id, event_type, template, recipient_key, recipient, recipient_masked,"
            " body, status, next_attempt_at, created_at, updated_at, traceparent)"
            " VALUES ('sms', ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)"
            " ON CONFLICT (channel, event_id, recipient_key) DO NOTHING",
            {event.id, event.type, std::string(*template_name), "user:" + std::to_string(user_id),
             vault_.Encrypt(kPhoneField, phone), MaskPhone(phone), *body, now, now, now, CurrentTraceparent()});
    });
    Wake();
    return events::Outcome::Done();
}

events::Outcome NotifyService::OnWebhookEvent(const events::Event& event) {
    std::vector<Webhook> hooks = Webhooks();
    boost::system::error_code ec;
    json::value data = json::parse(event.payload_json, ec);
    if (ec) data = json::object{};
    const std::string body = json::serialize(json::object{
        {"id", event.id}, {"type", event.type}, {"created_at", FormatRfc3339(event.created_at)}, {"data", data}});
    const std::int64_t now = Now();
    int queued = 0;
    database_.Write([&](db::Connection& c) {
        for (const Webhook& h : hooks) {
            if (!h.active || !events::Wants(h.events, event.type)) continue;
            queued += static_cast<int>(c.Execute(
                "INSERT INTO messages (channel, event_id, event_type, template, recipient_key, recipient,"
                " recipient_masked, webhook_id, body, status, next_attempt_at, created_at, updated_at, traceparent)"
                " VALUES ('webhook', ?, ?, '', ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)"
                " ON CONFLICT (channel, event_id, recipient_key) DO NOTHING",
                {event.id, event.type, "webhook:" + std::to_string(h.id), h.url, h.url, h.id, body, now, now, now,
                 CurrentTraceparent()}));
        }
    });
    if (queued > 0) Wake();
    return events::Outcome::Done();
}

// --- courier ---------------------------------------------------------------------------------

std::optional<NotifyService::Claimed> NotifyService::Claim() {
    const std::int64_t now = Now();
    // On PostgreSQL senders claim side by side (READ COMMITTED): each skips the rows another one
    // has locked, and the outer status check keeps a row from being claimed twice.
    const std::string claim =
        std::string(
            "UPDATE messages SET status = 'sending', attempts = attempts + 1, claimed_at = ?, updated_at = ?"
            " WHERE status = 'pending' AND id = (SELECT id FROM messages WHERE status = 'pending'"
            " AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT 1") +
        (database_.dialect() == db::Dialect::kPostgres ? " FOR UPDATE SKIP LOCKED" : "") +
        ") RETURNING id, channel, recipient, recipient_masked, body, attempts, event_id, event_type,"
        " COALESCE(webhook_id, 0), traceparent, COALESCE(last_error, '')";
    return database_.Write([&](db::Connection& c) {
        std::optional<Claimed> out;
        c.Query(claim, {now, now, now}, [&](const db::Row& r) {
            out = Claimed{r.Int(0),
                          std::string(r.Text(1)),
                          std::string(r.Text(2)),
                          std::string(r.Text(3)),
                          std::string(r.Text(4)),
                          static_cast<int>(r.Int(5)),
                          r.Int(6),
                          std::string(r.Text(7)),
                          r.Int(8),
                          std::string(r.Text(9)),
                          std::string(r.Text(10))};
        });
        return out;
    });
}

void NotifyService::Record(std::int64_t id, const std::string& status, const std::string& error,
                           const std::string& provider_id, std::optional<std::int64_t> next_attempt_at) {
    const std::int64_t now = Now();
    database_.Write([&](db::Connection& c) {
        c.Execute(
            "UPDATE messages SET status = ?, last_error = ?, provider_id = ?, next_attempt_at = ?, claimed_at = NULL,"
            " updated_at = ? WHERE id = ?",
            {status, error, provider_id, next_attempt_at ? db::Value(*next_attempt_at) : db::Value(nullptr), now, id});
    });
}

void NotifyService::Send(const Claimed& m) {
    // The order's trace: the provider's or receiver's request carries it, and the log lines too.
    tracing::WorkScope trace(options_.tracer, "notify.send", tracing::SpanKind::kInternal, m.traceparent);
    trace.Set("notify.channel", m.channel);
    SendOutcome outcome;
    if (m.channel == "sms") {
        Result<std::string> phone = vault_.Decrypt(kPhoneField, m.recipient);
        if (!phone.ok()) {
            outcome = {SendOutcome::Kind::kPermanent, "", "the number cannot be decrypted (unknown key)", {}};
        } else if (MaybeSentBefore(m.last_error)) {
            // Twilio takes no idempotency key: what settles an earlier attempt is its message list.
            LookupOutcome found = sms_.FindSent(*phone, m.body);
            if (!found.known) {
                outcome = {SendOutcome::Kind::kRetry,
                           "",
                           std::string(kInDoubt) + "the provider could not say whether an earlier attempt was sent",
                           {}};
            } else if (found.provider_id) {
                outcome = {SendOutcome::Kind::kSent, *found.provider_id, "", {}};
            } else {
                outcome = sms_.Send(*phone, m.body);
            }
        } else {
            outcome = sms_.Send(*phone, m.body);
        }
    } else {
        std::optional<std::string> sealed_secret = database_.Read([&](db::Connection& c) {
            std::optional<std::string> s;
            c.Query("SELECT secret FROM webhooks WHERE id = ? AND active = 1", {m.webhook_id},
                    [&](const db::Row& r) { s = std::string(r.Text(0)); });
            return s;
        });
        Result<std::string> secret = sealed_secret ? vault_.Decrypt(kSecretField, *sealed_secret)
                                                   : Result<std::string>(Error::NotFound("removed"));
        if (!secret.ok()) {
            outcome = {SendOutcome::Kind::kPermanent, "", "the webhook was removed", {}};
        } else {
            const std::int64_t timestamp = Now();
            http::HttpCall call;
            call.url = m.recipient;
            call.body = m.body;
            call.timeout = options_.webhook_timeout;
            call.public_only = !options_.webhook_private_targets;
            call.headers = {"Content-Type: application/json", "X-Emporium-Event: " + m.event_type,
                            "X-Emporium-Event-Id: " + std::to_string(m.event_id),
                            "X-Emporium-Delivery: " + std::to_string(m.id),
                            "X-Emporium-Signature: " + WebhookSignature(*secret, timestamp, m.body)};
            http::HttpAnswer answer = http::Perform(call);
            if (answer.status >= 200 && answer.status < 300) {
                outcome = {SendOutcome::Kind::kSent, "HTTP " + std::to_string(answer.status), "", {}};
            } else if (answer.status == 410) {
                outcome = {SendOutcome::Kind::kPermanent, "", "HTTP 410: the receiver is gone", {}};
            } else {
                outcome = {SendOutcome::Kind::kRetry, "",
                           answer.status == 0 ? "network: " + answer.error : "HTTP " + std::to_string(answer.status),
                           answer.retry_after};
            }
        }
    }

    // Whatever the provider or the network said is outside text: no phone number in it reaches
    // the send log, the admin JSON or the log lines below.
    outcome.error = MaskPhonesIn(outcome.error);
    if (outcome.kind != SendOutcome::Kind::kSent) trace.SetError();
    LogFields line("message");
    line.Add("id", static_cast<long long>(m.id))
        .Add("channel", m.channel)
        .Add("to", m.masked)
        .Add("event_id", static_cast<long long>(m.event_id))
        .Add("attempt", static_cast<long long>(m.attempts));
    switch (outcome.kind) {
        case SendOutcome::Kind::kSent:
            Record(m.id, "sent", "", outcome.provider_id, std::nullopt);
            ++counters_.sent;
            LogInfo(logger_, line.Add("status", "sent").Add("provider_id", outcome.provider_id));
            break;
        case SendOutcome::Kind::kKept:
            Record(m.id, "local", "", "", std::nullopt);
            ++counters_.kept;
            LogInfo(logger_, line.Add("status", "local").Add("gateway", sms_.name()).Add("body", m.body));
            break;
        case SendOutcome::Kind::kPermanent:
            Record(m.id, "failed", outcome.error, "", std::nullopt);
            ++counters_.failed;
            LogWarn(logger_, line.Add("status", "failed").Add("error", outcome.error));
            break;
        case SendOutcome::Kind::kRetry: {
            if (m.attempts >= options_.max_attempts) {
                Record(m.id, "dead", outcome.error, "", std::nullopt);
                ++counters_.dead;
                LogError(logger_, line.Add("status", "dead").Add("error", outcome.error));
                break;
            }
            events::DispatcherOptions backoff;
            backoff.first_backoff = options_.first_backoff;
            backoff.max_backoff = options_.max_backoff;
            std::chrono::milliseconds delay = events::Backoff(backoff, m.attempts);
            if (outcome.retry_after) delay = std::max<std::chrono::milliseconds>(delay, *outcome.retry_after);
            const std::int64_t delay_seconds = (delay.count() + 999) / 1000;
            Record(m.id, "pending", outcome.error, "", Now() + delay_seconds);
            ++counters_.retried;
            LogWarn(logger_, line.Add("status", "retry")
                                 .Add("error", outcome.error)
                                 .Add("in_seconds", static_cast<long long>(delay_seconds)));
            break;
        }
    }
}

void NotifyService::RecoverExpiredLeases() {
    struct InDoubt {
        std::int64_t id;
        std::string channel;
        std::string recipient;
        std::string body;
    };
    const std::int64_t cutoff = Now() - options_.lease.count();
    std::vector<InDoubt> rows = database_.Read([&](db::Connection& c) {
        std::vector<InDoubt> out;
        c.Query(
            "SELECT id, channel, recipient, body FROM messages WHERE status = 'sending' AND claimed_at <= ? LIMIT 100",
            {cutoff}, [&](const db::Row& r) {
                out.push_back({r.Int(0), std::string(r.Text(1)), std::string(r.Text(2)), std::string(r.Text(3))});
            });
        return out;
    });
    for (const InDoubt& m : rows) {
        std::string resolution = "pending";
        std::string provider_id;
        if (m.channel == "sms") {
            Result<std::string> phone = vault_.Decrypt(kPhoneField, m.recipient);
            LookupOutcome found = phone.ok() ? sms_.FindSent(*phone, m.body) : LookupOutcome{true, std::nullopt};
            if (!found.known) continue;  // ask again after the next lease
            if (found.provider_id) {
                resolution = "sent";
                provider_id = *found.provider_id;
            }
        }
        const std::int64_t now = Now();
        database_.Write([&](db::Connection& c) {
            c.Execute(
                "UPDATE messages SET status = ?, provider_id = ?, next_attempt_at = ?, claimed_at = NULL, updated_at = "
                "?"
                " WHERE id = ? AND status = 'sending' AND claimed_at <= ?",
                {resolution, provider_id, now, now, m.id, cutoff});
        });
        LogWarn(logger_, LogFields("message in doubt")
                             .Add("id", static_cast<long long>(m.id))
                             .Add("channel", m.channel)
                             .Add("resolved", resolution == "sent" ? "already sent" : "sending again"));
    }
}

int NotifyService::DeliverDue(int limit) {
    RecoverExpiredLeases();
    int handled = 0;
    while (handled < limit) {
        std::optional<Claimed> m = Claim();
        if (!m) break;
        Send(*m);
        ++handled;
    }
    return handled;
}

void NotifyService::RunSender() {
    std::uint64_t seen = 0;
    for (;;) {
        bool busy = false;
        try {
            std::optional<Claimed> m = Claim();
            if (m) {
                Send(*m);
                busy = true;
            }
        } catch (const std::exception& e) {
            LogError(logger_, LogFields("courier failed").Add("error", e.what()));
        }
        std::unique_lock lock(wake_mutex_);
        if (stopping_) return;
        if (busy) continue;
        wake_.wait_for(lock, options_.poll_interval, [&] { return stopping_ || wake_generation_ != seen; });
        if (stopping_) return;
        seen = wake_generation_;
    }
}

void NotifyService::Start() {
    RecoverExpiredLeases();
    for (int i = 0; i < std::max(1, options_.senders); ++i) senders_.emplace_back([this] { RunSender(); });
    // One more thread settles messages whose sender died, once their lease is over.
    senders_.emplace_back([this] {
        for (;;) {
            {
                std::unique_lock lock(wake_mutex_);
                if (wake_.wait_for(lock, std::min<std::chrono::milliseconds>(options_.lease, std::chrono::seconds(5)),
                                   [&] { return stopping_; })) {
                    return;
                }
            }
            try {
                RecoverExpiredLeases();
            } catch (const std::exception& e) {
                LogError(logger_, LogFields("lease recovery failed").Add("error", e.what()));
            }
        }
    });
}

void NotifyService::Stop() {
    {
        std::lock_guard lock(wake_mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : senders_) t.join();
    senders_.clear();
}

void NotifyService::Wake() {
    {
        std::lock_guard lock(wake_mutex_);
        ++wake_generation_;
    }
    wake_.notify_all();
}

NotifyService::Queue NotifyService::QueueDepth() {
    return database_.Read([&](db::Connection& c) {
        Queue q;
        q.waiting = c.QueryInt("SELECT COUNT(*) FROM messages WHERE status IN ('pending', 'sending')");
        c.Query("SELECT MIN(created_at) FROM messages WHERE status IN ('pending', 'sending')", {},
                [&](const db::Row& r) {
                    if (!r.IsNull(0)) q.oldest_created_at = r.Int(0);
                });
        return q;
    });
}

// --- admin -----------------------------------------------------------------------------------

namespace {

constexpr std::string_view kMessageColumns =
    "SELECT id, channel, event_id, event_type, template, recipient_masked, body, status, attempts, last_error,"
    " provider_id, created_at, updated_at, next_attempt_at FROM messages";

Message ReadMessage(const db::Row& r) {
    Message m;
    m.id = r.Int(0);
    m.channel = r.Text(1);
    m.event_id = r.Int(2);
    m.event_type = r.Text(3);
    m.template_name = r.Text(4);
    m.recipient = r.Text(5);
    m.body = r.Text(6);
    m.status = r.Text(7);
    m.attempts = static_cast<int>(r.Int(8));
    m.last_error = r.Text(9);
    m.provider_id = r.Text(10);
    m.created_at = r.Int(11);
    m.updated_at = r.Int(12);
    if (!r.IsNull(13) && m.status == "pending") m.next_attempt_at = r.Int(13);
    return m;
}

}  // namespace

MessagePage NotifyService::List(const MessageQuery& query) {
    std::string where = " WHERE 1 = 1";
    db::Params params;
    if (!query.channel.empty()) {
        where += " AND channel = ?";
        params.emplace_back(query.channel);
    }
    if (!query.status.empty()) {
        where += " AND status = ?";
        params.emplace_back(query.status);
    }
    return database_.Read([&](db::Connection& c) {
        MessagePage page;
        page.total = c.QueryInt("SELECT COUNT(*) FROM messages" + where, params);
        db::Params paged = params;
        paged.emplace_back(query.per_page);
        paged.emplace_back((query.page - 1) * query.per_page);
        c.Query(std::string(kMessageColumns) + where + " ORDER BY id DESC LIMIT ? OFFSET ?", paged,
                [&](const db::Row& r) { page.items.push_back(ReadMessage(r)); });
        return page;
    });
}

Result<Message> NotifyService::Retry(std::int64_t id) {
    const std::int64_t now = Now();
    Result<Message> queued = database_.Write([&](db::Connection& c) -> Result<Message> {
        std::optional<Message> m;
        c.Query(std::string(kMessageColumns) + " WHERE id = ?", {id}, [&](const db::Row& r) { m = ReadMessage(r); });
        if (!m) return Error::NotFound("There is no message " + std::to_string(id) + ".");
        if (m->status != "failed" && m->status != "dead") {
            return Error::Conflict("invalid_transition",
                                   "Only a failed or dead message can be retried; this one is " + m->status + ".");
        }
        c.Execute(
            "UPDATE messages SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ?",
            {now, now, id});
        m->status = "pending";
        m->attempts = 0;
        m->next_attempt_at = now;
        return *m;
    });
    if (queued.ok()) Wake();
    return queued;
}

const std::vector<std::string>& NotifyService::WebhookEventTypes() {
    static const std::vector<std::string> kTypes = {"order.placed",   "order.paid",      "order.seller_shipped",
                                                    "order.shipped",  "order.delivered", "order.cancelled",
                                                    "order.refunded", "product.changed"};
    return kTypes;
}

Result<Webhook> NotifyService::AddWebhook(const std::string& url, const std::vector<std::string>& events) {
    std::vector<FieldError> errors;
    auto parsed = boost::urls::parse_absolute_uri(url);
    if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->encoded_host().empty()) {
        errors.push_back(FieldError::Invalid("url", "must be an absolute http or https URL"));
    } else if (url.size() > 2000) {
        errors.push_back(FieldError::Coded("url", "too_long", "must be at most 2000 characters").With("max", 2000));
    } else if (!options_.webhook_private_targets && NamesPrivateHost(*parsed)) {
        errors.push_back(FieldError::Coded("url", "private_target",
                                           "must point at a public address, not loopback or a private network"));
    }
    for (const std::string& e : events) {
        const auto& known = WebhookEventTypes();
        if (std::find(known.begin(), known.end(), e) == known.end()) {
            errors.push_back(FieldError::Invalid("events", "has an unknown event type: " + e.substr(0, 64)));
            break;
        }
    }
    if (!errors.empty()) return Error::Validation(std::move(errors));

    unsigned char random[24];
    randombytes_buf(random, sizeof random);
    char hex[sizeof random * 2 + 1];
    sodium_bin2hex(hex, sizeof hex, random, sizeof random);
    Webhook hook;
    hook.url = url;
    hook.events = events;
    hook.created_at = Now();
    hook.secret = std::string("whsec_") + hex;
    hook.id = database_.Write([&](db::Connection& c) {
        return c.QueryInt(
            "INSERT INTO webhooks (url, secret, events, active, created_at) VALUES (?, ?, ?, 1, ?) RETURNING id",
            {url, vault_.Encrypt(kSecretField, hook.secret), Join(events), hook.created_at});
    });
    return hook;
}

std::vector<Webhook> NotifyService::Webhooks() {
    return database_.Read([&](db::Connection& c) {
        std::vector<Webhook> out;
        c.Query(
            "SELECT id, url, events, active, created_at FROM webhooks WHERE active = 1 ORDER BY id", {},
            [&](const db::Row& r) {
                out.push_back({r.Int(0), std::string(r.Text(1)), SplitList(r.Text(2)), r.Int(3) != 0, r.Int(4), ""});
            });
        return out;
    });
}

Status NotifyService::RemoveWebhook(std::int64_t id) {
    // Kept (inactive) so that the send log can still name it.
    std::int64_t changed = database_.Write([&](db::Connection& c) {
        return c.Execute("UPDATE webhooks SET active = 0 WHERE id = ? AND active = 1", {id});
    });
    if (changed == 0) return Error::NotFound("There is no webhook " + std::to_string(id) + ".");
    return Ok{};
}

}  // namespace emporium::notify
