#include "http/client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>

#include "core/trace.h"
#include "tracing/span.h"

namespace emporium::http {
namespace {

constexpr std::size_t kMaxBody = std::size_t{64} * 1024;

struct Collected {
    std::string body;
    std::optional<std::chrono::seconds> retry_after;
};

std::size_t OnBody(char* data, std::size_t size, std::size_t count, void* user) {
    auto* c = static_cast<Collected*>(user);
    const std::size_t n = size * count;
    if (c->body.size() < kMaxBody) c->body.append(data, std::min(n, kMaxBody - c->body.size()));
    return n;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t count, void* user) {
    auto* c = static_cast<Collected*>(user);
    const std::size_t n = size * count;
    std::string_view line(data, n);
    constexpr std::string_view kName = "retry-after:";
    if (line.size() > kName.size()) {
        std::string lower(line.substr(0, kName.size()));
        for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        if (lower == kName) {
            std::string_view v = line.substr(kName.size());
            long long seconds = 0;
            bool digits = false;
            for (char ch : v) {
                if (ch >= '0' && ch <= '9') {
                    seconds = seconds * 10 + (ch - '0');
                    digits = true;
                    if (seconds > 86400) break;
                } else if (digits) {
                    break;
                }
            }
            if (digits) c->retry_after = std::chrono::seconds(std::min<long long>(seconds, 86400));
        }
    }
    return n;
}

bool IsPublicV4(const unsigned char* a) {
    struct Range {
        std::uint32_t network;
        int bits;
    };
    // Every range IANA marks as not globally reachable, plus multicast and the reserved block.
    static constexpr std::array<Range, 15> kNotPublic{{
        {0x00000000, 8},   // "this network"
        {0x0A000000, 8},   // private
        {0x64400000, 10},  // shared address space (carrier NAT)
        {0x7F000000, 8},   // loopback
        {0xA9FE0000, 16},  // link-local, cloud metadata services
        {0xAC100000, 12},  // private
        {0xC0000000, 24},  // IETF protocol assignments
        {0xC0000200, 24},  // documentation
        {0xC0586300, 24},  // 6to4 relay anycast (deprecated)
        {0xC0A80000, 16},  // private
        {0xC6120000, 15},  // benchmarking
        {0xC6336400, 24},  // documentation
        {0xCB007100, 24},  // documentation
        {0xE0000000, 4},   // multicast
        {0xF0000000, 4},   // reserved, and the broadcast address
    }};
    const std::uint32_t ip =
        (std::uint32_t{a[0]} << 24) | (std::uint32_t{a[1]} << 16) | (std::uint32_t{a[2]} << 8) | a[3];
    for (const Range& r : kNotPublic) {
        const std::uint32_t mask = ~std::uint32_t{0} << (32 - r.bits);
        if ((ip & mask) == r.network) return false;
    }
    return true;
}

bool IsPublicV6(const unsigned char* a) {
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
    static constexpr unsigned char kNat64[12] = {0x00, 0x64, 0xFF, 0x9B, 0, 0, 0, 0, 0, 0, 0, 0};
    if (std::memcmp(a, kMapped, 12) == 0 || std::memcmp(a, kNat64, 12) == 0) return IsPublicV4(a + 12);
    bool leading_zero = true;  // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d
    for (int i = 0; i < 12; ++i) leading_zero = leading_zero && a[i] == 0;
    if (leading_zero) return false;
    if ((a[0] & 0xFE) == 0xFC) return false;                  // fc00::/7 unique local
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0x80) return false;  // fe80::/10 link-local
    if (a[0] == 0xFE && (a[1] & 0xC0) == 0xC0) return false;  // fec0::/10 site-local (deprecated)
    if (a[0] == 0xFF) return false;                           // multicast
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0D && a[3] == 0xB8) return false;  // documentation
    if (a[0] == 0x20 && a[1] == 0x02) return IsPublicV4(a + 2);                      // 6to4 embeds an IPv4
    return (a[0] & 0xE0) == 0x20;                                                    // only 2000::/3 is global unicast
}

bool IsPublicSockaddr(const sockaddr* address) {
    if (address->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(address);
        return IsPublicV4(reinterpret_cast<const unsigned char*>(&in->sin_addr));
    }
    if (address->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(address);
        return IsPublicV6(in6->sin6_addr.s6_addr);
    }
    return false;
}

// Set on the handle of a public_only call: every socket curl is about to open is checked against
// the resolved address, so a name that resolves to a private address is refused at connect time.
struct Guard {
    bool refused = false;
};

curl_socket_t OpenPublicSocket(void* user, curlsocktype purpose, curl_sockaddr* address) {
    auto* guard = static_cast<Guard*>(user);
    if (purpose != CURLSOCKTYPE_IPCXN || !IsPublicSockaddr(&address->addr)) {
        guard->refused = true;
        return CURL_SOCKET_BAD;
    }
    return ::socket(address->family, address->socktype, address->protocol);
}

}  // namespace

bool IsPublicAddress(std::string_view address) {
    const std::string text(address);
    unsigned char bytes[16];
    if (::inet_pton(AF_INET, text.c_str(), bytes) == 1) return IsPublicV4(bytes);
    if (::inet_pton(AF_INET6, text.c_str(), bytes) == 1) return IsPublicV6(bytes);
    return false;
}

void InitHttpClient() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

namespace {

std::size_t OnFileBody(char* data, std::size_t size, std::size_t count, void* user) {
    auto* out = static_cast<std::FILE*>(user);
    return std::fwrite(data, 1, size * count, out);
}

HttpAnswer Run(const HttpCall& call, std::FILE* sink) {
    InitHttpClient();
    HttpAnswer answer;
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> curl(curl_easy_init(), &curl_easy_cleanup);
    if (!curl) {
        answer.error = "curl_easy_init failed";
        return answer;
    }
    CURL* h = curl.get();
    Collected collected;
    curl_easy_setopt(h, CURLOPT_URL, call.url.c_str());
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(call.timeout.count()));
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(std::min<long long>(call.timeout.count(), 5000)));
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    if (sink) {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnFileBody);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, sink);
    } else {
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, &OnBody);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &collected);
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, &OnHeader);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &collected);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "emporium/0.1");
    Guard guard;
    if (call.public_only) {
        curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, &OpenPublicSocket);
        curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &guard);
        curl_easy_setopt(h, CURLOPT_PROXY, "");  // the check must see the receiver, not a proxy
    }
    if (call.method == "POST") {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, call.body.data());
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(call.body.size()));
    } else if (call.method != "GET") {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, call.method.c_str());
    }
    if (!call.basic_user.empty()) {
        curl_easy_setopt(h, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
        curl_easy_setopt(h, CURLOPT_USERNAME, call.basic_user.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, call.basic_password.c_str());
    }
    curl_slist* headers = nullptr;
    for (const std::string& header : call.headers) headers = curl_slist_append(headers, header.c_str());
    headers = curl_slist_append(headers, "Expect:");  // no 100-continue round trip
    // The trace goes on to the receiver (Twilio, a webhook): a span of the current one.
    // When the work is traced, the current span is Perform's own "http.client" span.
    if (const TraceContext* trace = CurrentTrace()) {
        const std::string traceparent =
            tracing::CurrentCollector() ? trace->Traceparent() : StartSpan(*trace).Traceparent();
        headers = curl_slist_append(headers, ("traceparent: " + traceparent).c_str());
    }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        answer.error = guard.refused ? "refused: the address is not public" : curl_easy_strerror(rc);
        return answer;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answer.status);
    answer.body = std::move(collected.body);
    answer.retry_after = collected.retry_after;
    return answer;
}

}  // namespace

HttpAnswer Perform(const HttpCall& call) {
    tracing::Span span("http.client", tracing::SpanKind::kClient);
    span.Set("http.request.method", call.method);
    HttpAnswer answer = Run(call, nullptr);
    span.Set("http.response.status_code", static_cast<std::int64_t>(answer.status));
    if (!answer.error.empty() || answer.status >= 500) span.SetError();
    return answer;
}

HttpAnswer Download(const HttpCall& call, const std::string& path) {
    std::FILE* out = std::fopen(path.c_str(), "wb");
    if (!out) {
        HttpAnswer answer;
        answer.error = "cannot write " + path;
        return answer;
    }
    HttpAnswer answer = Run(call, out);
    const bool written = std::fflush(out) == 0 && ::fsync(fileno(out)) == 0;
    std::fclose(out);
    if (!written && answer.status >= 200 && answer.status < 300) {
        answer.status = 0;
        answer.error = "cannot write " + path;
    }
    if (answer.status < 200 || answer.status >= 300) std::remove(path.c_str());
    return answer;
}

std::string FormEncode(std::string_view text) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    out.reserve(text.size() * 3);
    for (unsigned char ch : text) {
        if (std::isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            out.push_back(static_cast<char>(ch));
        } else {
            out.push_back('%');
            out.push_back(kHex[ch >> 4]);
            out.push_back(kHex[ch & 15]);
        }
    }
    return out;
}

}  // namespace emporium::http
