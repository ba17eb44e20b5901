#pragma once
/// Typed ARI models, field by field from Asterisk 22's ari-api-docs (Swagger 1.1).
/// Only what the service uses; unknown fields are ignored on read.
/// Parsing is tolerant: a missing optional field reads as empty/zero.
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "common/json.hpp"

namespace aa::ari {

struct CallerId {
  std::string name;
  std::string number;
};

struct DialplanCep {
  std::string context;
  std::string exten;
  int64_t priority = 0;
  std::string app_name;
  std::string app_data;
};

struct Channel {
  std::string id;
  std::string protocol_id;
  std::string name;
  std::string state;  // Down, Rsrved, OffHook, Dialing, Ring, Ringing, Up, Busy, Dialing Offhook,
                      // Pre-ring, Unknown
  CallerId caller;
  CallerId connected;
  std::string accountcode;
  DialplanCep dialplan;
  std::string creationtime;
  std::string language;
  std::vector<std::pair<std::string, std::string>> channelvars;  // optional in the model
};

struct Bridge {
  std::string id;
  std::string technology;
  std::string bridge_type;
  std::string bridge_class;
  std::string creator;
  std::string name;
  std::vector<std::string> channels;
  std::string video_mode;
  std::string video_source_id;
  std::string creationtime;
};

struct Playback {
  std::string id;
  std::string media_uri;
  std::string next_media_uri;
  std::string target_uri;
  std::string language;
  std::string state;  // queued, playing, continuing, done, failed
};

struct LiveRecording {
  std::string name;
  std::string format;
  std::string target_uri;
  std::string state;  // queued, recording, paused, done, failed, canceled
  std::optional<int64_t> duration;
  std::optional<int64_t> talking_duration;
  std::optional<int64_t> silence_duration;
  std::string cause;
};

struct StoredRecording {
  std::string name;
  std::string format;
};

struct Endpoint {
  std::string technology;
  std::string resource;
  std::string state;  // unknown, offline, online
  std::vector<std::string> channel_ids;
};

struct AsteriskInfo {
  std::string version;       // system.version
  std::string entity_id;     // system.entity_id
  std::string startup_time;  // status.startup_time
  std::string raw;           // the whole JSON as received
};

enum class EventType {
  StasisStart,
  StasisEnd,
  ChannelStateChange,
  ChannelDestroyed,
  ChannelHangupRequest,
  ChannelDtmfReceived,
  Dial,
  ChannelEnteredBridge,
  ChannelLeftBridge,
  BridgeCreated,
  BridgeDestroyed,
  PlaybackStarted,
  PlaybackFinished,
  RecordingStarted,
  RecordingFinished,
  RecordingFailed,
  ApplicationReplaced,
  Other,  // any other type: kept as raw JSON, never dropped
};

/// One message from the events socket. Only the members that belong to the
/// event's type are filled; `raw` always holds the original JSON text.
struct Event {
  EventType type = EventType::Other;
  std::string type_name;  // "StasisStart", ...
  std::string application;
  std::string timestamp;
  std::string asterisk_id;
  std::optional<Channel> channel;          // channel events; Dial: unset (see peer)
  std::optional<Channel> peer;             // Dial
  std::optional<Channel> caller;           // Dial (optional)
  std::optional<Channel> forwarded;        // Dial (optional)
  std::optional<Channel> replace_channel;  // StasisStart (optional)
  std::optional<Bridge> bridge;
  std::optional<Playback> playback;
  std::optional<LiveRecording> recording;
  std::vector<std::string> args;  // StasisStart
  int cause = 0;                  // ChannelDestroyed, ChannelHangupRequest
  bool has_cause = false;         // `cause` was present (optional in ChannelHangupRequest)
  std::string cause_txt;          // ChannelDestroyed
  std::optional<int> tech_cause;
  bool soft = false;      // ChannelHangupRequest
  bool has_soft = false;  // `soft` was present (Asterisk sends it only when true)
  std::string digit;      // ChannelDtmfReceived
  int duration_ms = 0;
  std::string
      dialstatus;  // Dial: "", RINGING, ANSWER, BUSY, NOANSWER, CONGESTION, CANCEL, CHANUNAVAIL...
  std::string dialstring;
  std::string forward;
  std::string variable;  // ChannelVarset (type Other): variable name
  std::string value;     // ChannelVarset (type Other): its value
  std::string raw;

  /// The channel id this event is about ("" if none): channel, or Dial's peer.
  const std::string& channel_id() const;
};

EventType event_type_from_name(std::string_view name);
/// "StasisStart", ...; "" for EventType::Other.
std::string_view event_type_name(EventType type);
/// An event of `type` with type_name and the common fields set (for producers, e.g. the simulator).
Event make_event(EventType type, std::string application, std::string timestamp,
                 std::string asterisk_id = {});

// ---- reading (tolerant) ----
Channel parse_channel(const json::Value& v);
Bridge parse_bridge(const json::Value& v);
Playback parse_playback(const json::Value& v);
LiveRecording parse_live_recording(const json::Value& v);
StoredRecording parse_stored_recording(const json::Value& v);
Endpoint parse_endpoint(const json::Value& v);
AsteriskInfo parse_asterisk_info(const json::Value& v, std::string raw);
/// Parse one events-socket message. nullopt only if `text` is not a JSON object with a `type`.
std::optional<Event> parse_event(std::string_view text);

// ---- writing (as Asterisk does: every required field, in the spec's order) ----
void write_json(json::Writer& w, const CallerId& v);
void write_json(json::Writer& w, const DialplanCep& v);
void write_json(json::Writer& w, const Channel& v);
void write_json(json::Writer& w, const Bridge& v);
void write_json(json::Writer& w, const Playback& v);
void write_json(json::Writer& w, const LiveRecording& v);
void write_json(json::Writer& w, const StoredRecording& v);
void write_json(json::Writer& w, const Endpoint& v);
/// `raw` when set, else a minimal {"system":{...},"status":{...}}.
void write_json(json::Writer& w, const AsteriskInfo& v);
/// An events-socket message in Asterisk's field order. EventType::Other: `raw` as is.
/// Optional members are written only when set (ChannelHangupRequest: cause when
/// has_cause or non-zero, soft only when true, as Asterisk does).
void write_json(json::Writer& w, const Event& v);
template <typename T>
std::string to_json(const T& v) {
  json::Writer w;
  write_json(w, v);
  return w.str();
}

}  // namespace aa::ari
