#include "core/trace.h"

#include <array>
#include <charconv>
#include <ostream>
#include <random>

namespace emporium {
namespace {

thread_local const TraceContext* current_trace = nullptr;

bool IsLowerHex(std::string_view text) {
    for (char c : text) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

bool AllZeros(std::string_view text) {
    return text.find_first_not_of('0') == std::string_view::npos;
}

// N random lowercase hex digits, never all zeros; trace and span ids are not secrets, only unique.
template <std::size_t N>
HexId<N> RandomId() {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                  '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::array<char, N> digits{};
    for (std::size_t i = 0; i < N; i += 16) {
        std::uint64_t bits = generator();
        for (std::size_t j = i; j < i + 16 && j < N; ++j, bits >>= 4) digits[j] = kHex[bits & 0xf];
    }
    const std::string_view text(digits.data(), N);
    if (AllZeros(text)) digits[N - 1] = '1';
    return HexId<N>(text);
}

}  // namespace

std::ostream& operator<<(std::ostream& out, const TraceId& id) {
    return out << id.view();
}

std::ostream& operator<<(std::ostream& out, const SpanId& id) {
    return out << id.view();
}

std::string TraceContext::Traceparent() const {
    std::string out;
    out.reserve(55);
    out += "00-";
    out += trace_id.view();
    out += '-';
    out += span_id.view();
    out += sampled ? "-01" : "-00";
    return out;
}

std::optional<TraceContext> ParseTraceparent(std::string_view header) {
    // version "-" trace-id "-" parent-id "-" flags: 2 + 1 + 32 + 1 + 16 + 1 + 2 = 55 characters.
    constexpr std::size_t kLength = 55;
    if (header.size() < kLength || header[2] != '-' || header[35] != '-' || header[52] != '-') return std::nullopt;
    const std::string_view version = header.substr(0, 2);
    const std::string_view trace_id = header.substr(3, 32);
    const std::string_view span_id = header.substr(36, 16);
    const std::string_view flags = header.substr(53, 2);
    if (!IsLowerHex(version) || version == "ff" || !IsLowerHex(trace_id) || !IsLowerHex(span_id) ||
        !IsLowerHex(flags) || AllZeros(trace_id) || AllZeros(span_id)) {
        return std::nullopt;
    }
    // Version 00 is exactly 55 characters; a later version may add fields after a '-'.
    if (header.size() > kLength && (version == "00" || header[kLength] != '-')) return std::nullopt;
    int flag_bits = 0;
    std::from_chars(flags.data(), flags.data() + flags.size(), flag_bits, 16);  // two hex digits, checked above
    return TraceContext{TraceId(trace_id), SpanId(span_id), (flag_bits & 1) != 0};
}

TraceContext StartSpan(const std::optional<TraceContext>& parent) {
    if (parent) return StartSpan(*parent);
    return {RandomId<32>(), RandomId<16>(), false};
}

TraceContext StartSpan(const TraceContext& parent) {
    return {parent.trace_id, RandomId<16>(), parent.sampled};
}

std::optional<TraceContext> ContinueTrace(std::string_view traceparent) {
    std::optional<TraceContext> parent = ParseTraceparent(traceparent);
    if (!parent) return std::nullopt;
    return StartSpan(parent);
}

const TraceContext* CurrentTrace() {
    return current_trace;
}

TraceScope::TraceScope(std::optional<TraceContext> trace) : trace_(trace), previous_(current_trace) {
    if (trace_) current_trace = &*trace_;
}

TraceScope::TraceScope(const TraceContext* trace)
    : trace_(trace ? std::optional<TraceContext>(*trace) : std::nullopt), previous_(current_trace) {
    current_trace = trace_ ? &*trace_ : nullptr;
}

TraceScope::~TraceScope() {
    current_trace = previous_;
}

std::string CurrentTraceparent() {
    return current_trace ? current_trace->Traceparent() : std::string();
}

}  // namespace emporium
