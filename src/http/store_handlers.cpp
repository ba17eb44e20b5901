// The durable store's routes. Every read of the store runs on the worker pool
// (common/offload.hpp): the io thread never touches the disk.
#include "http/store_handlers.hpp"

#include <ctime>
#include <map>

#include "calls/model.hpp"
#include "common/json.hpp"
#include "common/offload.hpp"
#include "common/util.hpp"
#include "http/errors.hpp"
#include "sinks/webhook_sender.hpp"
#include "store/event_store.hpp"

namespace aa::http {

namespace {

net::Response json_response(int status, const json::Writer& w) {
  return net::Response::json(status, w.str());
}

Error store_off() {
  return Error(ErrorCode::store_unavailable,
               "The event store is off (DATA_DIR=off): there is no log or history");
}
Error pool_busy() {
  return Error(ErrorCode::store_unavailable, "The event store is busy; try again");
}

Error invalid(std::string field, std::string why) {
  Error e(ErrorCode::validation_failed, "Invalid query");
  e.details.push_back(std::move(field) + ": " + std::move(why));
  return e;
}

/// A whole number from 0 to INT64_MAX (what SQLite stores).
bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty() || s.size() > 19) return false;
  uint64_t n = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  if (n > static_cast<uint64_t>(INT64_MAX)) return false;
  out = n;
  return true;
}

/// limit: 1..max (default `def`).
Outcome<size_t> parse_limit(const net::Request& req, size_t def, size_t max) {
  auto v = req.param("limit");
  if (!v) return def;
  uint64_t n;
  if (!parse_u64(*v, n) || n < 1 || n > max)
    return invalid("limit", "must be a whole number from 1 to " + std::to_string(max));
  return static_cast<size_t>(n);
}

/// A time: Unix ms, or ISO 8601 UTC (2026-12-01T10:00:00Z, fractions allowed).
bool parse_time(std::string_view s, int64_t& ms) {
  uint64_t n;
  if (parse_u64(s, n)) {
    ms = static_cast<int64_t>(n);
    return true;
  }
  std::string t(s);
  std::tm tm{};
  int frac_ms = 0;
  char rest[16] = {};
  int y, mo, d, h, mi, sec;
  const int got =
      std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%15s", &y, &mo, &d, &h, &mi, &sec, rest);
  if (got < 6 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return false;
  std::string_view r = rest;
  if (!r.empty() && r.front() == '.') {
    r.remove_prefix(1);
    int digits = 0;
    while (!r.empty() && r.front() >= '0' && r.front() <= '9') {
      if (digits < 3) frac_ms = frac_ms * 10 + (r.front() - '0');
      ++digits;
      r.remove_prefix(1);
    }
    for (int i = digits; i < 3; ++i) frac_ms *= 10;
    if (digits == 0) return false;
  }
  if (r != "Z" && r != "+00:00") return false;
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  ms = static_cast<int64_t>(timegm(&tm)) * 1000 + frac_ms;
  return true;
}

bool known_event_type(std::string_view t) {
  for (int k = 0; k <= static_cast<int>(calls::EventKind::call_stream_error); ++k)
    if (calls::event_type_name(static_cast<calls::EventKind>(k)) == t) return true;
  return false;
}

void write_delivery(json::Writer& w, const store::Delivery& d) {
  w.begin_object()
      .field("id", std::to_string(d.id))
      .field_int("eventId", static_cast<int64_t>(d.id))
      .field("event", d.event)
      .field("callId", d.call_id)
      .field("status", d.status)
      .field_int("attempts", d.attempts)
      .field("createdAt", iso8601_utc(d.created_ms));
  if (d.status == "pending") w.field("nextAttemptAt", iso8601_utc(d.next_at_ms));
  if (d.last_status > 0) w.field_int("lastStatus", d.last_status);
  if (!d.last_error.empty()) w.field("lastError", d.last_error);
  w.end_object();
}

}  // namespace

Outcome<EventsQuery> parse_events_query(const net::Request& req) {
  EventsQuery q;
  if (auto v = req.param("since")) {
    uint64_t n;
    if (!parse_u64(*v, n)) return invalid("since", "must be a seq (a whole number)");
    q.since = n;
  }
  if (auto v = req.param("callId")) {
    if (v->empty() || v->size() > 256) return invalid("callId", "must be a call id");
    q.call_id = std::string(*v);
  }
  if (auto v = req.param("types")) {
    std::string_view rest = *v;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view t = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      if (t.empty()) continue;
      if (!known_event_type(t))
        return invalid("types", "unknown event type '" + std::string(t.substr(0, 64)) + "'");
      if (q.types.size() >= 64) return invalid("types", "at most 64 types");
      q.types.emplace_back(t);
    }
    if (q.types.empty()) return invalid("types", "must name at least one event type");
  }
  return q;
}

awaitable<net::Response> handle_event_log(StoreAccess s, net::Request& req) {
  auto q = parse_events_query(req);
  if (!q) co_return to_response(q.error());
  auto limit = parse_limit(req, 100, 1000);
  if (!limit) co_return to_response(limit.error());
  if (!s.store || !s.pool) co_return to_response(store_off());
  struct Page {
    std::vector<store::StoredEvent> events;
    uint64_t pruned_through = 0, oldest = 0;
    uint64_t scanned_to = 0;  // the last seq looked at
    bool more = false;
  };
  store::EventStore* st = s.store;
  const uint64_t since = q->since.value_or(0);
  const size_t want = *limit;
  const std::string call_id = q->call_id;
  const std::vector<std::string> types = q->types;
  std::function<Outcome<Page>()> job = [st, since, want, call_id, types]() -> Outcome<Page> {
    Page p;
    st->flush(std::chrono::seconds(2));  // what was published is readable
    p.pruned_through = st->pruned_through();
    p.oldest = st->oldest_seq();
    uint64_t after = since;
    // Type filters are applied here: read on until `want` match (or the end).
    bool end = false;
    for (int rounds = 0; rounds < 50 && !p.more && !end; ++rounds) {
      auto r = st->read(after, want + 1, call_id);
      if (!r) return r.error();
      end = r->size() <= want;
      for (auto& e : *r) {
        if (!types.empty() && std::find(types.begin(), types.end(), e.type) == types.end()) {
          after = e.seq;
          continue;
        }
        if (p.events.size() == want) {
          p.more = true;  // a match beyond the page
          break;
        }
        after = e.seq;
        p.events.push_back(std::move(e));
      }
    }
    // Rounds used up on rows that did not match: say where to go on from.
    if (!p.more && !end) p.more = true;
    p.scanned_to = after;
    return p;
  };
  auto page = co_await offload<Page>(*s.pool, std::move(job), pool_busy());
  if (!page) co_return to_response(page.error());
  json::Writer w;
  w.begin_object().key("events").begin_array();
  for (const auto& e : page->events) w.raw(e.body);
  w.end_array();
  // Where the next page starts: after the last event returned, or after the
  // rows looked at when a type filter matched none of them.
  const uint64_t next = page->more             ? std::max(page->scanned_to, since)
                        : page->events.empty() ? since
                                               : page->events.back().seq;
  w.field_int("nextSince", static_cast<int64_t>(next));
  w.field_bool("hasMore", page->more);
  w.field_int("oldestSeq", static_cast<int64_t>(page->oldest));
  if (since < page->pruned_through)
    w.key("gap")
        .begin_object()
        .field_int("from", static_cast<int64_t>(since + 1))
        .field_int("to", static_cast<int64_t>(page->pruned_through))
        .end_object();
  w.end_object();
  co_return json_response(200, w);
}

awaitable<net::Response> handle_call_history(StoreAccess s, net::Request& req) {
  store::CallQuery q;
  if (auto v = req.param("from"); v && !parse_time(*v, q.from_ms))
    co_return to_response(invalid("from", "must be an ISO 8601 UTC time or Unix ms"));
  if (auto v = req.param("to"); v && !parse_time(*v, q.to_ms))
    co_return to_response(invalid("to", "must be an ISO 8601 UTC time or Unix ms"));
  if (auto v = req.param("direction")) {
    if (*v != "inbound" && *v != "outbound")
      co_return to_response(invalid("direction", "must be inbound or outbound"));
    q.direction = std::string(*v);
  }
  if (auto v = req.param("cause")) {
    if (v->empty() || v->size() > 64) co_return to_response(invalid("cause", "must be a cause"));
    q.cause = std::string(*v);
  }
  auto limit = parse_limit(req, 50, 500);
  if (!limit) co_return to_response(limit.error());
  q.limit = *limit + 1;  // one more: is there a next page?
  if (auto v = req.param("cursor")) {
    // "<created ms>.<call id>": the last call of the previous page.
    const auto dot = v->find('.');
    uint64_t created;
    if (dot == std::string_view::npos || !parse_u64(v->substr(0, dot), created) ||
        dot + 1 >= v->size() || v->size() > 300)
      co_return to_response(invalid("cursor", "must be a nextCursor this route returned"));
    q.before = std::make_pair(static_cast<int64_t>(created), std::string(v->substr(dot + 1)));
  }
  if (!s.store || !s.pool) co_return to_response(store_off());
  store::EventStore* st = s.store;
  std::function<Outcome<std::vector<store::CallRow>>()> job = [st, q]() { return st->calls(q); };
  auto rows = co_await offload<std::vector<store::CallRow>>(*s.pool, std::move(job), pool_busy());
  if (!rows) co_return to_response(rows.error());
  const bool more = rows->size() > *limit;
  if (more) rows->resize(*limit);
  json::Writer w;
  w.begin_object().key("calls").begin_array();
  for (const auto& r : *rows) w.raw(r.record);
  w.end_array();
  w.key("nextCursor");
  if (more)
    w.string(std::to_string(rows->back().created_ms) + "." + rows->back().id);
  else
    w.null();
  w.end_object();
  co_return json_response(200, w);
}

awaitable<std::optional<net::Response>> history_call_response(StoreAccess s, std::string id) {
  if (!s.store || !s.pool) co_return std::nullopt;
  store::EventStore* st = s.store;
  std::function<Outcome<std::optional<store::CallRow>>()> job = [st, id]() { return st->call(id); };
  auto row = co_await offload<std::optional<store::CallRow>>(*s.pool, std::move(job), pool_busy());
  if (!row) co_return to_response(row.error());
  if (!*row) co_return std::nullopt;
  json::Writer w;
  w.begin_object().key("call").raw((*row)->record).end_object();
  co_return json_response(200, w);
}

awaitable<net::Response> handle_transcript(StoreAccess s, std::string call_id, bool known) {
  if (!s.store || !s.pool) co_return to_response(store_off());
  store::EventStore* st = s.store;
  struct Found {
    std::vector<store::StoredEvent> events;
    bool in_history = false;
  };
  std::function<Outcome<Found>()> job = [st, call_id]() -> Outcome<Found> {
    Found f;
    auto row = st->call(call_id);
    if (!row) return row.error();
    f.in_history = row->has_value();
    uint64_t after = 0;
    for (int i = 0; i < 20; ++i) {  // at most 20,000 events of one call
      auto r = st->read(after, 1000, call_id);
      if (!r) return r.error();
      if (r->empty()) break;
      after = r->back().seq;
      for (auto& e : *r)
        if (e.type == "call.transcription" || e.type == "call.speak_started" ||
            e.type == "call.speak_finished")
          f.events.push_back(std::move(e));
      if (r->size() < 1000) break;
    }
    return f;
  };
  auto found = co_await offload<Found>(*s.pool, std::move(job), pool_busy());
  if (!found) co_return to_response(found.error());
  if (!known && !found->in_history && found->events.empty())
    co_return to_response(Error(ErrorCode::call_not_found, "Call not found"));
  // Final transcriptions (the caller) and speech (the agent), in order; a
  // speech's interruption is read from its speak_finished.
  struct Line {
    uint64_t seq;
    std::string timestamp, speaker, text, speak_id;
    bool interrupted = false;
  };
  std::vector<Line> lines;
  std::map<std::string, size_t> by_speak;
  for (const auto& e : found->events) {
    auto doc = json::parse(e.body);
    if (!doc) continue;
    const auto* data = json::find(*doc, "data");
    if (!data) continue;
    const std::string ts(json::get_string(*doc, "timestamp"));
    if (e.type == "call.transcription") {
      const auto* fin = json::find(*data, "is_final");
      if (!fin || !fin->IsBool() || !fin->GetBool()) continue;
      lines.push_back({e.seq, ts, "caller", std::string(json::get_string(*data, "text")), {}});
    } else if (e.type == "call.speak_started") {
      const std::string id(json::get_string(*data, "speakId"));
      by_speak[id] = lines.size();
      lines.push_back({e.seq, ts, "agent", std::string(json::get_string(*data, "text")), id});
    } else {
      const auto* intr = json::find(*data, "interrupted");
      auto it = by_speak.find(std::string(json::get_string(*data, "speakId")));
      if (it != by_speak.end() && intr && intr->IsBool() && intr->GetBool())
        lines[it->second].interrupted = true;
    }
  }
  json::Writer w;
  w.begin_object().field("callId", call_id).key("transcript").begin_array();
  for (const auto& l : lines) {
    w.begin_object()
        .field_int("seq", static_cast<int64_t>(l.seq))
        .field("timestamp", l.timestamp)
        .field("speaker", l.speaker)
        .field("text", l.text);
    if (!l.speak_id.empty())
      w.field("speakId", l.speak_id).field_bool("interrupted", l.interrupted);
    w.end_object();
  }
  w.end_array().end_object();
  co_return json_response(200, w);
}

awaitable<net::Response> handle_deliveries(StoreAccess s, net::Request& req) {
  std::string status = "pending";
  if (auto v = req.param("status")) {
    if (*v != "pending" && *v != "failed")
      co_return to_response(invalid("status", "must be pending or failed"));
    status = std::string(*v);
  }
  auto limit = parse_limit(req, 100, 1000);
  if (!limit) co_return to_response(limit.error());
  uint64_t after = 0;
  if (auto v = req.param("after"); v && !parse_u64(*v, after))
    co_return to_response(invalid("after", "must be a delivery id"));
  std::vector<store::Delivery> list;
  const bool on = s.webhooks && s.webhooks->enabled();
  if (status == "pending") {
    if (on) list = s.webhooks->pending(*limit, after);
  } else if (s.store && s.pool) {
    store::EventStore* st = s.store;
    const size_t n = *limit;
    std::function<Outcome<std::vector<store::Delivery>>()> job = [st, n, after]() {
      return st->deliveries("failed", n, after);
    };
    auto r = co_await offload<std::vector<store::Delivery>>(*s.pool, std::move(job), pool_busy());
    if (!r) co_return to_response(r.error());
    list = std::move(*r);
  } else if (on) {
    list = s.webhooks->failed_recent(*limit, after);
  }
  json::Writer w;
  w.begin_object().field_bool("enabled", on).key("deliveries").begin_array();
  for (const auto& d : list) write_delivery(w, d);
  w.end_array().end_object();
  co_return json_response(200, w);
}

awaitable<net::Response> handle_delivery_retry(StoreAccess s, std::string id) {
  uint64_t n;
  if (!parse_u64(id, n))
    co_return to_response(Error(ErrorCode::delivery_not_found, "Delivery not found"));
  if (!s.webhooks || !s.webhooks->enabled())
    co_return to_response(
        Error(ErrorCode::delivery_not_found, "Webhooks are off (WEBHOOK_URL is not set)"));
  std::optional<store::Delivery> d = s.webhooks->retry_now(n);
  if (!d) {
    std::optional<store::Delivery> failed;
    if (s.store && s.pool) {
      store::EventStore* st = s.store;
      std::function<Outcome<std::optional<store::Delivery>>()> job = [st, n]() {
        return st->delivery(n);
      };
      auto r =
          co_await offload<std::optional<store::Delivery>>(*s.pool, std::move(job), pool_busy());
      if (!r) co_return to_response(r.error());
      failed = std::move(*r);
    } else {
      for (auto& f : s.webhooks->failed_recent(1000))
        if (f.id == n) failed = f;
    }
    if (!failed) co_return to_response(Error(ErrorCode::delivery_not_found, "Delivery not found"));
    // Only a failed one is queued again: a pending one is on its way (or just delivered).
    if (failed->status != "failed")
      co_return to_response(
          Error(ErrorCode::wrong_state, "The delivery is pending; it is attempted as scheduled"));
    d = s.webhooks->requeue(std::move(*failed));
    if (!d)
      co_return to_response(
          Error(ErrorCode::wrong_state, "The webhook outbox is full; try again later"));
  }
  json::Writer w;
  w.begin_object().key("delivery");
  write_delivery(w, *d);
  w.end_object();
  co_return json_response(202, w);
}

}  // namespace aa::http
