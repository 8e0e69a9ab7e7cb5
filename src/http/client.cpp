#include "http/client.h"

#include <curl/curl.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <mutex>

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

}  // namespace

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
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    CURLcode rc = curl_easy_perform(h);
    curl_slist_free_all(headers);
    if (rc != CURLE_OK) {
        answer.error = curl_easy_strerror(rc);
        return answer;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &answer.status);
    answer.body = std::move(collected.body);
    answer.retry_after = collected.retry_after;
    return answer;
}

}  // namespace

HttpAnswer Perform(const HttpCall& call) {
    return Run(call, nullptr);
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
