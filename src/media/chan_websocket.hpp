#pragma once
/// The control messages of Asterisk's chan_websocket (ARI ExternalMedia with
/// `transport=websocket`), both directions and both forms: plain text (the
/// default, every version since 22.6 / 21.11 / 20.16) and JSON (22.8+, with
/// `chan_websocket.conf control_message_format=json` or the per-channel
/// `transport_data=f(json)`). No I/O here: the service's media session and the
/// simulator's media server both use it.
///
/// Sources: asterisk `channels/chan_websocket.c` (see
/// ../shared/research/voice-loop.md §4.2) and the recordings in
/// ../shared/ari-traces/chan-websocket-*.jsonl, whose exact texts the tests
/// replay. Facts that shape this codec:
/// - control messages are TEXT frames of at most 128 bytes (longer ones are
///   ignored by Asterisk without a reply); media are BINARY frames — tell them
///   apart by opcode, never by payload;
/// - plain events are `NAME` or `NAME key:value key:value…` or `NAME <id>`
///   (MEDIA_MARK_PROCESSED m1); `ERROR … error_text:` runs to the end of the
///   message and may end in a newline;
/// - JSON events are `{"event":"NAME", "channel_id":…, …}` with numbers and
///   booleans typed; JSON commands are `{"command":"NAME","correlation_id":…}`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aa::media::cws {

/// Which form a peer speaks. The app must answer in the form MEDIA_START came in:
/// in JSON mode Asterisk answers a plain command with "Unable to parse JSON command".
enum class Form { plain, json };

/// Largest control message Asterisk reads (MAX_TEXT_MESSAGE_LEN).
inline constexpr size_t kMaxTextMessage = 128;
/// Largest binary message Asterisk accepts; a bigger one closes the socket with
/// 1009 and hangs the channel up (trace: chan-websocket-xoff, 70000 bytes).
inline constexpr size_t kMaxBinaryMessage = 65500;
/// Playback queue of a chan_websocket channel, in frames (≈ 20 s at 20 ms).
inline constexpr int kQueueMax = 1000;
inline constexpr int kXoffLevel = 900;
inline constexpr int kXonLevel = 800;

// ---- Asterisk → app ----

enum class EventType {
  media_start,
  media_xoff,
  media_xon,
  queue_drained,
  media_buffering_completed,
  media_mark_processed,
  dtmf_end,
  status,
  error,
  unknown,
};
std::string_view event_name(EventType t);

struct Event {
  EventType type = EventType::unknown;
  Form form = Form::plain;
  std::string name;  // as received (also for unknown events)
  // MEDIA_START
  std::string connection_id, channel, channel_id, format;
  int optimal_frame_size = 0;                                          // bytes
  int ptime = 0;                                                       // ms
  std::vector<std::pair<std::string, std::string>> channel_variables;  // JSON form only
  // MEDIA_MARK_PROCESSED / MEDIA_BUFFERING_COMPLETED: "" when none was given
  std::string correlation_id;
  // DTMF_END
  std::string digit;
  // STATUS
  int queue_length = 0, xon_level = 0, xoff_level = 0;
  bool queue_full = false, bulk_media = false, media_paused = false;
  // ERROR
  std::string error_text;
};

/// Parse one text message from Asterisk (plain or JSON, detected from the
/// first character). nullopt when it is neither (e.g. broken JSON).
std::optional<Event> parse_event(std::string_view text);
/// Format an event as Asterisk would (the simulator uses this).
std::string format_event(const Event& e, Form form);

// ---- app → Asterisk ----

enum class CommandType {
  answer,
  hangup,
  start_media_buffering,
  stop_media_buffering,
  mark_media,
  flush_media,
  report_queue_drained,
  get_status,
  pause_media,
  continue_media,
  set_media_direction,
  unknown,
};
std::string_view command_name(CommandType t);

struct Command {
  CommandType type = CommandType::unknown;
  Form form = Form::plain;
  std::string name;
  std::string correlation_id;  // STOP_MEDIA_BUFFERING / MARK_MEDIA (optional)
  std::string direction;       // SET_MEDIA_DIRECTION (JSON only): in, out, both
};

/// A command in `form`. `correlation_id` only for the commands that carry one.
std::string format_command(CommandType t, Form form, std::string_view correlation_id = {});
/// Parse a command as Asterisk does (the simulator uses this). nullopt for
/// broken JSON or, in JSON form, an object without "command".
std::optional<Command> parse_command(std::string_view text, Form expected);

/// Whether an Asterisk of this version (`/asterisk/info` system.version, e.g.
/// "22.11.0", "certified-20.7-cert5", "GIT-master-1a2b3c") has ARI
/// ExternalMedia over chan_websocket: 22.6, 21.11, 20.16 and every 23+ (the
/// releases that added it, per the ChangeLogs). A version we cannot read is
/// assumed to have it (a development build); the ExternalMedia request then
/// says. When false, `why` names the requirement.
bool supports_chan_websocket(std::string_view version, std::string* why = nullptr);

}  // namespace aa::media::cws
