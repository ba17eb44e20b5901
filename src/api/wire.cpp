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
  if (c.audio_capture) {
    w.key("audioCapture");
    write_audio_capture(w, *c.audio_capture);
  }
  w.end_object();
}

void write_audio_capture(json::Writer& w, const calls::AudioCapture& a) {
  w.begin_object();
  w.field_bool("enabled", a.enabled);
  // The original captured through a snoop channel; one media session needs none.
  w.key("snoopChannelId").null();
  w.field("externalMediaChannelId", a.external_media_channel_id);
  w.field("format", a.format);
  w.field_int("sampleRate", a.sample_rate);
  w.field("startedAt", iso8601_utc(a.started_at_ms));
  w.key("asr");
  if (a.asr.empty())
    w.null();
  else
    w.string(a.asr);
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

void write_call_summary(json::Writer& w, const DomainEvent& e) {
  if (!e.call) return;
  w.field("state", calls::to_string(e.call->state))
      .field("direction", calls::to_string(e.call->direction))
      .field("callerNumber", e.call->caller_number)
      .field("calleeNumber", e.call->callee_number);
}

// The `data` members of a voice event.
void write_voice_data(json::Writer& w, const DomainEvent& e) {
  static const calls::VoiceEvent kEmpty;
  const calls::VoiceEvent& v = e.voice ? *e.voice : kEmpty;
  switch (e.kind) {
    case EventKind::call_speak_started:
      w.field("speakId", v.speak_id).field("text", v.text).field("voice", v.voice);
      w.field("language", v.language);
      break;
    case EventKind::call_speak_finished:
      w.field("speakId", v.speak_id).field("text", v.text).field("voice", v.voice);
      w.field("language", v.language);
      w.key("durationSeconds").number(v.duration_s.value_or(0));
      if (v.interrupted) w.field_bool("interrupted", true);
      break;
    case EventKind::call_speak_error:
      w.field("speakId", v.speak_id).field("text", v.text).field("error", v.error);
      break;
    case EventKind::call_playback_stream_started:
    case EventKind::call_playback_stream_finished:
      w.field("speakId", v.speak_id);
      if (v.interrupted) w.field_bool("interrupted", true);
      break;
    case EventKind::call_playback_stream_error:
    case EventKind::call_audio_capture_error:
      if (!v.speak_id.empty()) w.field("speakId", v.speak_id);
      w.field("error", v.error);
      break;
    case EventKind::call_audio_capture_started:
      if (v.capture) {
        // The same object as the /audio/start answer's audioCapture.
        json::Writer cap;
        write_audio_capture(cap, *v.capture);
        if (auto parsed = json::parse(cap.view()))
          for (auto& m : parsed->GetObject()) {
            w.key(json::as_view(m.name));
            w.value(m.value);
          }
      }
      break;
    case EventKind::call_audio_capture_stopped:
      w.field("reason", v.reason);
      break;
    case EventKind::call_transcription:
      w.field("text", v.text)
          .field_bool("is_partial", !v.is_final)
          .field_bool("is_final", v.is_final);
      break;
    case EventKind::call_audio_frame:
      w.field_int("timestamp", v.audio_timestamp_ms)
          .field("format", "slin16")
          .field_int("sampleRate", v.sample_rate)
          .field_int("channels", 1)
          .field_int("sampleCount", v.sample_count)
          .field("data", v.audio_b64);
      break;
    case EventKind::call_blocked:
      w.field("number", v.number).field("reason", v.reason).field("channelId", v.channel_id);
      break;
    case EventKind::call_stream_started:
      w.field("streamSid", v.stream_sid).field("url", v.url);
      break;
    case EventKind::call_stream_stopped:
      w.field("streamSid", v.stream_sid).field("reason", v.reason);
      break;
    case EventKind::call_stream_error:
      w.field("streamSid", v.stream_sid).field("error", v.error);
      break;
    default:
      break;
  }
}

// The `data` members of an event, shared by the envelope and the webhook body.
void write_event_data(json::Writer& w, const DomainEvent& e) {
  switch (e.kind) {
    case EventKind::call_inbound:
      write_call_summary(w, e);
      break;
    case EventKind::call_answered:
      write_call_summary(w, e);
      if (e.call && e.call->answered_at_ms)
        w.field("answeredAt", iso8601_utc(e.call->answered_at_ms));
      break;
    case EventKind::call_speak_started:
    case EventKind::call_speak_finished:
    case EventKind::call_speak_error:
    case EventKind::call_playback_stream_started:
    case EventKind::call_playback_stream_finished:
    case EventKind::call_playback_stream_error:
    case EventKind::call_audio_capture_started:
    case EventKind::call_audio_capture_stopped:
    case EventKind::call_audio_capture_error:
    case EventKind::call_transcription:
    case EventKind::call_audio_frame:
    case EventKind::call_blocked:
    case EventKind::call_stream_started:
    case EventKind::call_stream_stopped:
    case EventKind::call_stream_error:
      write_voice_data(w, e);
      break;
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
  // compat: the AI-agent client reads these at the top level, not in `data`.
  switch (e.kind) {
    case EventKind::call_created:
    case EventKind::call_ready:
    case EventKind::call_inbound:
    case EventKind::call_answered:
      if (e.call) {
        w.field("channelId", e.call->channel_id)
            .field("direction", calls::to_string(e.call->direction))
            .field("callerNumber", e.call->caller_number)
            .field("calleeNumber", e.call->callee_number);
      }
      break;
    case EventKind::call_transcription:
      if (e.voice) {
        w.field("text", e.voice->text)
            .field_bool("is_partial", !e.voice->is_final)
            .field_bool("is_final", e.voice->is_final);
      }
      break;
    case EventKind::call_dtmf:
      w.field("digit", e.digit);
      break;
    default:
      break;
  }
  w.key("seq").integer(static_cast<int64_t>(e.seq));
  w.key("data").begin_object();
  write_event_data(w, e);
  w.end_object();
  w.end_object();
  return w.str();
}

std::string_view webhook_event_name(const DomainEvent& e) {
  switch (e.kind) {
    // Webhooks have always said these through call.created / call.state_changed
    // (below); the /events-only kinds would repeat them. Audio never goes out.
    case EventKind::call_inbound:
    case EventKind::call_answered:
    case EventKind::call_audio_frame:
      return {};
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
