#include "ari/models.hpp"

#include <array>

namespace aa::ari {

namespace {

std::string str(const json::Value& v, std::string_view key) {
  return std::string(json::get_string(v, key));
}

/// Present, numeric member as an int64; nullopt otherwise.
std::optional<int64_t> opt_int(const json::Value& v, std::string_view key) {
  const json::Value* m = json::find(v, key);
  if (!m || !m->IsNumber()) return std::nullopt;
  if (m->IsInt64()) return m->GetInt64();
  return static_cast<int64_t>(m->GetDouble());
}

std::vector<std::string> string_array(const json::Value& v, std::string_view key) {
  std::vector<std::string> out;
  const json::Value* m = json::find(v, key);
  if (!m || !m->IsArray()) return out;
  out.reserve(m->Size());
  for (const auto& e : m->GetArray())
    if (e.IsString()) out.emplace_back(json::as_view(e));
  return out;
}

CallerId parse_caller_id(const json::Value* v) {
  CallerId c;
  if (!v || !v->IsObject()) return c;
  c.name = str(*v, "name");
  c.number = str(*v, "number");
  return c;
}

DialplanCep parse_dialplan(const json::Value* v) {
  DialplanCep d;
  if (!v || !v->IsObject()) return d;
  d.context = str(*v, "context");
  d.exten = str(*v, "exten");
  d.priority = json::get_int(*v, "priority");
  d.app_name = str(*v, "app_name");
  d.app_data = str(*v, "app_data");
  return d;
}

template <typename T, typename F>
std::optional<T> opt_object(const json::Value& v, std::string_view key, F&& parse) {
  const json::Value* m = json::find(v, key);
  if (!m || !m->IsObject()) return std::nullopt;
  return parse(*m);
}

void write_string_array(json::Writer& w, const std::vector<std::string>& v) {
  w.begin_array();
  for (const auto& s : v) w.string(s);
  w.end_array();
}

struct TypeName {
  EventType type;
  std::string_view name;
};

constexpr std::array<TypeName, 17> kTypeNames{{
    {EventType::StasisStart, "StasisStart"},
    {EventType::StasisEnd, "StasisEnd"},
    {EventType::ChannelStateChange, "ChannelStateChange"},
    {EventType::ChannelDestroyed, "ChannelDestroyed"},
    {EventType::ChannelHangupRequest, "ChannelHangupRequest"},
    {EventType::ChannelDtmfReceived, "ChannelDtmfReceived"},
    {EventType::Dial, "Dial"},
    {EventType::ChannelEnteredBridge, "ChannelEnteredBridge"},
    {EventType::ChannelLeftBridge, "ChannelLeftBridge"},
    {EventType::BridgeCreated, "BridgeCreated"},
    {EventType::BridgeDestroyed, "BridgeDestroyed"},
    {EventType::PlaybackStarted, "PlaybackStarted"},
    {EventType::PlaybackFinished, "PlaybackFinished"},
    {EventType::RecordingStarted, "RecordingStarted"},
    {EventType::RecordingFinished, "RecordingFinished"},
    {EventType::RecordingFailed, "RecordingFailed"},
    {EventType::ApplicationReplaced, "ApplicationReplaced"},
}};

}  // namespace

EventType event_type_from_name(std::string_view name) {
  for (const auto& t : kTypeNames)
    if (t.name == name) return t.type;
  return EventType::Other;
}

std::string_view event_type_name(EventType type) {
  for (const auto& t : kTypeNames)
    if (t.type == type) return t.name;
  return {};
}

const std::string& Event::channel_id() const {
  static const std::string empty;
  if (channel) return channel->id;
  if (peer) return peer->id;
  return empty;
}

// ---------------------------------------------------------------- reading

Channel parse_channel(const json::Value& v) {
  Channel c;
  if (!v.IsObject()) return c;
  c.id = str(v, "id");
  c.protocol_id = str(v, "protocol_id");
  c.name = str(v, "name");
  c.state = str(v, "state");
  c.caller = parse_caller_id(json::find(v, "caller"));
  c.connected = parse_caller_id(json::find(v, "connected"));
  c.accountcode = str(v, "accountcode");
  c.dialplan = parse_dialplan(json::find(v, "dialplan"));
  c.creationtime = str(v, "creationtime");
  c.language = str(v, "language");
  if (const json::Value* vars = json::find(v, "channelvars"); vars && vars->IsObject()) {
    for (const auto& m : vars->GetObject()) {
      std::string value;
      if (m.value.IsString())
        value = std::string(json::as_view(m.value));
      else if (!m.value.IsNull())
        value = json::stringify(m.value);
      c.channelvars.emplace_back(std::string(json::as_view(m.name)), std::move(value));
    }
  }
  return c;
}

Bridge parse_bridge(const json::Value& v) {
  Bridge b;
  if (!v.IsObject()) return b;
  b.id = str(v, "id");
  b.technology = str(v, "technology");
  b.bridge_type = str(v, "bridge_type");
  b.bridge_class = str(v, "bridge_class");
  b.creator = str(v, "creator");
  b.name = str(v, "name");
  b.channels = string_array(v, "channels");
  b.video_mode = str(v, "video_mode");
  b.video_source_id = str(v, "video_source_id");
  b.creationtime = str(v, "creationtime");
  return b;
}

Playback parse_playback(const json::Value& v) {
  Playback p;
  if (!v.IsObject()) return p;
  p.id = str(v, "id");
  p.media_uri = str(v, "media_uri");
  p.next_media_uri = str(v, "next_media_uri");
  p.target_uri = str(v, "target_uri");
  p.language = str(v, "language");
  p.state = str(v, "state");
  return p;
}

LiveRecording parse_live_recording(const json::Value& v) {
  LiveRecording r;
  if (!v.IsObject()) return r;
  r.name = str(v, "name");
  r.format = str(v, "format");
  r.target_uri = str(v, "target_uri");
  r.state = str(v, "state");
  r.duration = opt_int(v, "duration");
  r.talking_duration = opt_int(v, "talking_duration");
  r.silence_duration = opt_int(v, "silence_duration");
  r.cause = str(v, "cause");
  return r;
}

StoredRecording parse_stored_recording(const json::Value& v) {
  StoredRecording r;
  if (!v.IsObject()) return r;
  r.name = str(v, "name");
  r.format = str(v, "format");
  return r;
}

Endpoint parse_endpoint(const json::Value& v) {
  Endpoint e;
  if (!v.IsObject()) return e;
  e.technology = str(v, "technology");
  e.resource = str(v, "resource");
  e.state = str(v, "state");
  e.channel_ids = string_array(v, "channel_ids");
  return e;
}

AsteriskInfo parse_asterisk_info(const json::Value& v, std::string raw) {
  AsteriskInfo a;
  a.raw = std::move(raw);
  if (const json::Value* sys = json::find(v, "system")) {
    a.version = str(*sys, "version");
    a.entity_id = str(*sys, "entity_id");
  }
  if (const json::Value* st = json::find(v, "status")) a.startup_time = str(*st, "startup_time");
  return a;
}

std::optional<Event> parse_event(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc || !doc->IsObject()) return std::nullopt;
  const json::Value* type = json::find(*doc, "type");
  if (!type || !type->IsString()) return std::nullopt;
  const json::Value& v = *doc;

  Event e;
  e.type_name = std::string(json::as_view(*type));
  e.type = event_type_from_name(e.type_name);
  e.application = str(v, "application");
  e.timestamp = str(v, "timestamp");
  e.asterisk_id = str(v, "asterisk_id");
  e.raw = std::string(text);

  // Members are read whatever the type, so a type we do not model (e.g.
  // ChannelVarset, ChannelDialplan) still exposes its channel.
  e.channel = opt_object<Channel>(v, "channel", parse_channel);
  e.peer = opt_object<Channel>(v, "peer", parse_channel);
  e.caller = opt_object<Channel>(v, "caller", parse_channel);
  e.forwarded = opt_object<Channel>(v, "forwarded", parse_channel);
  e.replace_channel = opt_object<Channel>(v, "replace_channel", parse_channel);
  e.bridge = opt_object<Bridge>(v, "bridge", parse_bridge);
  e.playback = opt_object<Playback>(v, "playback", parse_playback);
  e.recording = opt_object<LiveRecording>(v, "recording", parse_live_recording);
  if (e.type == EventType::StasisStart) e.args = string_array(v, "args");
  if (auto c = opt_int(v, "cause")) {
    e.cause = static_cast<int>(*c);
    e.has_cause = true;
  }
  e.cause_txt = str(v, "cause_txt");
  if (auto tc = opt_int(v, "tech_cause")) e.tech_cause = static_cast<int>(*tc);
  if (const json::Value* s = json::find(v, "soft"); s && s->IsBool()) {
    e.soft = s->GetBool();
    e.has_soft = true;
  }
  e.digit = str(v, "digit");
  e.duration_ms = static_cast<int>(json::get_int(v, "duration_ms"));
  e.dialstatus = str(v, "dialstatus");
  e.dialstring = str(v, "dialstring");
  e.forward = str(v, "forward");
  e.variable = str(v, "variable");
  e.value = str(v, "value");
  return e;
}

// ---------------------------------------------------------------- writing
// Field order follows what Asterisk 22 sends (see ari-traces).

void write_json(json::Writer& w, const CallerId& v) {
  w.begin_object().field("name", v.name).field("number", v.number).end_object();
}

void write_json(json::Writer& w, const DialplanCep& v) {
  w.begin_object()
      .field("context", v.context)
      .field("exten", v.exten)
      .field_int("priority", v.priority)
      .field("app_name", v.app_name)
      .field("app_data", v.app_data)
      .end_object();
}

void write_json(json::Writer& w, const Channel& v) {
  w.begin_object()
      .field("id", v.id)
      .field("name", v.name)
      .field("state", v.state)
      .field("protocol_id", v.protocol_id);
  w.key("caller");
  write_json(w, v.caller);
  w.key("connected");
  write_json(w, v.connected);
  w.field("accountcode", v.accountcode);
  w.key("dialplan");
  write_json(w, v.dialplan);
  w.field("creationtime", v.creationtime).field("language", v.language);
  if (!v.channelvars.empty()) {
    w.key("channelvars").begin_object();
    for (const auto& [name, value] : v.channelvars) w.field(name, value);
    w.end_object();
  }
  w.end_object();
}

void write_json(json::Writer& w, const Bridge& v) {
  w.begin_object()
      .field("id", v.id)
      .field("technology", v.technology)
      .field("bridge_type", v.bridge_type)
      .field("bridge_class", v.bridge_class)
      .field("creator", v.creator)
      .field("name", v.name);
  w.key("channels");
  write_string_array(w, v.channels);
  w.field("creationtime", v.creationtime).field("video_mode", v.video_mode);
  if (!v.video_source_id.empty()) w.field("video_source_id", v.video_source_id);
  w.end_object();
}

void write_json(json::Writer& w, const Playback& v) {
  w.begin_object().field("id", v.id).field("media_uri", v.media_uri);
  if (!v.next_media_uri.empty()) w.field("next_media_uri", v.next_media_uri);
  w.field("target_uri", v.target_uri)
      .field("language", v.language)
      .field("state", v.state)
      .end_object();
}

void write_json(json::Writer& w, const LiveRecording& v) {
  w.begin_object()
      .field("name", v.name)
      .field("format", v.format)
      .field("state", v.state)
      .field("target_uri", v.target_uri);
  if (v.duration) w.field_int("duration", *v.duration);
  if (v.talking_duration) w.field_int("talking_duration", *v.talking_duration);
  if (v.silence_duration) w.field_int("silence_duration", *v.silence_duration);
  if (!v.cause.empty()) w.field("cause", v.cause);
  w.end_object();
}

void write_json(json::Writer& w, const StoredRecording& v) {
  w.begin_object().field("name", v.name).field("format", v.format).end_object();
}

void write_json(json::Writer& w, const Endpoint& v) {
  w.begin_object()
      .field("technology", v.technology)
      .field("resource", v.resource)
      .field("state", v.state);
  w.key("channel_ids");
  write_string_array(w, v.channel_ids);
  w.end_object();
}

void write_json(json::Writer& w, const AsteriskInfo& v) {
  if (!v.raw.empty()) {
    w.raw(v.raw);
    return;
  }
  w.begin_object();
  w.key("system").begin_object().field("version", v.version).field("entity_id", v.entity_id);
  w.end_object();
  w.key("status").begin_object().field("startup_time", v.startup_time);
  w.field("last_reload_time", v.startup_time).end_object();
  w.end_object();
}

namespace {

void write_channel_field(json::Writer& w, std::string_view key, const std::optional<Channel>& c) {
  if (!c) return;
  w.key(key);
  write_json(w, *c);
}

/// `{"type":...,"timestamp":...` — the head most events start with.
void write_head(json::Writer& w, const Event& v) {
  w.field("type", v.type_name).field("timestamp", v.timestamp);
}

/// `"asterisk_id":...,"application":...}` — the common tail.
void write_tail(json::Writer& w, const Event& v) {
  if (!v.asterisk_id.empty()) w.field("asterisk_id", v.asterisk_id);
  w.field("application", v.application);
  w.end_object();
}

}  // namespace

void write_json(json::Writer& w, const Event& v) {
  if (v.type == EventType::Other) {
    if (!v.raw.empty()) {
      w.raw(v.raw);
    } else {
      w.begin_object();
      write_head(w, v);
      write_channel_field(w, "channel", v.channel);
      write_tail(w, v);
    }
    return;
  }
  w.begin_object();
  switch (v.type) {
    case EventType::StasisStart:
      write_head(w, v);
      w.key("args");
      write_string_array(w, v.args);
      write_channel_field(w, "channel", v.channel);
      write_channel_field(w, "replace_channel", v.replace_channel);
      break;
    case EventType::ChannelDestroyed:
      write_head(w, v);
      w.field_int("cause", v.cause).field("cause_txt", v.cause_txt);
      if (v.tech_cause) w.field_int("tech_cause", *v.tech_cause);
      write_channel_field(w, "channel", v.channel);
      break;
    case EventType::ChannelHangupRequest:
      // Asterisk puts the hangup details before the type here.
      if (v.has_cause || v.cause != 0) w.field_int("cause", v.cause);
      if (v.tech_cause) w.field_int("tech_cause", *v.tech_cause);
      if (v.soft) w.field_bool("soft", true);
      write_head(w, v);
      write_channel_field(w, "channel", v.channel);
      break;
    case EventType::ChannelDtmfReceived:
      write_head(w, v);
      w.field("digit", v.digit).field_int("duration_ms", v.duration_ms);
      write_channel_field(w, "channel", v.channel);
      break;
    case EventType::Dial:
      write_head(w, v);
      w.field("dialstatus", v.dialstatus)
          .field("forward", v.forward)
          .field("dialstring", v.dialstring);
      write_channel_field(w, "caller", v.caller);
      write_channel_field(w, "peer", v.peer);
      write_channel_field(w, "forwarded", v.forwarded);
      break;
    case EventType::ChannelEnteredBridge:
    case EventType::ChannelLeftBridge:
    case EventType::BridgeCreated:
    case EventType::BridgeDestroyed:
      write_head(w, v);
      if (v.bridge) {
        w.key("bridge");
        write_json(w, *v.bridge);
      }
      write_channel_field(w, "channel", v.channel);
      break;
    case EventType::PlaybackStarted:
    case EventType::PlaybackFinished:
      write_head(w, v);
      if (v.playback) {
        w.key("playback");
        write_json(w, *v.playback);
      }
      break;
    case EventType::RecordingStarted:
    case EventType::RecordingFinished:
    case EventType::RecordingFailed:
      write_head(w, v);
      if (v.recording) {
        w.key("recording");
        write_json(w, *v.recording);
      }
      break;
    case EventType::ApplicationReplaced:
      // The one event where Asterisk sends application before asterisk_id.
      write_head(w, v);
      w.field("application", v.application);
      if (!v.asterisk_id.empty()) w.field("asterisk_id", v.asterisk_id);
      w.end_object();
      return;
    case EventType::StasisEnd:
    case EventType::ChannelStateChange:
    case EventType::Other:
      write_head(w, v);
      write_channel_field(w, "channel", v.channel);
      break;
  }
  write_tail(w, v);
}

Event make_event(EventType type, std::string application, std::string timestamp,
                 std::string asterisk_id) {
  Event e;
  e.type = type;
  e.type_name = std::string(event_type_name(type));
  e.application = std::move(application);
  e.timestamp = std::move(timestamp);
  e.asterisk_id = std::move(asterisk_id);
  return e;
}

}  // namespace aa::ari
