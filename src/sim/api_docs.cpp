// Swagger documents for /ari/api-docs: the resource listing and the API
// declarations, generated from RestApi's route table plus the models below.
#include "sim/api_docs.hpp"

#include <algorithm>

#include "common/json.hpp"

namespace aa::sim::apidocs {
namespace {

// ---- models ----

struct Prop {
  std::string_view name = {};
  std::string_view type = {};
  bool required = true;
  std::string_view description = {};
  std::string_view values = {};  // '|'-separated allowed values
};

struct Model {
  std::string_view id = {};
  std::string_view resource = {};  // the declaration that carries it
  std::string_view description = {};
  std::vector<Prop> props = {};
  std::string_view discriminator = {};
  std::vector<std::string_view> sub_types = {};
};

Prop opt(Prop p) {
  p.required = false;
  return p;
}

// Every event type the simulator emits. Engine::emit asserts membership, so a
// new event type needs its model here first.
const std::vector<Model>& event_models() {
  static const std::vector<Model> v = {
      {"ApplicationReplaced",
       "events",
       "This socket's application was taken over by another events socket; nothing more comes "
       "here.",
       {}},
      {"BridgeDestroyed", "events", "A bridge was destroyed.", {{"bridge", "Bridge"}}},
      {"ChannelDestroyed",
       "events",
       "A channel is gone.",
       {{"cause", "int", true, "Q.850 cause of the end (0 when unknown)."},
        {"cause_txt", "string", true, "The cause as text."},
        {"channel", "Channel"}}},
      {"ChannelDtmfReceived",
       "events",
       "The far end of a channel pressed a key.",
       {{"digit", "string", true, "0-9, A-D, * or #."},
        {"duration_ms", "int", true, "How long the key was held, in ms."},
        {"channel", "Channel"}}},
      {"ChannelEnteredBridge",
       "events",
       "A channel joined a bridge.",
       {{"bridge", "Bridge"}, opt({"channel", "Channel"})}},
      {"ChannelHangupRequest",
       "events",
       "Someone asked for a channel to be hung up.",
       {opt({"cause", "int", true,
             "With soft: Asterisk's internal hangup flag (32: by request, 4: shutdown); without: "
             "the Q.850 cause the far end gave. Absent when none was given."}),
        opt({"soft", "boolean", true, "True when the request came from this side (an API call)."}),
        {"channel", "Channel"}}},
      {"ChannelLeftBridge",
       "events",
       "A channel left a bridge.",
       {{"bridge", "Bridge"}, {"channel", "Channel"}}},
      {"ChannelStateChange", "events", "A channel's state changed.", {{"channel", "Channel"}}},
      {"Dial",
       "events",
       "Progress of a dial towards `peer`.",
       {opt({"caller", "Channel", true, "The channel that dials, when there is one."}),
        {"peer", "Channel", true, "The channel being dialed."},
        opt({"forward", "string", true, "Where the call was forwarded to, if it was."}),
        opt({"dialstring", "string", true, "What was dialed."}),
        {"dialstatus", "string", true,
         "Empty when dialing starts, then RINGING, ANSWER, BUSY, NOANSWER, CONGESTION..."}}},
      {"PlaybackContinuing",
       "events",
       "A playback moved on to the next item of its media list.",
       {{"playback", "Playback"}}},
      {"PlaybackFinished",
       "events",
       "A playback ended: state done (played or stopped) or failed.",
       {{"playback", "Playback"}}},
      {"PlaybackStarted", "events", "A playback began.", {{"playback", "Playback"}}},
      {"RecordingFailed",
       "events",
       "A recording could not be made.",
       {{"recording", "LiveRecording"}}},
      {"RecordingFinished",
       "events",
       "A recording ended and its file is stored.",
       {{"recording", "LiveRecording"}}},
      {"RecordingStarted", "events", "A recording began.", {{"recording", "LiveRecording"}}},
      {"StasisEnd",
       "events",
       "A channel left the application (hung up, or sent back to the dialplan).",
       {{"channel", "Channel"}}},
      {"StasisStart",
       "events",
       "A channel entered the application.",
       {{"args", "List[string]", true, "The application's arguments, as given to Stasis()."},
        {"channel", "Channel"},
        opt({"replace_channel", "Channel", true, "The channel this one replaces, if any."})}},
  };
  return v;
}

std::vector<Model> build_models() {
  std::vector<Model> m = {
      // asterisk
      {"AsteriskInfo",
       "asterisk",
       "What this Asterisk is and how it runs.",
       {opt({"build", "BuildInfo", true, "How it was built."}),
        opt({"system", "SystemInfo", true, "Version and entity id."}),
        opt({"config", "ConfigInfo", true, "Main settings."}),
        opt({"status", "StatusInfo", true, "Start and reload times."})}},
      {"BuildInfo",
       "asterisk",
       "The build.",
       {{"os", "string"},
        {"kernel", "string"},
        {"options", "string"},
        {"machine", "string"},
        {"date", "string"},
        {"user", "string"}}},
      {"SystemInfo",
       "asterisk",
       "Identity of this Asterisk.",
       {{"version", "string", true, "Asterisk version."},
        {"entity_id", "string", true, "Entity id (a MAC address); also asterisk_id in events."}}},
      {"ConfigInfo",
       "asterisk",
       "Main settings.",
       {{"name", "string", true, "System name."},
        {"default_language", "string"},
        {"setid", "SetId"}}},
      {"SetId",
       "asterisk",
       "User and group it runs as.",
       {{"user", "string"}, {"group", "string"}}},
      {"StatusInfo",
       "asterisk",
       "Timestamps.",
       {{"startup_time", "Date", true, "When it started: a new value means a restart."},
        {"last_reload_time", "Date"}}},
      {"AsteriskPing",
       "asterisk",
       "Answer to a ping.",
       {{"asterisk_id", "string"},
        {"ping", "string", true, "Always \"pong\"."},
        {"timestamp", "string"}}},
      {"Variable", "asterisk", "A variable's value.", {{"value", "string"}}},
      // endpoints
      {"Endpoint",
       "endpoints",
       "A device or trunk that channels can be created to.",
       {{"technology", "string", true, "Channel driver, e.g. PJSIP."},
        {"resource", "string", true, "Name of the endpoint within its technology."},
        opt({"state", "string", true, "", "unknown|offline|online"}),
        {"channel_ids", "List[string]", true, "Channels currently on this endpoint."}}},
      // channels
      {"CallerID",
       "channels",
       "A party's name and number, as Asterisk keeps them (not normalised).",
       {{"name", "string"}, {"number", "string"}}},
      {"DialplanCEP",
       "channels",
       "Where a channel is in the dialplan.",
       {{"context", "string"},
        {"exten", "string"},
        {"priority", "long"},
        {"app_name", "string", true,
         "Application the channel runs: \"Stasis\" while it is in an ARI application, "
         "\"AppDial2\" while it is being dialed."},
        {"app_data", "string", true,
         "Its argument: \"<app>[,<arg>...]\" for Stasis, as given in the dialplan or by "
         "originate's app and appArgs."}}},
      {"Channel",
       "channels",
       "One call leg between Asterisk and an endpoint.",
       {{"id", "string", true, "Unique id (AMI's Uniqueid)."},
        {"protocol_id", "string", true, "The driver's own call id (SIP Call-ID), or empty."},
        {"name", "string", true, "Channel name, e.g. PJSIP/1001-00000001."},
        {"state", "string", true, "",
         "Down|Rsrved|OffHook|Dialing|Ring|Ringing|Up|Busy|Dialing Offhook|Pre-ring|Unknown"},
        {"caller", "CallerID"},
        {"connected", "CallerID"},
        {"accountcode", "string"},
        {"dialplan", "DialplanCEP", true, "Where it is in the dialplan."},
        {"creationtime", "Date"},
        {"language", "string"},
        opt({"channelvars", "object", true,
             "Variables asked for with report_events or by the media channel."})}},
      // bridges
      {"Bridge",
       "bridges",
       "A bridge joins the media of the channels in it.",
       {{"id", "string"},
        {"technology", "string"},
        {"bridge_type", "string", true, "", "mixing|holding"},
        {"bridge_class", "string"},
        {"creator", "string"},
        {"name", "string"},
        {"channels", "List[string]", true, "Ids of the channels in the bridge."},
        opt({"video_mode", "string"}),
        opt({"video_source_id", "string"}),
        {"creationtime", "Date"}}},
      // recordings
      {"StoredRecording",
       "recordings",
       "A finished recording kept on disk.",
       {{"name", "string"}, {"format", "string", true, "File format, e.g. wav."}}},
      {"LiveRecording",
       "recordings",
       "A recording in progress (or just ended).",
       {{"name", "string"},
        {"format", "string"},
        {"target_uri", "string", true, "What is recorded: channel:<id> or bridge:<id>."},
        {"state", "string", true, "", "queued|recording|paused|done|failed|canceled"},
        opt({"duration", "int", true, "Length in seconds."}),
        opt({"talking_duration", "int"}),
        opt({"silence_duration", "int"}),
        opt({"cause", "string", true, "Why it failed."})}},
      // sounds
      {"FormatLangPair",
       "sounds",
       "A format and language a sound exists in.",
       {{"language", "string"}, {"format", "string"}}},
      {"Sound",
       "sounds",
       "A sound file Asterisk can play (sound:<id>).",
       {{"id", "string"}, opt({"text", "string"}), {"formats", "List[FormatLangPair]"}}},
      // playbacks
      {"Playback",
       "playbacks",
       "Media played to a channel or a bridge.",
       {{"id", "string"},
        {"media_uri", "string", true, "The item playing now."},
        opt({"next_media_uri", "string", true, "The item after it, for a list."}),
        {"target_uri", "string", true, "channel:<id> or bridge:<id>."},
        {"language", "string"},
        {"state", "string", true, "", "queued|playing|paused|continuing|done|failed"}}},
      // applications
      {"Application",
       "applications",
       "A Stasis application and what it watches.",
       {{"name", "string"},
        {"channel_ids", "List[string]"},
        {"bridge_ids", "List[string]"},
        {"endpoint_ids", "List[string]"},
        {"device_names", "List[string]"},
        {"events_allowed", "List[object]"},
        {"events_disallowed", "List[object]"}}},
      // events: the bases, then each event
      {"Message",
       "events",
       "Everything on the events socket.",
       {{"type", "string", true, "The message type: the name of its model."},
        opt({"asterisk_id", "string", true, "Entity id of the Asterisk that sent it."})},
       "type",
       {"Event"}},
  };
  Model event{"Event",
              "events",
              "An event for one application.",
              {{"application", "string", true, "The application it is for."},
               {"timestamp", "Date", true, "When it happened."}},
              {},
              {}};
  for (const auto& e : event_models()) event.sub_types.push_back(e.id);
  m.push_back(std::move(event));
  for (const auto& e : event_models()) m.push_back(e);
  return m;
}

const std::vector<Model>& models() {
  static const std::vector<Model> m = build_models();
  return m;
}

// ---- writing ----

void write_values(json::Writer& w, std::string_view values) {
  w.key("allowableValues").begin_object().field("valueType", "LIST").key("values").begin_array();
  size_t start = 0;
  while (start <= values.size()) {
    size_t end = values.find('|', start);
    if (end == std::string_view::npos) end = values.size();
    w.string(values.substr(start, end - start));
    start = end + 1;
  }
  w.end_array().end_object();
}

void write_model(json::Writer& w, const Model& m) {
  w.key(m.id).begin_object().field("id", m.id).field("description", m.description);
  if (!m.discriminator.empty()) w.field("discriminator", m.discriminator);
  if (!m.sub_types.empty()) {
    w.key("subTypes").begin_array();
    for (auto s : m.sub_types) w.string(s);
    w.end_array();
  }
  w.key("properties").begin_object();
  for (const Prop& p : m.props) {
    w.key(p.name).begin_object().field_bool("required", p.required).field("type", p.type);
    if (!p.description.empty()) w.field("description", p.description);
    if (!p.values.empty()) write_values(w, p.values);
    w.end_object();
  }
  w.end_object().end_object();
}

std::string_view param_type(In in) {
  switch (in) {
    case In::path:
      return "path";
    case In::query:
      return "query";
    case In::body:
      return "body";
  }
  return "query";
}

void write_operation(json::Writer& w, const Operation& op) {
  w.begin_object()
      .field("httpMethod", op.method)
      .field("summary", op.summary)
      .field("nickname", op.nickname)
      .field("responseClass", op.response);
  if (op.websocket) w.field("upgrade", "websocket").field("websocketProtocol", "ari");
  w.key("parameters").begin_array();
  for (const Param& p : op.params) {
    w.begin_object()
        .field("name", p.name)
        .field("description", p.description)
        .field("paramType", param_type(p.in))
        .field_bool("required", p.required)
        .field_bool("allowMultiple", p.multiple)
        .field("dataType", p.type);
    if (!p.default_value.empty()) {
      // Asterisk writes defaults in the parameter's own JSON type.
      w.key("defaultValue");
      if (p.type == "boolean")
        w.boolean(p.default_value == "true");
      else if (p.type == "int" || p.type == "long")
        w.integer(std::stoll(std::string(p.default_value)));
      else
        w.string(p.default_value);
    }
    if (!p.values.empty()) write_values(w, p.values);
    w.end_object();
  }
  w.end_array();
  w.key("errorResponses").begin_array();
  for (const auto& [code, reason] : op.errors)
    w.begin_object().field_int("code", code).field("reason", reason).end_object();
  w.end_array();
  w.end_object();
}

void write_header(json::Writer& w, std::string_view base_path) {
  w.field("apiVersion", "2.0.0").field("swaggerVersion", "1.2").field("basePath", base_path);
}

}  // namespace

Param path(std::string_view name, std::string_view description) {
  Param p;
  p.name = name;
  p.in = In::path;
  p.required = true;
  p.description = description;
  return p;
}

Param query(std::string_view name, std::string_view type, std::string_view description) {
  Param p;
  p.name = name;
  p.type = type;
  p.description = description;
  return p;
}

Param body(std::string_view name, std::string_view description) {
  Param p;
  p.name = name;
  p.in = In::body;
  p.type = "containers";
  p.description = description;
  return p;
}

const std::vector<Resource>& resources() {
  static const std::vector<Resource> r = {
      {"asterisk", "Asterisk itself"},
      {"endpoints", "Endpoints: devices and trunks"},
      {"channels", "Channels: call legs"},
      {"bridges", "Bridges: channels whose media are joined"},
      {"recordings", "Live and stored recordings"},
      {"sounds", "Installed sounds"},
      {"playbacks", "Playback control"},
      {"events", "The events WebSocket"},
      {"applications", "Stasis applications"},
  };
  return r;
}

std::string resource_listing(std::string_view base_path, const std::vector<const Operation*>& ops) {
  json::Writer w;
  w.begin_object();
  write_header(w, base_path);
  w.key("apis").begin_array();
  for (const auto& r : resources()) {
    const bool served = std::any_of(ops.begin(), ops.end(),
                                    [&](const Operation* o) { return o->resource == r.name; });
    if (!served) continue;
    w.begin_object()
        .field("path", "/api-docs/" + std::string(r.name) + ".{format}")
        .field("description", r.description)
        .end_object();
  }
  w.end_array().end_object();
  return w.str();
}

std::optional<std::string> api_declaration(std::string_view resource, std::string_view base_path,
                                           const std::vector<const Operation*>& ops) {
  std::vector<const Operation*> mine;
  for (const Operation* o : ops)
    if (o->resource == resource) mine.push_back(o);
  if (mine.empty()) return std::nullopt;
  json::Writer w;
  w.begin_object();
  write_header(w, base_path);
  w.field("resourcePath", "/api-docs/" + std::string(resource) + ".{format}");
  // Operations grouped by path, paths in order of first appearance.
  std::vector<std::string_view> paths;
  for (const Operation* o : mine)
    if (std::find(paths.begin(), paths.end(), o->path) == paths.end()) paths.push_back(o->path);
  w.key("apis").begin_array();
  for (auto p : paths) {
    w.begin_object().field("path", p).key("operations").begin_array();
    for (const Operation* o : mine)
      if (o->path == p) write_operation(w, *o);
    w.end_array().end_object();
  }
  w.end_array();
  w.key("models").begin_object();
  for (const Model& m : models())
    if (m.resource == resource) write_model(w, m);
  w.end_object();
  w.end_object();
  return w.str();
}

bool has_event_model(std::string_view type) {
  const auto& ev = event_models();
  return std::any_of(ev.begin(), ev.end(), [&](const Model& m) { return m.id == type; });
}

}  // namespace aa::sim::apidocs
