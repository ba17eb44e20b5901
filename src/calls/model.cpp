#include "calls/model.hpp"

namespace aa::calls {

std::string_view to_string(CallState s) {
  switch (s) {
    case CallState::initiating:
      return "initiating";
    case CallState::ringing:
      return "ringing";
    case CallState::answered:
      return "answered";
    case CallState::playing:
      return "playing";
    case CallState::recording:
      return "recording";
    case CallState::bridged:
      return "bridged";
    case CallState::ended:
      return "ended";
    case CallState::failed:
      return "failed";
    case CallState::speaking:
      return "speaking";
  }
  return "ended";
}

std::string_view to_string(PlaybackStatus s) {
  switch (s) {
    case PlaybackStatus::queued:
      return "queued";
    case PlaybackStatus::playing:
      return "playing";
    case PlaybackStatus::done:
      return "done";
    case PlaybackStatus::failed:
      return "failed";
    case PlaybackStatus::not_played:
      return "not_played";
  }
  return "not_played";
}

std::string_view to_string(Direction d) {
  return d == Direction::inbound ? "inbound" : "outbound";
}

std::string_view event_type_name(EventKind k) {
  switch (k) {
    case EventKind::call_created:
      return "call.created";
    case EventKind::call_state_changed:
      return "call.state_changed";
    case EventKind::call_ready:
      return "call.ready";
    case EventKind::call_dtmf:
      return "call.dtmf";
    case EventKind::call_playback_started:
      return "call.playback_started";
    case EventKind::call_playback_finished:
      return "call.playback_finished";
    case EventKind::call_recording_started:
      return "call.recording_started";
    case EventKind::call_recording_finished:
      return "call.recording_finished";
    case EventKind::call_recording_failed:
      return "call.recording_failed";
    case EventKind::call_ended:
      return "call.ended";
    case EventKind::bridge_created:
      return "bridge.created";
    case EventKind::bridge_destroyed:
      return "bridge.destroyed";
    case EventKind::call_inbound:
      return "call.inbound";
    case EventKind::call_answered:
      return "call.answered";
    case EventKind::call_speak_started:
      return "call.speak_started";
    case EventKind::call_speak_finished:
      return "call.speak_finished";
    case EventKind::call_speak_error:
      return "call.speak_error";
    case EventKind::call_playback_stream_started:
      return "call.playback_stream_started";
    case EventKind::call_playback_stream_finished:
      return "call.playback_stream_finished";
    case EventKind::call_playback_stream_error:
      return "call.playback_stream_error";
    case EventKind::call_audio_capture_started:
      return "call.audio_capture_started";
    case EventKind::call_audio_capture_stopped:
      return "call.audio_capture_stopped";
    case EventKind::call_audio_capture_error:
      return "call.audio_capture_error";
    case EventKind::call_transcription:
      return "call.transcription";
    case EventKind::call_audio_frame:
      return "call.audio_frame";
    case EventKind::call_blocked:
      return "call.blocked";
    case EventKind::call_stream_started:
      return "call.stream_started";
    case EventKind::call_stream_stopped:
      return "call.stream_stopped";
    case EventKind::call_stream_error:
      return "call.stream_error";
  }
  return "unknown";
}

}  // namespace aa::calls
