#pragma once
// Internal to src/http: the agent stream routes (see stream_handlers.cpp).
#include <optional>
#include <string>

#include "common/asio.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "net/http_types.hpp"
#include "stream/agent_stream.hpp"

namespace aa::stream {
class StreamManager;
}

namespace aa::http {

class FieldReader;

/// The stream object {url, customParameters?, format?, tracks?, onStreamEnd?}
/// of POST /calls/:id/stream and of POST /calls `stream`. Problems are added
/// to `f` (field names prefixed as `f` prefixes them).
stream::StreamRequest read_stream_request(FieldReader& f);
/// POST /calls `stream` (absent: nullopt). Errors: 400 naming the field.
Outcome<std::optional<stream::StreamRequest>> parse_originate_stream(const net::Request& req);
/// The query of an agent's own upgrade on /calls/:id/stream: format, tracks,
/// onStreamEnd and any other parameter as a custom parameter. Errors: 400.
Outcome<stream::StreamRequest> parse_stream_query(const net::Request& req);

awaitable<net::Response> handle_stream_start(stream::StreamManager* sm, net::Request& req,
                                             std::string call_id);
awaitable<net::Response> handle_stream_stop(stream::StreamManager* sm, net::Request& req,
                                            std::string call_id);

}  // namespace aa::http
