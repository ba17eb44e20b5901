#pragma once
// Internal to src/http: the routes of the durable store (see store_handlers.cpp):
// the event log, call history, transcripts and the webhook outbox.
#include <optional>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/error.hpp"
#include "net/http_types.hpp"

namespace aa {
class WorkerPool;
}
namespace aa::store {
class EventStore;
}
namespace aa::sinks {
class WebhookSender;
}

namespace aa::http {

struct StoreAccess {
  store::EventStore* store = nullptr;  // null: DATA_DIR=off
  WorkerPool* pool = nullptr;          // reads run there, never on the io thread
  sinks::WebhookSender* webhooks = nullptr;
};

/// `/events` query: since (a seq), callId, types (comma-separated event types).
struct EventsQuery {
  std::optional<uint64_t> since;
  std::string call_id;
  std::vector<std::string> types;
};
Outcome<EventsQuery> parse_events_query(const net::Request& req);

/// GET /events/log?since=&limit=&callId=&types=
awaitable<net::Response> handle_event_log(StoreAccess s, net::Request& req);
/// GET /calls/history?from=&to=&direction=&cause=&limit=&cursor=
awaitable<net::Response> handle_call_history(StoreAccess s, net::Request& req);
/// The history record of an ended call (`{"call":…}`), or nullopt when the
/// store does not know it either.
awaitable<std::optional<net::Response>> history_call_response(StoreAccess s, std::string id);
/// GET /calls/:id/transcript (`known`: the call is active or recently ended).
awaitable<net::Response> handle_transcript(StoreAccess s, std::string call_id, bool known);
/// GET /webhooks/deliveries?status=pending|failed&limit=&after=
awaitable<net::Response> handle_deliveries(StoreAccess s, net::Request& req);
/// POST /webhooks/deliveries/:id/retry
awaitable<net::Response> handle_delivery_retry(StoreAccess s, std::string id);

}  // namespace aa::http
