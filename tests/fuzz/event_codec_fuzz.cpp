// The RabbitMQ message body a worker reads (events::DecodeEvent): whatever it accepts survives a
// round trip through EncodeEvent, and any event, whatever its payload text, encodes to a body
// that decodes. (A double in the payload may come back rounded: see json_compare.h.)
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "events/rabbitmq.h"
#include "json_compare.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace emporium::events;
    const std::string_view body(reinterpret_cast<const char*>(data), size);
    if (const std::optional<Event> e = DecodeEvent(body)) {
        const std::optional<Event> again = DecodeEvent(EncodeEvent(*e));
        if (!again || again->id != e->id || again->type != e->type || again->aggregate_id != e->aggregate_id ||
            !emporium::fuzz::SameJsonUpToRounding(again->payload_json, e->payload_json) ||
            again->created_at != e->created_at) {
            __builtin_trap();
        }
    }
    Event any;
    any.id = 7;
    any.type = "order.placed";
    any.payload_json = std::string(body);
    if (!DecodeEvent(EncodeEvent(any))) __builtin_trap();
    return 0;
}
