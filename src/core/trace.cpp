#include "core/trace.h"

#include <array>
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

// Random lowercase hex digits; trace and span ids are not secrets, only unique.
std::string RandomHex(std::size_t digits) {
    thread_local std::mt19937_64 generator{std::random_device{}()};
    static constexpr std::array<char, 16> kHex = {'0', '1', '2', '3', '4', '5', '6', '7',
                                                  '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string out;
    out.reserve(digits);
    while (out.size() < digits) {
        std::uint64_t bits = generator();
        for (int i = 0; i < 16 && out.size() < digits; ++i, bits >>= 4) out += kHex[bits & 0xf];
    }
    if (AllZeros(out)) out.back() = '1';
    return out;
}

}  // namespace

std::string TraceContext::Traceparent() const {
    return "00-" + trace_id + "-" + span_id + (sampled ? "-01" : "-00");
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
    const int flag_bits = std::stoi(std::string(flags), nullptr, 16);
    return TraceContext{std::string(trace_id), std::string(span_id), (flag_bits & 1) != 0};
}

TraceContext StartSpan(const std::optional<TraceContext>& parent) {
    if (parent) return {parent->trace_id, RandomHex(16), parent->sampled};
    return {RandomHex(32), RandomHex(16), false};
}

std::optional<TraceContext> ContinueTrace(std::string_view traceparent) {
    std::optional<TraceContext> parent = ParseTraceparent(traceparent);
    if (!parent) return std::nullopt;
    return StartSpan(parent);
}

const TraceContext* CurrentTrace() {
    return current_trace;
}

TraceScope::TraceScope(std::optional<TraceContext> trace) : trace_(std::move(trace)), previous_(current_trace) {
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
