// The ARI routes the simulator serves, each described for /ari/api-docs
// (nickname, parameters, response, errors: api_docs.hpp) and mapped onto the
// Engine. The descriptions are ours; names and parameters are Asterisk 22's.
#include "sim/rest_routes.hpp"

#include "sim/reply.hpp"

namespace aa::sim {

std::vector<std::string_view> split_path(std::string_view p) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    if (end > start) out.push_back(p.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

namespace {

using apidocs::body;
using apidocs::Operation;
using apidocs::Param;
using apidocs::path;
using apidocs::query;

/// Originate's `variables`: string values, or {"value": string, "report_events": bool}.
std::optional<net::Response> parse_variables(const json::Value* body, OriginateRequest& req) {
  if (!body || !body->IsObject()) return std::nullopt;
  const json::Value* vars = json::find(*body, "variables");
  if (!vars || !vars->IsObject()) return std::nullopt;  // Asterisk ignores other shapes
  for (const auto& m : vars->GetObject()) {
    const std::string name(m.name.GetString(), m.name.GetStringLength());
    if (m.value.IsString()) {
      req.variables.emplace_back(name, std::string(json::as_view(m.value)));
    } else if (m.value.IsObject()) {
      const json::Value* v = json::find(m.value, "value");
      if (!v || !v->IsString())
        return error_reply(400,
                           "Each object value in 'variables' must include string field 'value'");
      if (const json::Value* re = json::find(m.value, "report_events")) {
        if (!re->IsBool())
          return error_reply(400, "Field 'report_events' in 'variables' entries must be boolean");
        if (re->GetBool()) req.reported_variables.push_back(name);
      }
      req.variables.emplace_back(name, std::string(json::as_view(*v)));
    } else {
      return error_reply(400,
                         "Each value in 'variables' must be a string or an object with 'value' "
                         "and optional 'report_events'");
    }
  }
  return std::nullopt;
}

net::Response do_originate(Engine& e, RouteCtx& c, const std::string& path_id) {
  OriginateRequest r;
  r.endpoint = c.p.str("endpoint");
  r.extension = c.p.str("extension");
  r.context = c.p.str("context");
  r.label = c.p.str("label");
  r.priority = c.p.integer("priority", 1);
  r.app = c.p.str("app");
  r.app_args = c.p.str("appArgs");
  r.caller_id = c.p.get("callerId");
  r.timeout_s = static_cast<int>(c.p.integer("timeout", 30));
  r.channel_id = path_id.empty() ? c.p.str("channelId") : path_id;
  r.other_channel_id = c.p.str("otherChannelId");
  r.originator = c.p.str("originator");
  if (auto err = parse_variables(c.p.body(), r)) return *err;
  return e.originate(std::move(r));
}

PlayRequest play_request(const RouteCtx& c, const std::string& path_id) {
  PlayRequest r;
  r.media = c.p.list("media");
  r.lang = c.p.str("lang", "en");
  r.playback_id = path_id.empty() ? c.p.str("playbackId") : path_id;
  r.offset_ms = c.p.integer("offsetms", 0);
  r.skip_ms = c.p.integer("skipms", 3000);
  return r;
}

RecordRequest record_request(const RouteCtx& c) {
  RecordRequest r;
  r.name = c.p.str("name");
  r.format = c.p.str("format");
  r.max_duration_s = c.p.integer("maxDurationSeconds", 0);
  r.max_silence_s = c.p.integer("maxSilenceSeconds", 0);
  r.if_exists = c.p.str("ifExists", "fail");
  r.beep = c.p.boolean("beep", false);
  r.terminate_on = c.p.str("terminateOn", "none");
  return r;
}

// ---- documented parameters shared by several operations ----

Param channel_id() {
  return path("channelId", "The channel's id.");
}
Param bridge_id() {
  return path("bridgeId", "The bridge's id.");
}
Param recording_name() {
  return path("recordingName", "The recording's name.");
}
Param app_name() {
  return path("applicationName", "The application's name.");
}

std::vector<Param> originate_params(bool with_id) {
  std::vector<Param> v;
  if (with_id) v.push_back(path("channelId", "Id to give the new channel."));
  v.push_back(
      query("endpoint", "string", "What to call: <tech>/<resource>, e.g. PJSIP/1001.").req());
  v.push_back(query("extension", "string", "Extension to run once answered (instead of app)."));
  v.push_back(query("context", "string", "Context of that extension; default: default."));
  v.push_back(query("priority", "long", "Priority of that extension; default 1."));
  v.push_back(query("label", "string", "Label to run instead of a priority."));
  v.push_back(query("app", "string",
                    "Stasis application that gets the channel (and its events) once answered."));
  v.push_back(query("appArgs", "string", "Comma-separated arguments for that application."));
  v.push_back(query("callerId", "string",
                    "Caller id to present: \"Name\" <number>, Name <number>, or a bare value "
                    "(a number if it is one once ( ) - . and spaces are removed, else a name)."));
  v.push_back(query("timeout", "int", "Seconds to ring before giving up; -1: never.").def("30"));
  v.push_back(body("variables",
                   "Channel variables to set: {\"NAME\": \"value\"} or {\"NAME\": {\"value\": "
                   "\"v\", \"report_events\": true}}."));
  if (!with_id) v.push_back(query("channelId", "string", "Id to give the new channel."));
  v.push_back(query("otherChannelId", "string",
                    "Id for the other half of a Local channel; default: <channelId>;2."));
  v.push_back(query("originator", "string", "Channel whose linked id the new one inherits."));
  return v;
}

std::vector<Param> play_params(bool with_id, bool bridge) {
  std::vector<Param> v{bridge ? bridge_id() : channel_id()};
  if (with_id) v.push_back(path("playbackId", "Id to give the playback."));
  v.push_back(query("media", "string",
                    "What to play, in order: sound:<name>, sound:http(s)://..., tone:<name>, "
                    "digits:<n>, number:<n>, recording:<name>.")
                  .req()
                  .multi());
  v.push_back(query("lang", "string", "Language of the sounds."));
  v.push_back(query("offsetms", "int", "Start this many ms into the first item.").def("0"));
  v.push_back(
      query("skipms", "int", "Step of forward/reverse control operations, ms.").def("3000"));
  if (!with_id) v.push_back(query("playbackId", "string", "Id to give the playback."));
  return v;
}

std::vector<Param> record_params(bool bridge) {
  return {bridge ? bridge_id() : channel_id(),
          query("name", "string", "Name of the recording (and of its file).").req(),
          query("format", "string", "File format, e.g. wav.").req(),
          query("maxDurationSeconds", "int", "Stop after this many seconds; 0: no limit.").def("0"),
          query("maxSilenceSeconds", "int", "Stop after this many seconds of silence; 0: never.")
              .def("0"),
          query("ifExists", "string", "What to do when a recording of that name exists.")
              .def("fail")
              .one_of("fail|overwrite|append"),
          query("beep", "boolean", "Play a beep before recording.").def("false"),
          query("terminateOn", "string", "Key that stops the recording.")
              .def("none")
              .one_of("none|any|*|#")};
}

const std::vector<std::pair<int, std::string_view>> kChannelNotFound = {{404, "Channel not found"}};
const std::vector<std::pair<int, std::string_view>> kStasisOp = {
    {404, "Channel not found"}, {409, "Channel not in a Stasis application"}};

}  // namespace

std::vector<Route> build_routes(Engine& e) {
  using T = Engine::Target;
  std::vector<Route> r;
  auto add = [&](Operation op, RouteFn fn) {
    std::vector<std::string_view> pattern = split_path(op.path);
    for (auto& seg : pattern)
      if (seg.size() > 1 && seg.front() == '{' && seg.back() == '}') seg = "*";
    r.push_back({std::move(op), std::move(pattern), std::move(fn)});
  };
  // A channel operation that takes only the channel and needs it in Stasis.
  auto stasis_op = [&](std::string_view method, std::string_view p, std::string_view nickname,
                       std::string_view summary) {
    add({"channels", method, p, nickname, summary, "void", {channel_id()}, kStasisOp},
        [&e](RouteCtx& c) { return e.simple_stasis_op(c.cap(0)); });
  };

  // /asterisk
  add({"asterisk",
       "GET",
       "/asterisk/info",
       "getInfo",
       "What this Asterisk is: build, version and entity id, settings, start time.",
       "AsteriskInfo",
       {query("only", "string", "Only these sections.")
            .multi()
            .one_of("build|system|config|status")}},
      [&e](RouteCtx& c) { return e.asterisk_info(c.p.str("only")); });
  add({"asterisk", "GET", "/asterisk/ping", "ping", "Check that Asterisk answers.", "AsteriskPing"},
      [&e](RouteCtx&) { return e.asterisk_ping(); });

  // /applications
  add({"applications", "GET", "/applications", "list", "All registered applications.",
       "List[Application]"},
      [&e](RouteCtx&) { return e.list_apps(); });
  add({"applications",
       "GET",
       "/applications/{applicationName}",
       "get",
       "One application and what it watches.",
       "Application",
       {app_name()},
       {{404, "Application not found"}}},
      [&e](RouteCtx& c) { return e.get_app(c.cap(0)); });
  add({"applications",
       "POST",
       "/applications/{applicationName}/subscription",
       "subscribe",
       "Send the events of more channels, bridges or endpoints to this application.",
       "Application",
       {app_name(), query("eventSource", "string",
                          "channel:<id>, bridge:<id>, endpoint:<tech>[/<resource>] or "
                          "deviceState:<name>.")
                        .req()
                        .multi()},
       {{400, "Missing or unknown event source scheme"},
        {404, "Application not found"},
        {422, "Event source does not exist"}}},
      [&e](RouteCtx& c) { return e.subscribe(c.cap(0), c.p.list("eventSource"), true); });
  add({"applications",
       "DELETE",
       "/applications/{applicationName}/subscription",
       "unsubscribe",
       "Stop sending the events of these sources to this application.",
       "Application",
       {app_name(), query("eventSource", "string", "As for subscribe.").req().multi()},
       {{400, "Missing or unknown event source scheme"},
        {404, "Application not found"},
        {422, "Event source does not exist"}}},
      [&e](RouteCtx& c) { return e.subscribe(c.cap(0), c.p.list("eventSource"), false); });

  // /endpoints
  add({"endpoints", "GET", "/endpoints", "list", "All endpoints.", "List[Endpoint]"},
      [&e](RouteCtx&) { return e.list_endpoints(nullptr); });
  add({"endpoints",
       "GET",
       "/endpoints/{tech}",
       "listByTech",
       "The endpoints of one technology.",
       "List[Endpoint]",
       {path("tech", "Technology, e.g. PJSIP.")},
       {{404, "No endpoint of that technology"}}},
      [&e](RouteCtx& c) { return e.list_endpoints(&c.cap(0)); });
  add({"endpoints",
       "GET",
       "/endpoints/{tech}/{resource}",
       "get",
       "One endpoint.",
       "Endpoint",
       {path("tech", "Technology, e.g. PJSIP."), path("resource", "Endpoint name, e.g. 1001.")},
       {{404, "Endpoint not found"}}},
      [&e](RouteCtx& c) { return e.get_endpoint(c.cap(0), c.cap(1)); });

  // /sounds
  add({"sounds", "GET", "/sounds", "list", "Installed sounds.", "List[Sound]"},
      [&e](RouteCtx&) { return e.list_sounds(); });
  add({"sounds",
       "GET",
       "/sounds/{soundId}",
       "get",
       "One sound and its formats.",
       "Sound",
       {path("soundId", "Sound name, e.g. hello-world.")},
       {{404, "Sound not found"}}},
      [&e](RouteCtx& c) { return e.get_sound(c.cap(0)); });

  // /channels
  add({"channels", "GET", "/channels", "list", "All channels.", "List[Channel]"},
      [&e](RouteCtx&) { return e.list_channels(); });
  add({"channels",
       "POST",
       "/channels",
       "originate",
       "Call an endpoint. The channel exists at once; it enters `app` once answered.",
       "Channel",
       originate_params(false),
       {{400, "Missing or invalid parameter"},
        {409, "A channel with that id exists"},
        {500, "Endpoint cannot be called (Allocation failed)"}}},
      [&e](RouteCtx& c) { return do_originate(e, c, ""); });
  add({"channels",
       "POST",
       "/channels/externalMedia",
       "externalMedia",
       "Create a channel that streams the call's media to or from an external program.",
       "Channel",
       {query("channelId", "string", "Id to give the new channel."),
        query("app", "string", "Stasis application that gets the channel.").req(),
        query("external_host", "string",
              "host:port to send RTP to (not needed for a websocket server)."),
        query("encapsulation", "string", "Media encapsulation.")
            .def("rtp")
            .one_of("rtp|audiosocket|none"),
        query("transport", "string", "Transport.").def("udp").one_of("udp|tcp|websocket"),
        query("connection_type", "string", "Who connects to whom.")
            .def("client")
            .one_of("client|server"),
        query("format", "string", "Audio format, e.g. ulaw or slin16.").req(),
        query("direction", "string", "Media direction.").def("both").one_of("both|in|out"),
        query("data", "string", "Argument passed to the application."),
        query("transport_data", "string",
              "Transport-specific data. For websocket this is appended to the dialstring: "
              "f(json) JSON control messages, n no auto-answer.")},
       {{400, "Missing or invalid parameter"}, {409, "A channel with that id exists"}}},
      [&e](RouteCtx& c) {
        ExternalMediaRequest x;
        x.app = c.p.str("app");
        x.app_args = c.p.str("data");
        x.channel_id = c.p.str("channelId");
        x.external_host = c.p.str("external_host");
        // Not given stays empty: Asterisk applies its defaults (and builds the
        // WebSocket dial string from what was given).
        x.encapsulation = c.p.str("encapsulation");
        x.transport = c.p.str("transport");
        x.connection_type = c.p.str("connection_type");
        x.format = c.p.str("format");
        x.direction = c.p.str("direction");
        x.transport_data = c.p.str("transport_data");
        OriginateRequest vars;
        if (auto err = parse_variables(c.p.body(), vars)) return *err;
        x.variables = std::move(vars.variables);
        return e.external_media(std::move(x));
      });
  add({"channels",
       "GET",
       "/channels/{channelId}",
       "get",
       "One channel.",
       "Channel",
       {channel_id()},
       kChannelNotFound},
      [&e](RouteCtx& c) { return e.get_channel(c.cap(0)); });
  add({"channels",
       "POST",
       "/channels/{channelId}",
       "originateWithId",
       "Call an endpoint, giving the new channel this id.",
       "Channel",
       originate_params(true),
       {{400, "Missing or invalid parameter"},
        {409, "A channel with that id exists"},
        {500, "Endpoint cannot be called (Allocation failed)"}}},
      [&e](RouteCtx& c) { return do_originate(e, c, c.cap(0)); });
  add({"channels",
       "DELETE",
       "/channels/{channelId}",
       "hangup",
       "Hang a channel up.",
       "void",
       {channel_id(), query("reason_code", "string", "Q.850 cause to hang up with."),
        query("reason", "string", "Cause by name (instead of reason_code).")
            .one_of("normal|busy|congestion|no_answer|timeout|rejected|unallocated|"
                    "normal_unspecified|number_incomplete|codec_mismatch|interworking|failure|"
                    "answered_elsewhere")},
       {{400, "Unknown reason"}, {404, "Channel not found"}}},
      [&e](RouteCtx& c) {
        std::optional<int> cause;
        if (c.p.get("reason_code")) {
          cause = static_cast<int>(c.p.integer("reason_code", 16));
        } else if (auto reason = c.p.get("reason")) {
          // Asterisk looks the channel up before it reads the reason.
          if (e.get_channel(c.cap(0)).status == 404) return error_reply(404, "Channel not found");
          cause = hangup_reason_cause(*reason);
          if (!cause) return error_reply(400, "Invalid reason for hangup provided");
        }
        return e.hangup(c.cap(0), cause);
      });
  add({"channels",
       "POST",
       "/channels/{channelId}/answer",
       "answer",
       "Answer a channel.",
       "void",
       {channel_id()},
       kStasisOp},
      [&e](RouteCtx& c) { return e.answer(c.cap(0)); });
  add({"channels",
       "POST",
       "/channels/{channelId}/ring",
       "ring",
       "Send ringing to the caller.",
       "void",
       {channel_id()},
       kStasisOp},
      [&e](RouteCtx& c) { return e.ring(c.cap(0), true); });
  add({"channels",
       "DELETE",
       "/channels/{channelId}/ring",
       "ringStop",
       "Stop ringing.",
       "void",
       {channel_id()},
       kStasisOp},
      [&e](RouteCtx& c) { return e.ring(c.cap(0), false); });
  stasis_op("POST", "/channels/{channelId}/hold", "hold", "Put a channel on hold.");
  stasis_op("DELETE", "/channels/{channelId}/hold", "unhold", "Take a channel off hold.");
  stasis_op("POST", "/channels/{channelId}/mute", "mute", "Mute a channel.");
  stasis_op("DELETE", "/channels/{channelId}/mute", "unmute", "Unmute a channel.");
  stasis_op("POST", "/channels/{channelId}/moh", "startMoh", "Play music on hold.");
  stasis_op("DELETE", "/channels/{channelId}/moh", "stopMoh", "Stop music on hold.");
  stasis_op("POST", "/channels/{channelId}/silence", "startSilence", "Play silence.");
  stasis_op("DELETE", "/channels/{channelId}/silence", "stopSilence", "Stop playing silence.");
  add({"channels",
       "POST",
       "/channels/{channelId}/dtmf",
       "sendDTMF",
       "Send DTMF to the far end, after any media already queued on the channel.",
       "void",
       {channel_id(), query("dtmf", "string", "Keys to send: 0-9, A-D, *, #.").req(),
        query("before", "int", "Pause before the first key, ms.").def("0"),
        query("between", "int", "Pause between keys, ms.").def("100"),
        query("duration", "int", "Length of each key, ms.").def("100"),
        query("after", "int", "Pause after the last key, ms.").def("0")},
       {{400, "No keys given"}, {404, "Channel not found"}, {409, "Channel not in Stasis"}}},
      [&e](RouteCtx& c) {
        DtmfRequest d;
        d.digits = c.p.str("dtmf");
        d.before_ms = c.p.integer("before", 0);
        d.between_ms = c.p.integer("between", 100);
        d.duration_ms = c.p.integer("duration", 100);
        d.after_ms = c.p.integer("after", 0);
        return e.send_dtmf(c.cap(0), std::move(d));
      });
  add({"channels", "POST", "/channels/{channelId}/play", "play",
       "Play media to a channel (queued behind its other media).", "Playback",
       play_params(false, false), kStasisOp},
      [&e](RouteCtx& c) { return e.play(T::channel, c.cap(0), play_request(c, "")); });
  add({"channels", "POST", "/channels/{channelId}/play/{playbackId}", "playWithId",
       "Play media to a channel, giving the playback this id.", "Playback",
       play_params(true, false), kStasisOp},
      [&e](RouteCtx& c) { return e.play(T::channel, c.cap(0), play_request(c, c.cap(1))); });
  add({"channels",
       "POST",
       "/channels/{channelId}/record",
       "record",
       "Record a channel (not while it is in a bridge: record the bridge).",
       "LiveRecording",
       record_params(false),
       {{400, "Invalid parameter"},
        {404, "Channel not found"},
        {409, "Not in Stasis, or a recording of that name exists"},
        {422, "Unknown format"}}},
      [&e](RouteCtx& c) { return e.record(T::channel, c.cap(0), record_request(c)); });
  add({"channels",
       "GET",
       "/channels/{channelId}/variable",
       "getChannelVar",
       "Read a channel variable or function (CALLERID(num), CHANNEL(state)...).",
       "Variable",
       {channel_id(), query("variable", "string", "Variable or function name.").req()},
       {{400, "No variable name"}, {404, "Channel or variable not found"}}},
      [&e](RouteCtx& c) { return e.get_var(c.cap(0), c.p.str("variable")); });
  add({"channels",
       "POST",
       "/channels/{channelId}/variable",
       "setChannelVar",
       "Set a channel variable or CALLERID(...).",
       "void",
       {channel_id(), query("variable", "string", "Variable or function name.").req(),
        query("value", "string", "Value; empty clears it.")},
       {{400, "No variable name"}, {404, "Channel not found"}}},
      [&e](RouteCtx& c) { return e.set_var(c.cap(0), c.p.str("variable"), c.p.str("value")); });
  add({"channels",
       "POST",
       "/channels/{channelId}/continue",
       "continueInDialplan",
       "Send a channel back to the dialplan (it leaves the application).",
       "void",
       {channel_id()},
       kStasisOp},
      [&e](RouteCtx& c) { return e.continue_in_dialplan(c.cap(0)); });
  add({"channels",
       "POST",
       "/channels/{channelId}/redirect",
       "redirect",
       "Transfer a channel to another endpoint.",
       "void",
       {channel_id(), query("endpoint", "string", "Where to: <tech>/<resource>.").req()},
       {{400, "Missing or invalid endpoint"},
        {404, "Channel not found"},
        {409, "Channel not in Stasis"}}},
      [&e](RouteCtx& c) { return e.redirect(c.cap(0), c.p.str("endpoint")); });
  add({"channels",
       "POST",
       "/channels/{channelId}/snoop",
       "snoopChannel",
       "Create a channel that listens to (or whispers into) this one.",
       "Channel",
       {channel_id(), query("app", "string", "Application that gets the snoop channel.").req(),
        query("appArgs", "string", "Argument for that application."),
        query("snoopId", "string", "Id to give the snoop channel.")},
       {{400, "Missing app"}, {404, "Channel not found"}}},
      [&e](RouteCtx& c) {
        return e.snoop(c.cap(0), c.p.str("app"), c.p.str("appArgs"), c.p.str("snoopId"));
      });
  add({"channels",
       "POST",
       "/channels/{channelId}/snoop/{snoopId}",
       "snoopChannelWithId",
       "Create a snoop channel with this id.",
       "Channel",
       {channel_id(), path("snoopId", "Id to give the snoop channel."),
        query("app", "string", "Application that gets the snoop channel.").req(),
        query("appArgs", "string", "Argument for that application.")},
       {{400, "Missing app"}, {404, "Channel not found"}}},
      [&e](RouteCtx& c) {
        return e.snoop(c.cap(0), c.p.str("app"), c.p.str("appArgs"), c.cap(1));
      });

  // /bridges
  add({"bridges", "GET", "/bridges", "list", "All bridges.", "List[Bridge]"},
      [&e](RouteCtx&) { return e.list_bridges(); });
  add({"bridges",
       "POST",
       "/bridges",
       "create",
       "Create a bridge.",
       "Bridge",
       {query("type", "string", "Comma-separated bridge features, e.g. mixing."),
        query("bridgeId", "string", "Id to give the bridge."),
        query("name", "string", "A name for it.")},
       {{409, "A bridge with that id exists"}}},
      [&e](RouteCtx& c) {
        return e.create_bridge(c.p.str("type"), c.p.str("bridgeId"), c.p.str("name"));
      });
  add({"bridges",
       "GET",
       "/bridges/{bridgeId}",
       "get",
       "One bridge.",
       "Bridge",
       {bridge_id()},
       {{404, "Bridge not found"}}},
      [&e](RouteCtx& c) { return e.get_bridge(c.cap(0)); });
  add({"bridges",
       "POST",
       "/bridges/{bridgeId}",
       "createWithId",
       "Create a bridge with this id.",
       "Bridge",
       {query("type", "string", "Comma-separated bridge features, e.g. mixing."),
        path("bridgeId", "Id to give the bridge."), query("name", "string", "A name for it.")},
       {{409, "A bridge with that id exists"}}},
      [&e](RouteCtx& c) { return e.create_bridge(c.p.str("type"), c.cap(0), c.p.str("name")); });
  add({"bridges",
       "DELETE",
       "/bridges/{bridgeId}",
       "destroy",
       "Destroy a bridge; its channels stay up, out of it.",
       "void",
       {bridge_id()},
       {{404, "Bridge not found"}}},
      [&e](RouteCtx& c) { return e.destroy_bridge(c.cap(0)); });
  add({"bridges",
       "POST",
       "/bridges/{bridgeId}/addChannel",
       "addChannel",
       "Put channels into a bridge.",
       "void",
       {bridge_id(), query("channel", "string", "Ids of the channels.").req().multi()},
       {{400, "No channel, or a channel not found"},
        {404, "Bridge not found"},
        {409, "Bridge not in Stasis"},
        {422, "A channel not in Stasis"}}},
      [&e](RouteCtx& c) { return e.bridge_add(c.cap(0), c.p.list("channel")); });
  add({"bridges",
       "POST",
       "/bridges/{bridgeId}/removeChannel",
       "removeChannel",
       "Take channels out of a bridge.",
       "void",
       {bridge_id(), query("channel", "string", "Ids of the channels.").req().multi()},
       {{400, "No channel, or a channel not found"},
        {404, "Bridge not found"},
        {409, "Bridge not in Stasis"},
        {422, "A channel not in this bridge"}}},
      [&e](RouteCtx& c) { return e.bridge_remove(c.cap(0), c.p.list("channel")); });
  add({"bridges",
       "POST",
       "/bridges/{bridgeId}/play",
       "play",
       "Play media to every channel of a bridge.",
       "Playback",
       play_params(false, true),
       {{404, "Bridge not found"}}},
      [&e](RouteCtx& c) { return e.play(T::bridge, c.cap(0), play_request(c, "")); });
  add({"bridges",
       "POST",
       "/bridges/{bridgeId}/play/{playbackId}",
       "playWithId",
       "Play media to a bridge, giving the playback this id.",
       "Playback",
       play_params(true, true),
       {{404, "Bridge not found"}}},
      [&e](RouteCtx& c) { return e.play(T::bridge, c.cap(0), play_request(c, c.cap(1))); });
  add({"bridges",
       "POST",
       "/bridges/{bridgeId}/record",
       "record",
       "Record the mixed audio of a bridge.",
       "LiveRecording",
       record_params(true),
       {{400, "Invalid parameter"},
        {404, "Bridge not found"},
        {409, "A recording of that name exists"},
        {422, "Unknown format"}}},
      [&e](RouteCtx& c) { return e.record(T::bridge, c.cap(0), record_request(c)); });

  // /playbacks
  add({"playbacks",
       "GET",
       "/playbacks/{playbackId}",
       "get",
       "One playback.",
       "Playback",
       {path("playbackId", "The playback's id.")},
       {{404, "Playback not found"}}},
      [&e](RouteCtx& c) { return e.get_playback(c.cap(0)); });
  add({"playbacks",
       "DELETE",
       "/playbacks/{playbackId}",
       "stop",
       "Stop a playback (it finishes with state done).",
       "void",
       {path("playbackId", "The playback's id.")},
       {{404, "Playback not found"}}},
      [&e](RouteCtx& c) { return e.stop_playback(c.cap(0)); });
  add({"playbacks",
       "POST",
       "/playbacks/{playbackId}/control",
       "control",
       "Pause, resume, restart, skip forward or back.",
       "void",
       {path("playbackId", "The playback's id."),
        query("operation", "string", "What to do.")
            .req()
            .one_of("restart|pause|unpause|reverse|forward")},
       {{400, "Unknown operation"}, {404, "Playback not found"}, {409, "Not playing"}}},
      [&e](RouteCtx& c) { return e.control_playback(c.cap(0), c.p.str("operation")); });

  // /recordings
  add({"recordings", "GET", "/recordings/stored", "listStored", "All stored recordings.",
       "List[StoredRecording]"},
      [&e](RouteCtx&) { return e.list_stored(); });
  add({"recordings",
       "GET",
       "/recordings/stored/{recordingName}",
       "getStored",
       "One stored recording.",
       "StoredRecording",
       {recording_name()},
       {{404, "Recording not found"}}},
      [&e](RouteCtx& c) { return e.get_stored(c.cap(0)); });
  add({"recordings",
       "DELETE",
       "/recordings/stored/{recordingName}",
       "deleteStored",
       "Delete a stored recording and its file.",
       "void",
       {recording_name()},
       {{404, "Recording not found"}}},
      [&e](RouteCtx& c) { return e.delete_stored(c.cap(0)); });
  add({"recordings",
       "GET",
       "/recordings/stored/{recordingName}/file",
       "getStoredFile",
       "The recording's file.",
       "binary",
       {recording_name()},
       {{404, "Recording not found"}}},
      [&e](RouteCtx& c) { return e.stored_file(c.cap(0)); });
  add({"recordings",
       "POST",
       "/recordings/stored/{recordingName}/copy",
       "copyStored",
       "Copy a stored recording under another name.",
       "StoredRecording",
       {recording_name(), query("destinationRecordingName", "string", "Name of the copy.").req()},
       {{404, "Recording not found"}, {409, "A recording of that name exists"}}},
      [&e](RouteCtx& c) { return e.copy_stored(c.cap(0), c.p.str("destinationRecordingName")); });
  add({"recordings",
       "GET",
       "/recordings/live/{recordingName}",
       "getLive",
       "A recording in progress.",
       "LiveRecording",
       {recording_name()},
       {{404, "Recording not found"}}},
      [&e](RouteCtx& c) { return e.get_live_recording(c.cap(0)); });
  add({"recordings",
       "DELETE",
       "/recordings/live/{recordingName}",
       "cancel",
       "Stop a recording and throw it away.",
       "void",
       {recording_name()},
       {{404, "Recording not found"}}},
      [&e](RouteCtx& c) { return e.live_recording_op(c.cap(0), "cancel"); });
  add({"recordings",
       "POST",
       "/recordings/live/{recordingName}/stop",
       "stop",
       "Stop a recording and keep it.",
       "void",
       {recording_name()},
       {{404, "Recording not found"}}},
      [&e](RouteCtx& c) { return e.live_recording_op(c.cap(0), "stop"); });
  add({"recordings",
       "POST",
       "/recordings/live/{recordingName}/pause",
       "pause",
       "Pause a recording.",
       "void",
       {recording_name()},
       {{404, "Recording not found"}, {409, "Not recording"}}},
      [&e](RouteCtx& c) { return e.live_recording_op(c.cap(0), "pause"); });
  add({"recordings",
       "DELETE",
       "/recordings/live/{recordingName}/pause",
       "unpause",
       "Resume a paused recording.",
       "void",
       {recording_name()},
       {{404, "Recording not found"}, {409, "Not recording"}}},
      [&e](RouteCtx& c) { return e.live_recording_op(c.cap(0), "unpause"); });
  add({"recordings",
       "POST",
       "/recordings/live/{recordingName}/mute",
       "mute",
       "Record silence instead of the audio.",
       "void",
       {recording_name()},
       {{404, "Recording not found"}, {409, "Not recording"}}},
      [&e](RouteCtx& c) { return e.live_recording_op(c.cap(0), "mute"); });
  add({"recordings",
       "DELETE",
       "/recordings/live/{recordingName}/mute",
       "unmute",
       "Record the audio again.",
       "void",
       {recording_name()},
       {{404, "Recording not found"}, {409, "Not recording"}}},
      [&e](RouteCtx& c) { return e.live_recording_op(c.cap(0), "unmute"); });

  // /events: the WebSocket (RestApi::open_events); a plain GET is told to upgrade.
  add({"events",
       "GET",
       "/events",
       "eventWebsocket",
       "The events WebSocket of one or more applications (connecting registers them).",
       "Message",
       {query("app", "string", "Applications to receive events for.").req().multi(),
        query("subscribeAll", "boolean", "Receive every event, not only of watched objects.")},
       {},
       true},
      [](RouteCtx&) { return error_reply(426, "Upgrade required"); });
  return r;
}

}  // namespace aa::sim
