#include "api/wire.hpp"

#include "common/util.hpp"

namespace aa::api {

using calls::CallRecord;
using calls::DomainEvent;
using calls::EventKind;

void write_call(json::Writer& w, const CallRecord& c) {
  w.begin_object();
  w.field("id", c.id).field("callId", c.id).field("channelId", c.channel_id);
  if (!c.bridge_id.empty()) w.field("bridgeId", c.bridge_id);
  w.field("state", calls::to_string(c.state)).field("direction", calls::to_string(c.direction));
  w.field("callerName", c.caller_name);
  w.field("callerNumber", c.caller_number).field("calleeNumber", c.callee_number);
  w.field("createdAt", iso8601_utc(c.created_at_ms));
  if (c.answered_at_ms) w.field("answeredAt", iso8601_utc(c.answered_at_ms));
  if (c.ended_at_ms) w.field("endedAt", iso8601_utc(c.ended_at_ms));
  if (!c.hangup_cause.empty()) w.field("hangupCause", c.hangup_cause);
  w.key("recordings").begin_array();
  for (const auto& r : c.recordings) w.string(r);
  w.end_array();
  w.end_object();
}

void write_playbacks(json::Writer& w, const std::vector<calls::PlaybackItem>& items) {
  w.begin_array();
  for (const auto& p : items)
    w.begin_object()
        .field("playbackId", p.playback_id)
        .field("media", p.media)
        .field("status", calls::to_string(p.status))
        .end_object();
  w.end_array();
}

std::string playbacks_json(const std::vector<calls::PlaybackItem>& items) {
  json::Writer w;
  write_playbacks(w, items);
  return w.str();
}

void write_bridge(json::Writer& w, const calls::BridgeRecord& b) {
  w.begin_object();
  w.field("id", b.id).field("name", b.name).field("type", b.type);
  w.key("channelIds").begin_array();
  for (const auto& c : b.channel_ids) w.string(c);
  w.end_array();
  w.field("createdAt", iso8601_utc(b.created_at_ms));
  w.end_object();
}

namespace {

// The `data` members of an event, shared by the envelope and the webhook body.
void write_event_data(json::Writer& w, const DomainEvent& e) {
  switch (e.kind) {
    case EventKind::call_created:
      if (e.call) {
        w.field("state", calls::to_string(e.call->state))
            .field("direction", calls::to_string(e.call->direction))
            .field("callerName", e.call->caller_name)
            .field("callerNumber", e.call->caller_number)
            .field("calleeNumber", e.call->callee_number);
      }
      break;
    case EventKind::call_state_changed:
      w.field("previousState", calls::to_string(e.previous_state))
          .field("state", calls::to_string(e.state));
      break;
    case EventKind::call_ready:
      break;
    case EventKind::call_dtmf:
      w.field("digit", e.digit);
      break;
    case EventKind::call_playback_started:
    case EventKind::call_playback_finished:
      w.field("playbackId", e.playback_id).field("media", e.media);
      if (!e.cause.empty()) w.field("status", e.cause);
      break;
    case EventKind::call_recording_started:
    case EventKind::call_recording_finished:
    case EventKind::call_recording_failed:
      w.field("name", e.recording_name).field("format", e.recording_format);
      if (e.duration) w.field_int("duration", *e.duration);
      if (!e.cause.empty()) w.field("cause", e.cause);
      break;
    case EventKind::call_ended:
      w.field("cause", e.cause);
      break;
    case EventKind::bridge_created:
      w.field("bridgeId", e.bridge_id).field("name", e.bridge_name).field("type", e.bridge_type);
      break;
    case EventKind::bridge_destroyed:
      w.field("bridgeId", e.bridge_id);
      break;
  }
}

}  // namespace

std::string event_envelope(const DomainEvent& e) {
  json::Writer w;
  w.begin_object();
  w.field("type", calls::event_type_name(e.kind));
  w.field("callId", e.call_id);
  w.field("timestamp", iso8601_utc(e.timestamp_ms));
  if (!e.call_id.empty()) w.field("state", calls::to_string(e.state));
  w.key("seq").integer(static_cast<int64_t>(e.seq));
  w.key("data").begin_object();
  write_event_data(w, e);
  w.end_object();
  w.end_object();
  return w.str();
}

std::string_view webhook_event_name(const DomainEvent& e) {
  switch (e.kind) {
    case EventKind::call_created:
      return e.call && e.call->direction == calls::Direction::inbound ? "call.inbound"
                                                                       : "call.created";
    case EventKind::call_state_changed:
      return e.state == calls::CallState::answered &&
                     (e.previous_state == calls::CallState::ringing ||
                      e.previous_state == calls::CallState::initiating)
                 ? "call.answered"
                 : "call.state_changed";
    default:
      return calls::event_type_name(e.kind);
  }
}

std::string webhook_body(const DomainEvent& e) {
  json::Writer w;
  w.begin_object();
  w.field("event", webhook_event_name(e));
  w.key("data").begin_object();
  if (e.call) {
    // CallRecord fields first, then the event's own fields (contract: CallRecord + extra).
    json::Writer call;
    write_call(call, *e.call);
    auto parsed = json::parse(call.view());
    if (parsed) {
      for (auto& m : parsed->GetObject()) {
        w.key(json::as_view(m.name));
        w.value(m.value);
      }
    }
  }
  json::Writer extra;
  extra.begin_object();
  write_event_data(extra, e);
  extra.end_object();
  if (auto parsed = json::parse(extra.view())) {
    for (auto& m : parsed->GetObject()) {
      std::string_view k = json::as_view(m.name);
      if (e.call && k == "state") continue;  // the record already says it
      w.key(k);
      w.value(m.value);
    }
  }
  w.end_object();
  w.field("timestamp", iso8601_utc(e.timestamp_ms));
  w.key("seq").integer(static_cast<int64_t>(e.seq));
  w.end_object();
  return w.str();
}

std::string snapshot(const std::vector<CallRecord>& calls) {
  json::Writer w;
  w.begin_object().field("type", "snapshot").key("calls").begin_array();
  for (const auto& c : calls) write_call(w, c);
  w.end_array().field("timestamp", iso8601_now()).end_object();
  return w.str();
}

std::string error_body(const Error& e) {
  json::Writer w;
  w.begin_object().field("error", e.message);
  if (!e.details.empty()) {
    w.key("details").begin_array();
    for (const auto& d : e.details) w.string(d);
    w.end_array();
  }
  w.field("code", error_code_name(e.code));
  for (const auto& [key, value] : e.extra) w.key(key).raw(value);
  w.end_object();
  return w.str();
}

}  // namespace aa::api
