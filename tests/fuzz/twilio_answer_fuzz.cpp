// What the SMS courier makes of Twilio's answers: a send's (status and JSON body) and a message
// lookup's. Input: two bytes of HTTP status (0 to 599; 0 is "no answer"), then the body. The
// outcome is always one of the four kinds, and its error text, which reaches the admin area and
// the log, is short and valid UTF-8 whenever Twilio's body was.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/text.h"
#include "notify/sms_gateway.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace emporium;
    if (size < 2) return 0;
    http::HttpAnswer answer;
    answer.status = (data[0] << 8 | data[1]) % 600;
    answer.body.assign(reinterpret_cast<const char*>(data) + 2, size - 2);
    if (answer.status == 0) answer.error = "timed out";

    const notify::SendOutcome sent = notify::ReadSendAnswer(answer);
    const bool ok_status = answer.status >= 200 && answer.status < 300;
    if ((sent.kind == notify::SendOutcome::Kind::kSent) != ok_status) __builtin_trap();
    if (sent.kind == notify::SendOutcome::Kind::kKept) __builtin_trap();
    if (sent.error.size() > 300) __builtin_trap();
    if (IsValidUtf8(answer.body) && !IsValidUtf8(sent.error)) __builtin_trap();

    const notify::LookupOutcome found = notify::ReadLookupAnswer(answer, "Order 12 has shipped.");
    if (found.provider_id && !found.known) __builtin_trap();
    return 0;
}
