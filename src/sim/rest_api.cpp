// ARI REST routing: path patterns → parameter parsing → Engine calls.
#include "sim/rest_api.hpp"

#include <functional>

#include "common/log.hpp"
#include "common/util.hpp"
#include "sim/params.hpp"
#include "sim/reply.hpp"

namespace aa::sim {

// ---- Params ----

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

std::optional<std::string> Params::get(std::string_view name) const {
  if (auto v = req_.param(name)) return std::string(*v);
  if (body_ && body_->IsObject()) {
    if (const json::Value* v = json::find(*body_, name)) {
      if (v->IsString()) return std::string(json::as_view(*v));
      if (v->IsBool()) return std::string(v->GetBool() ? "true" : "false");
      if (v->IsInt64()) return std::to_string(v->GetInt64());
      if (v->IsNumber()) return std::to_string(v->GetDouble());
      if (v->IsArray()) {
        std::string joined;
        for (const auto& item : v->GetArray()) {
          if (!joined.empty()) joined += ",";
          joined += item.IsString() ? std::string(json::as_view(item)) : json::stringify(item);
        }
        return joined;
      }
    }
  }
  return std::nullopt;
}

int64_t Params::integer(std::string_view name, int64_t fallback) const {
  auto v = get(name);
  if (!v || v->empty()) return fallback;
  try {
    size_t used = 0;
    int64_t n = std::stoll(*v, &used);
    return used ? n : fallback;
  } catch (...) {
    return fallback;
  }
}

bool Params::boolean(std::string_view name, bool fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  return *v == "true" || *v == "1" || *v == "yes";
}

std::vector<std::string> Params::list(std::string_view name) const {
  std::vector<std::string> out;
  bool any_query = false;
  for (const auto& [k, v] : req_.query)
    if (k == name) {
      any_query = true;
      for (auto& item : split_list(v)) out.push_back(std::move(item));
    }
  if (!any_query)
    if (auto v = get(name)) out = split_list(*v);
  return out;
}

std::string asterisk_html_error(int status, std::string_view title, std::string_view text) {
  std::string s = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n<title>";
  s += std::to_string(status) + " " + std::string(title);
  s +=
      "</title>\r\n</head><body>\r\n<h1>" + std::string(title) + "</h1>\r\n<p>" + std::string(text);
  s += "</p>\r\n<hr />\r\n<address>Asterisk</address>\r\n</body></html>\r\n";
  return s;
}

// ---- routing ----

namespace {

struct Ctx {
  const net::Request& req;
  Params p;
  std::vector<std::string> caps;  // {placeholders} in pattern order
  const std::string& cap(size_t i) const { return caps.at(i); }
};

using RouteFn = std::function<net::Response(Ctx&)>;

struct Route {
  std::string_view method;
  std::vector<std::string_view> pattern;
  RouteFn fn;
};

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

bool match(const std::vector<std::string_view>& pattern, const std::vector<std::string_view>& segs,
           std::vector<std::string>& caps) {
  if (pattern.size() != segs.size()) return false;
  caps.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "*")
      caps.emplace_back(segs[i]);
    else if (pattern[i] != segs[i])
      return false;
  }
  return true;
}

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

net::Response do_originate(Engine& e, Ctx& c, const std::string& path_id) {
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

PlayRequest play_request(const Ctx& c, const std::string& path_id) {
  PlayRequest r;
  r.media = c.p.list("media");
  r.lang = c.p.str("lang", "en");
  r.playback_id = path_id.empty() ? c.p.str("playbackId") : path_id;
  r.offset_ms = c.p.integer("offsetms", 0);
  r.skip_ms = c.p.integer("skipms", 3000);
  return r;
}

RecordRequest record_request(const Ctx& c) {
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

std::vector<Route> build_routes(Engine& e) {
  using T = Engine::Target;
  std::vector<Route> r;
  auto add = [&](std::string_view method, std::string_view pattern, RouteFn fn) {
    r.push_back({method, split_path(pattern), std::move(fn)});
  };
  // /asterisk
  add("GET", "asterisk/info", [&e](Ctx& c) { return e.asterisk_info(c.p.str("only")); });
  add("GET", "asterisk/ping", [&e](Ctx&) { return e.asterisk_ping(); });
  // /applications
  add("GET", "applications", [&e](Ctx&) { return e.list_apps(); });
  add("GET", "applications/*", [&e](Ctx& c) { return e.get_app(c.cap(0)); });
  add("POST", "applications/*/subscription",
      [&e](Ctx& c) { return e.subscribe(c.cap(0), c.p.list("eventSource"), true); });
  add("DELETE", "applications/*/subscription",
      [&e](Ctx& c) { return e.subscribe(c.cap(0), c.p.list("eventSource"), false); });
  // /endpoints
  add("GET", "endpoints", [&e](Ctx&) { return e.list_endpoints(nullptr); });
  add("GET", "endpoints/*", [&e](Ctx& c) { return e.list_endpoints(&c.cap(0)); });
  add("GET", "endpoints/*/*", [&e](Ctx& c) { return e.get_endpoint(c.cap(0), c.cap(1)); });
  // /sounds
  add("GET", "sounds", [&e](Ctx&) { return e.list_sounds(); });
  add("GET", "sounds/*", [&e](Ctx& c) { return e.get_sound(c.cap(0)); });
  // /channels
  add("GET", "channels", [&e](Ctx&) { return e.list_channels(); });
  add("POST", "channels", [&e](Ctx& c) { return do_originate(e, c, ""); });
  add("POST", "channels/externalMedia", [&e](Ctx& c) {
    ExternalMediaRequest x;
    x.app = c.p.str("app");
    x.app_args = c.p.str("data");
    x.channel_id = c.p.str("channelId");
    x.external_host = c.p.str("external_host");
    x.encapsulation = c.p.str("encapsulation");
    x.transport = c.p.str("transport");
    x.connection_type = c.p.str("connection_type");
    x.format = c.p.str("format");
    x.direction = c.p.str("direction");
    x.transport_data = c.p.str("transport_data");
    return e.external_media(std::move(x));
  });
  add("GET", "channels/*", [&e](Ctx& c) { return e.get_channel(c.cap(0)); });
  add("POST", "channels/*", [&e](Ctx& c) { return do_originate(e, c, c.cap(0)); });
  add("DELETE", "channels/*", [&e](Ctx& c) {
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
  add("POST", "channels/*/answer", [&e](Ctx& c) { return e.answer(c.cap(0)); });
  add("POST", "channels/*/ring", [&e](Ctx& c) { return e.ring(c.cap(0), true); });
  add("DELETE", "channels/*/ring", [&e](Ctx& c) { return e.ring(c.cap(0), false); });
  add("POST", "channels/*/hold", [&e](Ctx& c) { return e.simple_stasis_op(c.cap(0)); });
  add("DELETE", "channels/*/hold", [&e](Ctx& c) { return e.simple_stasis_op(c.cap(0)); });
  add("POST", "channels/*/mute", [&e](Ctx& c) { return e.simple_stasis_op(c.cap(0)); });
  add("DELETE", "channels/*/mute", [&e](Ctx& c) { return e.simple_stasis_op(c.cap(0)); });
  add("POST", "channels/*/moh", [&e](Ctx& c) { return e.simple_stasis_op(c.cap(0)); });
  add("DELETE", "channels/*/moh", [&e](Ctx& c) { return e.simple_stasis_op(c.cap(0)); });
  add("POST", "channels/*/silence", [&e](Ctx& c) { return e.simple_stasis_op(c.cap(0)); });
  add("DELETE", "channels/*/silence", [&e](Ctx& c) { return e.simple_stasis_op(c.cap(0)); });
  add("POST", "channels/*/dtmf", [&e](Ctx& c) {
    DtmfRequest d;
    d.digits = c.p.str("dtmf");
    d.before_ms = c.p.integer("before", 0);
    d.between_ms = c.p.integer("between", 100);
    d.duration_ms = c.p.integer("duration", 100);
    d.after_ms = c.p.integer("after", 0);
    return e.send_dtmf(c.cap(0), std::move(d));
  });
  add("POST", "channels/*/play",
      [&e](Ctx& c) { return e.play(T::channel, c.cap(0), play_request(c, "")); });
  add("POST", "channels/*/play/*",
      [&e](Ctx& c) { return e.play(T::channel, c.cap(0), play_request(c, c.cap(1))); });
  add("POST", "channels/*/record",
      [&e](Ctx& c) { return e.record(T::channel, c.cap(0), record_request(c)); });
  add("GET", "channels/*/variable",
      [&e](Ctx& c) { return e.get_var(c.cap(0), c.p.str("variable")); });
  add("POST", "channels/*/variable",
      [&e](Ctx& c) { return e.set_var(c.cap(0), c.p.str("variable"), c.p.str("value")); });
  add("POST", "channels/*/continue", [&e](Ctx& c) { return e.continue_in_dialplan(c.cap(0)); });
  add("POST", "channels/*/redirect",
      [&e](Ctx& c) { return e.redirect(c.cap(0), c.p.str("endpoint")); });
  add("POST", "channels/*/snoop", [&e](Ctx& c) {
    return e.snoop(c.cap(0), c.p.str("app"), c.p.str("appArgs"), c.p.str("snoopId"));
  });
  add("POST", "channels/*/snoop/*",
      [&e](Ctx& c) { return e.snoop(c.cap(0), c.p.str("app"), c.p.str("appArgs"), c.cap(1)); });
  // /bridges
  add("GET", "bridges", [&e](Ctx&) { return e.list_bridges(); });
  add("POST", "bridges", [&e](Ctx& c) {
    return e.create_bridge(c.p.str("type"), c.p.str("bridgeId"), c.p.str("name"));
  });
  add("GET", "bridges/*", [&e](Ctx& c) { return e.get_bridge(c.cap(0)); });
  add("POST", "bridges/*",
      [&e](Ctx& c) { return e.create_bridge(c.p.str("type"), c.cap(0), c.p.str("name")); });
  add("DELETE", "bridges/*", [&e](Ctx& c) { return e.destroy_bridge(c.cap(0)); });
  add("POST", "bridges/*/addChannel",
      [&e](Ctx& c) { return e.bridge_add(c.cap(0), c.p.list("channel")); });
  add("POST", "bridges/*/removeChannel",
      [&e](Ctx& c) { return e.bridge_remove(c.cap(0), c.p.list("channel")); });
  add("POST", "bridges/*/play",
      [&e](Ctx& c) { return e.play(T::bridge, c.cap(0), play_request(c, "")); });
  add("POST", "bridges/*/play/*",
      [&e](Ctx& c) { return e.play(T::bridge, c.cap(0), play_request(c, c.cap(1))); });
  add("POST", "bridges/*/record",
      [&e](Ctx& c) { return e.record(T::bridge, c.cap(0), record_request(c)); });
  // /playbacks
  add("GET", "playbacks/*", [&e](Ctx& c) { return e.get_playback(c.cap(0)); });
  add("DELETE", "playbacks/*", [&e](Ctx& c) { return e.stop_playback(c.cap(0)); });
  add("POST", "playbacks/*/control",
      [&e](Ctx& c) { return e.control_playback(c.cap(0), c.p.str("operation")); });
  // /recordings
  add("GET", "recordings/stored", [&e](Ctx&) { return e.list_stored(); });
  add("GET", "recordings/stored/*", [&e](Ctx& c) { return e.get_stored(c.cap(0)); });
  add("DELETE", "recordings/stored/*", [&e](Ctx& c) { return e.delete_stored(c.cap(0)); });
  add("GET", "recordings/stored/*/file", [&e](Ctx& c) { return e.stored_file(c.cap(0)); });
  add("POST", "recordings/stored/*/copy",
      [&e](Ctx& c) { return e.copy_stored(c.cap(0), c.p.str("destinationRecordingName")); });
  add("GET", "recordings/live/*", [&e](Ctx& c) { return e.get_live_recording(c.cap(0)); });
  add("DELETE", "recordings/live/*",
      [&e](Ctx& c) { return e.live_recording_op(c.cap(0), "cancel"); });
  add("POST", "recordings/live/*/stop",
      [&e](Ctx& c) { return e.live_recording_op(c.cap(0), "stop"); });
  add("POST", "recordings/live/*/pause",
      [&e](Ctx& c) { return e.live_recording_op(c.cap(0), "pause"); });
  add("DELETE", "recordings/live/*/pause",
      [&e](Ctx& c) { return e.live_recording_op(c.cap(0), "unpause"); });
  add("POST", "recordings/live/*/mute",
      [&e](Ctx& c) { return e.live_recording_op(c.cap(0), "mute"); });
  add("DELETE", "recordings/live/*/mute",
      [&e](Ctx& c) { return e.live_recording_op(c.cap(0), "unmute"); });
  // The events path answers plain HTTP like Asterisk: it wants an upgrade.
  add("GET", "events", [](Ctx&) { return error_reply(426, "Upgrade required"); });
  return r;
}

}  // namespace

bool RestApi::authorized(const net::Request& req) const {
  const std::string expected = creds_.user + ":" + creds_.password;
  if (auto key = req.param("api_key")) return constant_time_equal(*key, expected);
  std::string_view auth = req.header("Authorization");
  if (auth.size() > 6 && iequals(auth.substr(0, 6), "Basic ")) {
    std::string_view b64 = auth.substr(6);
    while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
    return constant_time_equal(b64, base64_encode(expected));
  }
  return false;
}

net::Response RestApi::handle(const net::Request& req) {
  if (!authorized(req)) {
    net::Response r = error_reply(401, "Authentication required");
    r.headers.push_back({"WWW-Authenticate", "Basic realm=\"Asterisk REST Interface\""});
    return r;
  }
  std::string_view path = req.path;
  if (path.rfind("/ari", 0) == 0) path.remove_prefix(4);
  const auto segs = split_path(path);

  std::optional<json::Document> doc;
  if (!req.body.empty()) {
    const std::string ct = req.content_type();
    const bool looks_json = ct == "application/json" ||
                            (ct.empty() && (req.body.front() == '{' || req.body.front() == '['));
    if (looks_json) {
      doc = json::parse(req.body);
      if (!doc) return error_reply(400, "Error parsing request body");
    }
  }
  if (!routes_) routes_ = std::make_shared<std::vector<Route>>(build_routes(engine_));
  bool path_matched = false;
  std::vector<std::string> caps;
  for (const Route& route : *std::static_pointer_cast<std::vector<Route>>(routes_)) {
    if (!route.fn || !match(route.pattern, segs, caps)) continue;
    path_matched = true;
    if (route.method != req.method) continue;
    Ctx ctx{req, Params(req, doc ? &*doc : nullptr), caps};
    return route.fn(ctx);
  }
  if (path_matched) return error_reply(405, "Invalid method");
  return error_reply(404, "Resource not found");
}

std::optional<net::Response> RestApi::check_events_upgrade(const net::Request& req) const {
  if (req.path != "/ari/events" && req.path != "/ari/events/")
    return error_reply(404, "Resource not found");
  if (!authorized(req)) return error_reply(401, "Authentication required");
  auto app = req.param("app");
  if (!app || app->empty()) {
    net::Response r;
    r.status = 400;
    r.content_type = "text/html";
    r.body = asterisk_html_error(400, "Bad Request", "HTTP request is missing param: [app]");
    return r;
  }
  return std::nullopt;
}

void RestApi::open_events(std::shared_ptr<net::WsConnection> ws, const net::Request& req) {
  std::vector<std::string> apps;
  for (const auto& [k, v] : req.query)
    if (k == "app")
      for (auto& a : split_list(v)) apps.push_back(std::move(a));
  const auto all = req.param("subscribeAll");
  const bool subscribe_all = all && (*all == "true" || *all == "1" || *all == "yes");
  engine_.attach_socket(std::move(ws), std::move(apps), subscribe_all);
}

}  // namespace aa::sim
