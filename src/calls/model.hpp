#pragma once
/// The domain's records and events: what a call and a bridge are for us, and
/// what happened to them. No HTTP, no JSON text here.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aa::calls {

/// `speaking`: the voice module's speech (TTS through a media channel) is
/// playing to the call, set with CallManager::set_speaking. While answered, the
/// state shows the most telling activity: recording > playing > speaking >
/// bridged > answered (being recorded matters most to the caller; our ARI
/// playbacks are audible over speech; a bridged call that hears speech is speaking).
enum class CallState {
  initiating,
  ringing,
  answered,
  playing,
  recording,
  bridged,
  speaking,
  ended,
  failed,
};
enum class Direction { inbound, outbound };

std::string_view to_string(CallState s);
std::string_view to_string(Direction d);
inline bool is_final(CallState s) {
  return s == CallState::ended || s == CallState::failed;
}

/// A running audio capture (POST /calls/:id/audio/start), as the original's
/// `audioCapture` object.
struct AudioCapture {
  bool enabled = true;
  std::string external_media_channel_id;
  std::string format = "slin16";
  uint32_t sample_rate = 16000;  // Hz
  int64_t started_at_ms = 0;
  std::string asr;  // ASR engine transcribing it ("" none)
};

/// One call leg that the service tracks.
struct CallRecord {
  std::string id;          // our id (uuid), stable for the life of the call
  std::string channel_id;  // Asterisk channel id
  std::string bridge_id;   // set while in a bridge
  CallState state = CallState::initiating;
  Direction direction = Direction::outbound;
  std::string caller_name;  // "" when none (callerId "5551234", or a caller without a name)
  std::string caller_number;
  std::string callee_number;
  int64_t created_at_ms = 0;
  int64_t answered_at_ms = 0;  // 0: not answered
  int64_t ended_at_ms = 0;     // 0: not ended
  std::string hangup_cause;    // "normal", "busy", "no_answer", "asterisk_shutdown", ...
  std::vector<std::string> recordings;
  std::optional<AudioCapture> audio_capture;  // while a capture runs
};

/// One item of a playlist, as a waiting operation reports it. Final: done
/// (played to its end), failed (Asterisk could not play it: missing file,
/// unplayable audio), not_played (never started, or cut short because the call
/// ended). Still going: queued, playing.
enum class PlaybackStatus { queued, playing, done, failed, not_played };
std::string_view to_string(PlaybackStatus s);
inline bool is_final(PlaybackStatus s) {
  return s == PlaybackStatus::done || s == PlaybackStatus::failed ||
         s == PlaybackStatus::not_played;
}

struct PlaybackItem {
  std::string playback_id;
  std::string media;
  PlaybackStatus status = PlaybackStatus::queued;
};

struct BridgeRecord {
  std::string id;
  std::string name;
  std::string type = "mixing";
  std::vector<std::string> channel_ids;
  int64_t created_at_ms = 0;
};

enum class EventKind {
  call_created,
  call_state_changed,
  call_ready,
  call_dtmf,
  call_playback_started,
  call_playback_finished,
  call_recording_started,
  call_recording_finished,
  call_recording_failed,
  call_ended,
  bridge_created,
  bridge_destroyed,
  // /events (and webhooks) since the voice work; the original sent the first two by webhook only
  call_inbound,
  call_answered,
  call_speak_started,
  call_speak_finished,
  call_speak_error,
  call_playback_stream_started,
  call_playback_stream_finished,
  call_playback_stream_error,
  call_audio_capture_started,
  call_audio_capture_stopped,
  call_audio_capture_error,
  call_transcription,
  call_audio_frame,  // only to /events clients that asked (?audio=1), never webhooks
  call_blocked,      // the allowlist refused an inbound call
  // agent streams (Twilio Media Streams–compatible)
  call_stream_started,
  call_stream_stopped,
  call_stream_error,
};

/// The wire name of an event ("call.state_changed", ...).
std::string_view event_type_name(EventKind k);

/// The fields of voice events (speak, capture, transcription, audio frames, blocked).
struct VoiceEvent {
  std::string speak_id, text, voice, language;
  std::string error;                    // speak_error, *_error
  std::string reason;                   // audio_capture_stopped, blocked
  std::optional<double> duration_s;     // speak_finished: seconds heard
  bool interrupted = false;             // speak_finished
  bool is_final = false;                // transcription
  std::optional<AudioCapture> capture;  // audio_capture_started
  // audio_frame: slin16 samples, base64 of s16le
  std::string audio_b64;
  int64_t sample_count = 0;
  int64_t audio_timestamp_ms = 0;
  uint32_t sample_rate = 16000;
  // blocked
  std::string number;
  std::string channel_id;
  // stream_*: reason (stopped) and error (error) use the fields above
  std::string stream_sid, url;
};

/// Something that happened, as the domain tells it. Sinks (WebSocket fan-out,
/// webhooks) turn it into their envelope; `call` is a snapshot taken after
/// the change (null for bridge events).
struct DomainEvent {
  EventKind kind;
  uint64_t seq = 0;  // strictly increasing per server, assigned when published
  int64_t timestamp_ms = 0;
  std::string call_id;  // "" for bridge events
  std::shared_ptr<const CallRecord> call;
  CallState state = CallState::initiating;              // the call's state after the event
  CallState previous_state = CallState::initiating;     // call_state_changed
  std::string digit;                                    // call_dtmf
  std::string playback_id, media;                       // playback events
  std::string recording_name, recording_format, cause;  // recording events; cause also call_ended
  std::optional<int64_t> duration;                      // recording_finished (s)
  std::string bridge_id, bridge_name, bridge_type;      // bridge events
  std::shared_ptr<const VoiceEvent> voice;              // voice events
};

/// Where the domain sends events. Implementations must not block.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void publish(const DomainEvent& e) = 0;
};

}  // namespace aa::calls
