// Engine core: ids, timers, Stasis applications and event delivery,
// /asterisk, /applications, /endpoints, /sounds, state dump and reset.
#include "sim/engine.hpp"

#include <algorithm>
#include <filesystem>

#include "common/log.hpp"
#include "common/util.hpp"
#include "sim/api_docs.hpp"
#include "sim/media_plane.hpp"
#include "sim/reply.hpp"

namespace aa::sim {

std::optional<Behavior> parse_behavior(std::string_view s) {
  if (s == "answer") return Behavior::answer;
  if (s == "busy") return Behavior::busy;
  if (s == "noanswer" || s == "no_answer") return Behavior::noanswer;
  if (s == "congestion") return Behavior::congestion;
  if (s == "manual") return Behavior::manual;
  return std::nullopt;
}

std::string_view behavior_name(Behavior b) {
  switch (b) {
    case Behavior::answer:
      return "answer";
    case Behavior::busy:
      return "busy";
    case Behavior::noanswer:
      return "noanswer";
    case Behavior::congestion:
      return "congestion";
    case Behavior::manual:
      return "manual";
  }
  return "answer";
}

std::string_view cause_text(int cause) {
  switch (cause) {
    case 1:
      return "Unallocated (unassigned) number";
    case 3:
      return "No route to destination";
    case 16:
      return "Normal Clearing";
    case 17:
      return "User busy";
    case 18:
      return "No user responding";
    case 19:
      return "User alerting, no answer";
    case 21:
      return "Call Rejected";
    case 26:
      return "Answered elsewhere";
    case 27:
      return "Destination out of order";
    case 28:
      return "Invalid number format (incomplete number)";
    case 31:
      return "Normal, unspecified";
    case 34:
      return "Circuit/channel congestion";
    case 38:
      return "Network out of order";
    case 41:
      return "Temporary failure";
    case 58:
      return "Bearer capability not presently available";
    case 127:
      return "Interworking, unspecified";
    default:
      return "Unknown";
  }
}

std::optional<int> hangup_reason_cause(std::string_view r) {
  static const std::pair<std::string_view, int> table[] = {{"normal", 16},
                                                           {"busy", 17},
                                                           {"congestion", 34},
                                                           {"no_answer", 19},
                                                           {"timeout", 19},
                                                           {"rejected", 21},
                                                           {"unallocated", 1},
                                                           {"normal_unspecified", 31},
                                                           {"number_incomplete", 28},
                                                           {"codec_mismatch", 58},
                                                           {"interworking", 127},
                                                           {"failure", 38},
                                                           {"answered_elsewhere", 26}};
  for (const auto& [name, cause] : table)
    if (r == name) return cause;
  return std::nullopt;
}

const std::vector<std::pair<std::string, int64_t>>& known_sounds() {
  // Durations measured on Asterisk's core sounds (en, slin): hello-world
  // ≈1.4 s and beep ≈0.42 s are in the traces; the rest are plausible.
  static const std::vector<std::pair<std::string, int64_t>> sounds = [] {
    std::vector<std::pair<std::string, int64_t>> v = {
        {"hello-world", 1400},    {"beep", 425},
        {"goodbye", 800},         {"demo-congrats", 7000},
        {"demo-thanks", 3000},    {"tt-monkeys", 6000},
        {"tt-weasels", 5000},     {"vm-goodbye", 900},
        {"vm-intro", 4000},       {"conf-onlyperson", 2200},
        {"queue-thankyou", 1500}, {"pls-hold-while-try", 2500},
        {"ss-noservice", 3500},   {"auth-thankyou", 900},
        {"agent-pass", 1100},     {"silence/1", 1000}};
    for (int i = 2; i <= 10; ++i) v.emplace_back("silence/" + std::to_string(i), i * 1000);
    for (int i = 0; i <= 9; ++i) v.emplace_back("digits/" + std::to_string(i), 500);
    return v;
  }();
  return sounds;
}

std::optional<int64_t> sound_duration_ms(std::string_view name) {
  for (const auto& [n, d] : known_sounds())
    if (n == name) return d;
  return std::nullopt;
}

// ---------------------------------------------------------------------------

Engine::Engine(asio::any_io_executor ex, EngineOptions opts)
    : ex_(std::move(ex)), opts_(std::move(opts)) {
  if (opts_.time_scale <= 0) opts_.time_scale = 1.0;
  if (opts_.asterisk_id.empty()) {
    const std::string h = random_hex(4);
    opts_.asterisk_id = "02:fc:" + h.substr(0, 2) + ":" + h.substr(2, 2) + ":" + h.substr(4, 2) +
                        ":" + h.substr(6, 2);
  }
  if (opts_.data_dir.empty()) {
    opts_.data_dir =
        (std::filesystem::temp_directory_path() / ("ari-sim-" + random_hex(6))).string();
  }
  std::error_code ec;
  std::filesystem::create_directories(recording_dir(), ec);
  startup_ms_ = now_epoch_ms();
  id_epoch_ = startup_ms_ / 1000;
  init_endpoints();
  media_ = std::make_shared<MediaPlane>(ex_);
  media_->heard_max_ticks = opts_.heard_max_seconds * 1000 / kTickMs;
}

Engine::~Engine() {
  *alive_ = false;
}

void Engine::init_endpoints() {
  endpoints_.clear();
  auto list = opts_.endpoints;
  if (list.empty()) {
    list.push_back({"PJSIP", "1001", "online", Behavior::answer, 200, false, "Test 1001"});
    list.push_back({"PJSIP", "1002", "online", Behavior::answer, 200, false, "Test 1002"});
    list.push_back({"PJSIP", "trunk-provider", "online", Behavior::answer, 200, true, ""});
  }
  for (auto& e : list) endpoints_[e.technology + "/" + e.resource] = e;
}

void Engine::after(double sim_ms, std::function<void()> fn) {
  const auto real = std::chrono::microseconds(
      static_cast<int64_t>(std::max(0.0, sim_ms) * 1000.0 * opts_.time_scale));
  auto timer = std::make_shared<asio::steady_timer>(ex_, real);
  std::weak_ptr<bool> alive = alive_;
  timer->async_wait([timer, alive, this, gen = generation_,
                     fn = std::move(fn)](const boost::system::error_code& ec) {
    if (ec || alive.expired() || gen != generation_) return;
    fn();
  });
}

std::string Engine::next_channel_id() {
  std::string id;
  do {
    id = std::to_string(id_epoch_) + "." + std::to_string(id_counter_++);
  } while (channels_.count(id));
  return id;
}

std::string Engine::next_name_suffix() {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08llx", static_cast<unsigned long long>(name_counter_++));
  return buf;
}

std::string Engine::now_ts() const {
  return asterisk_timestamp(now_epoch_ms());
}

int64_t Engine::sim_now_ms() const {
  const auto real = std::chrono::duration_cast<std::chrono::microseconds>(
                        std::chrono::steady_clock::now().time_since_epoch())
                        .count();
  return static_cast<int64_t>(static_cast<double>(real) / 1000.0 / opts_.time_scale);
}

// ---- applications and subscriptions ----

Engine::App* Engine::find_app(const std::string& name) {
  auto it = apps_.find(name);
  return it == apps_.end() ? nullptr : it->second.get();
}

Engine::App& Engine::ensure_app(const std::string& name) {
  auto& slot = apps_[name];
  if (!slot) {
    slot = std::make_unique<App>();
    slot->name = name;
  }
  return *slot;
}

bool Engine::app_registered(const std::string& name) const {
  return apps_.count(name) > 0;
}

bool Engine::app_active(const std::string& name) const {
  auto it = apps_.find(name);
  return it != apps_.end() && it->second->socket && it->second->socket->is_open();
}

void Engine::drop_idle_apps() {
  // Asterisk deactivates an app that has no socket and nothing it watches.
  for (auto it = apps_.begin(); it != apps_.end();) {
    const App& a = *it->second;
    if (!a.socket && a.channels.empty() && a.bridges.empty() && a.endpoints.empty())
      it = apps_.erase(it);
    else
      ++it;
  }
}

void Engine::subscribe_channel(const std::string& app, const std::string& channel_id) {
  if (App* a = find_app(app)) a->channels.insert(channel_id);
}

void Engine::unsubscribe_channel_everywhere(const std::string& channel_id) {
  for (auto& [_, a] : apps_) a->channels.erase(channel_id);
}

void Engine::attach_socket(std::shared_ptr<net::WsConnection> ws, std::vector<std::string> apps,
                           bool subscribe_all) {
  for (const auto& name : apps) {
    App& a = ensure_app(name);
    if (a.socket && a.socket != ws && a.socket->is_open()) {
      json::Writer w;
      w.begin_object()
          .field("type", "ApplicationReplaced")
          .field("timestamp", now_ts())
          .field("application", name)
          .field("asterisk_id", opts_.asterisk_id)
          .end_object();
      a.socket->send(w.str());
    }
    a.socket = ws;
    a.subscribe_all = subscribe_all;
  }
  std::weak_ptr<bool> alive = alive_;
  net::WsConnection* raw = ws.get();
  ws->on_close = [this, alive, raw] {
    if (alive.expired()) return;
    for (auto& [_, a] : apps_)
      if (a->socket.get() == raw) a->socket.reset();
    drop_idle_apps();
  };
  ws->on_message = [](std::string_view) {};  // Asterisk ignores client messages here
}

void Engine::drop_sockets(uint16_t code) {
  std::vector<std::shared_ptr<net::WsConnection>> sockets;
  for (auto& [_, a] : apps_)
    if (a->socket) sockets.push_back(std::exchange(a->socket, nullptr));
  for (auto& s : sockets)
    if (s->is_open()) s->close(code);
  drop_idle_apps();
}

void Engine::emit(std::string_view type, const std::vector<std::string>& channels,
                  const std::vector<std::string>& bridges,
                  const std::function<void(json::Writer&)>& body,
                  const std::set<std::string>* extra_apps) {
  // Clients that build their API from /ari/api-docs (node's ari-client) look
  // every event up in the events models and throw on an unknown type.
  if (!apidocs::has_event_model(type))
    log::error("ari-sim: event type {} has no model in the api-docs", type);
  const std::string ts = now_ts();
  for (auto& [name, a] : apps_) {
    if (!a->socket || !a->socket->is_open()) continue;
    bool wanted = a->subscribe_all || (extra_apps && extra_apps->count(name));
    for (const auto& c : channels) wanted = wanted || a->channels.count(c);
    for (const auto& b : bridges) wanted = wanted || a->bridges.count(b);
    if (!wanted) continue;
    json::Writer w;
    w.begin_object().field("type", type).field("timestamp", ts);
    if (body) body(w);
    w.field("asterisk_id", opts_.asterisk_id).field("application", name).end_object();
    a->socket->send(w.str());
  }
}

ari::Channel Engine::channel_model(const SimChannel& ch, bool for_event) const {
  ari::Channel c = ch.info;
  if (for_event) {
    for (const auto& name : ch.reported_vars) {
      auto it = ch.vars.find(name);
      c.channelvars.emplace_back(name, it == ch.vars.end() ? "" : it->second);
    }
  }
  return c;
}

ari::Bridge Engine::bridge_model(const SimBridge& b) const {
  return b.info;
}

void Engine::emit_channel(std::string_view type, const SimChannel& ch,
                          const std::function<void(json::Writer&)>& extra) {
  const ari::Channel model = channel_model(ch, true);
  emit(type, {ch.info.id}, {}, [&](json::Writer& w) {
    if (extra) extra(w);
    w.key("channel");
    ari::write_json(w, model);
  });
}

void Engine::emit_dial(const SimChannel& peer, std::string_view status) {
  const ari::Channel model = channel_model(peer, true);
  emit("Dial", {peer.info.id}, {}, [&](json::Writer& w) {
    w.field("dialstatus", status).field("forward", "").field("dialstring", peer.dialstring);
    w.key("peer");
    ari::write_json(w, model);
  });
}

void Engine::emit_destroyed(const SimChannel& ch, int cause) {
  emit_channel("ChannelDestroyed", ch, [cause](json::Writer& w) {
    w.field_int("cause", cause).field("cause_txt", cause_text(cause));
  });
}

void Engine::emit_hangup_request(const SimChannel& ch, std::optional<int> cause, bool soft) {
  emit_channel("ChannelHangupRequest", ch, [cause, soft](json::Writer& w) {
    if (cause) w.field_int("cause", *cause);
    if (soft) w.field_bool("soft", true);
  });
}

// ---- /asterisk ----

Reply Engine::asterisk_info(std::string_view only) const {
  auto want = [&](std::string_view part) {
    if (only.empty()) return true;
    size_t start = 0;
    while (start <= only.size()) {
      size_t end = only.find(',', start);
      if (end == std::string_view::npos) end = only.size();
      if (only.substr(start, end - start) == part) return true;
      start = end + 1;
    }
    return false;
  };
  const std::string started = asterisk_timestamp(startup_ms_);
  json::Writer w;
  w.begin_object();
  if (want("build")) {
    w.key("build")
        .begin_object()
        .field("os", "Linux")
        .field("kernel", "6.1.0-sim")
        .field("machine", "x86_64")
        .field("options", "OPTIONAL_API")
        .field("date", "2026-01-01 00:00:00 UTC")
        .field("user", "root")
        .end_object();
  }
  if (want("system"))
    w.key("system")
        .begin_object()
        .field("version", opts_.version)
        .field("entity_id", opts_.asterisk_id)
        .end_object();
  if (want("config")) {
    w.key("config").begin_object().field("name", "").field("default_language", "en");
    w.key("setid").begin_object().field("user", "").field("group", "").end_object();
    w.end_object();
  }
  if (want("status"))
    w.key("status")
        .begin_object()
        .field("startup_time", started)
        .field("last_reload_time", started)
        .end_object();
  w.end_object();
  return Reply::json(200, w.str());
}

Reply Engine::asterisk_ping() const {
  json::Writer w;
  w.begin_object()
      .field("ping", "pong")
      .field("timestamp", now_ts())
      .field("asterisk_id", opts_.asterisk_id)
      .end_object();
  return Reply::json(200, w.str());
}

// ---- /applications ----

namespace {
void write_app(json::Writer& w, const Engine::App& a) {
  auto arr = [&](std::string_view key, const std::set<std::string>& s) {
    w.key(key).begin_array();
    for (const auto& x : s) w.string(x);
    w.end_array();
  };
  w.begin_object().field("name", a.name);
  arr("channel_ids", a.channels);
  arr("bridge_ids", a.bridges);
  arr("endpoint_ids", a.endpoints);
  w.key("device_names").begin_array().end_array();
  w.key("events_allowed").begin_array().end_array();
  w.key("events_disallowed").begin_array().end_array();
  w.end_object();
}
}  // namespace

Reply Engine::list_apps() const {
  json::Writer w;
  w.begin_array();
  for (const auto& [_, a] : apps_) write_app(w, *a);
  w.end_array();
  return Reply::json(200, w.str());
}

Reply Engine::get_app(const std::string& name) const {
  auto it = apps_.find(name);
  if (it == apps_.end()) return error_reply(404, "Application not found");
  json::Writer w;
  write_app(w, *it->second);
  return Reply::json(200, w.str());
}

Reply Engine::subscribe(const std::string& app, const std::vector<std::string>& sources, bool on) {
  App* a = find_app(app);
  if (!a) return error_reply(404, "Application not found");
  if (sources.empty()) return error_reply(400, "Missing parameter eventSource");
  // Validate everything first: Asterisk applies all or nothing.
  for (const auto& src : sources) {
    const auto colon = src.find(':');
    const std::string scheme = colon == std::string::npos ? src : src.substr(0, colon);
    const std::string id = colon == std::string::npos ? "" : src.substr(colon + 1);
    if (scheme == "channel") {
      if (!channels_.count(id)) return error_reply(422, "Event source does not exist");
    } else if (scheme == "bridge") {
      if (!bridges_.count(id)) return error_reply(422, "Event source does not exist");
    } else if (scheme == "endpoint") {
      const auto slash = id.find('/');
      if (slash == std::string::npos ? !endpoints_.count(id) && id != "PJSIP"
                                     : !endpoints_.count(id))
        return error_reply(422, "Event source does not exist");
    } else if (scheme == "deviceState") {
      // accepted, nothing to watch in the simulator
    } else {
      return error_reply(400, "Invalid event source URI scheme '" + scheme + "'");
    }
  }
  for (const auto& src : sources) {
    const auto colon = src.find(':');
    const std::string scheme = src.substr(0, colon);
    const std::string id = src.substr(colon + 1);
    std::set<std::string>* set = scheme == "channel"    ? &a->channels
                                 : scheme == "bridge"   ? &a->bridges
                                 : scheme == "endpoint" ? &a->endpoints
                                                        : nullptr;
    if (!set) continue;
    if (on)
      set->insert(id);
    else
      set->erase(id);
  }
  json::Writer w;
  write_app(w, *a);
  Reply r = Reply::json(200, w.str());
  drop_idle_apps();
  return r;
}

// ---- /endpoints ----

Reply Engine::list_endpoints(const std::string* tech) const {
  json::Writer w;
  w.begin_array();
  bool any = false;
  for (const auto& [key, e] : endpoints_) {
    if (e.technology == "Local") continue;  // per-extension rules are not endpoints
    if (tech && !iequals(e.technology, *tech)) continue;
    any = true;
    ari::Endpoint ep{e.technology, e.resource, e.state, {}};
    for (const auto& [id, ch] : channels_)
      if (ch->endpoint_key == key) ep.channel_ids.push_back(id);
    ari::write_json(w, ep);
  }
  w.end_array();
  if (tech && !any) return error_reply(404, "No Endpoints found - invalid tech " + *tech);
  return Reply::json(200, w.str());
}

Reply Engine::get_endpoint(const std::string& tech, const std::string& resource) const {
  const EndpointConfig* e = find_endpoint(tech, resource);
  if (!e || e->technology == "Local" || e->resource != resource)
    return error_reply(404, "Endpoint not found");
  const std::string key = e->technology + "/" + e->resource;
  ari::Endpoint ep{e->technology, e->resource, e->state, {}};
  for (const auto& [id, ch] : channels_)
    if (ch->endpoint_key == key) ep.channel_ids.push_back(id);
  return model_reply(200, ep);
}

// ---- /sounds ----

Reply Engine::list_sounds() const {
  return array_reply(known_sounds(), [](json::Writer& w, const auto& s) {
    w.begin_object().field("id", s.first).key("formats").begin_array();
    w.begin_object().field("language", "en").field("format", "slin").end_object();
    w.end_array().end_object();
  });
}

Reply Engine::get_sound(const std::string& id) const {
  if (!sound_duration_ms(id)) return error_reply(404, "Sound not found");
  json::Writer w;
  w.begin_object().field("id", id).key("formats").begin_array();
  w.begin_object().field("language", "en").field("format", "slin").end_object();
  w.end_array().end_object();
  return Reply::json(200, w.str());
}

// ---- control: state, reset, endpoints ----

Reply Engine::set_endpoint(const std::string& tech, const std::string& resource,
                           const json::Value& spec) {
  if (tech.empty() || resource.empty()) return error_reply(400, "technology and resource required");
  const std::string key = tech + "/" + resource;
  auto it = endpoints_.find(key);
  EndpointConfig e;
  if (it != endpoints_.end()) {
    e = it->second;
  } else {
    e.technology = tech;
    e.resource = resource;
    // A Local rule answers at once by default, like exten 100 of the traces.
    e.answer_after_ms = iequals(tech, "Local") ? 0 : 200;
  }
  if (auto* b = json::find(spec, "behavior")) {
    auto parsed = parse_behavior(json::as_view(*b));
    if (!parsed) return error_reply(400, "behavior must be answer|busy|noanswer|congestion|manual");
    e.behavior = *parsed;
  }
  if (auto* v = json::find(spec, "answerAfterMs")) {
    if (!v->IsNumber() || v->GetDouble() < 0)
      return error_reply(400, "answerAfterMs must be a number >= 0");
    e.answer_after_ms = static_cast<int>(v->GetDouble());
  }
  if (auto* v = json::find(spec, "state")) {
    const auto s = json::as_view(*v);
    if (s != "online" && s != "offline" && s != "unknown")
      return error_reply(400, "state must be online|offline|unknown");
    e.state = std::string(s);
  }
  if (auto* v = json::find(spec, "trunk")) e.trunk = v->IsBool() && v->GetBool();
  if (auto* v = json::find(spec, "callerName")) e.caller_name = std::string(json::as_view(*v));
  endpoints_[key] = e;
  json::Writer w;
  w.begin_object()
      .field("technology", e.technology)
      .field("resource", e.resource)
      .field("state", e.state)
      .field("behavior", behavior_name(e.behavior))
      .field_int("answerAfterMs", e.answer_after_ms)
      .field_bool("trunk", e.trunk)
      .end_object();
  return Reply::json(200, w.str());
}

Reply Engine::state_json() const {
  json::Writer w;
  w.begin_object();
  w.field("startupTime", asterisk_timestamp(startup_ms_));
  w.key("channels").begin_array();
  for (const auto& [id, ch] : channels_) {
    w.begin_object().field("id", id).key("channel");
    ari::write_json(w, ch->info);
    w.field("stasisApp", ch->stasis_app)
        .field("bridgeId", ch->bridge_id)
        .field("behavior", behavior_name(ch->behavior))
        .field("otherHalf", ch->other_half)
        .field_int("queuedMedia", static_cast<int64_t>(ch->ops.size()));
    w.end_object();
  }
  w.end_array();
  w.key("bridges").begin_array();
  for (const auto& [_, b] : bridges_) ari::write_json(w, b->info);
  w.end_array();
  w.key("playbacks").begin_array();
  for (const auto& [_, list] : playbacks_)
    for (const auto& pb : list) ari::write_json(w, pb->info);
  w.end_array();
  w.key("recordings").begin_array();
  for (const auto& [_, rec] : live_recordings_) ari::write_json(w, rec->info);
  w.end_array();
  w.key("endpoints").begin_array();
  for (const auto& [key, e] : endpoints_) {
    w.begin_object()
        .field("technology", e.technology)
        .field("resource", e.resource)
        .field("state", e.state)
        .field("behavior", behavior_name(e.behavior))
        .field_int("answerAfterMs", e.answer_after_ms)
        .field_bool("trunk", e.trunk)
        .end_object();
  }
  w.end_array();
  w.key("applications").begin_array();
  for (const auto& [name, a] : apps_) {
    w.begin_object()
        .field("name", name)
        .field_bool("connected", a->socket && a->socket->is_open())
        .field_bool("subscribeAll", a->subscribe_all)
        .end_object();
  }
  w.end_array();
  w.field("dataDir", opts_.data_dir);
  w.end_object();
  return Reply::json(200, w.str());
}

void Engine::reset() {
  media_reset();
  ++generation_;
  channels_.clear();
  bridges_.clear();
  playbacks_.clear();
  live_recordings_.clear();
  for (auto& [_, a] : apps_) {
    a->channels.clear();
    a->bridges.clear();
    a->endpoints.clear();
  }
  drop_idle_apps();
  init_endpoints();
  std::error_code ec;
  std::filesystem::remove_all(recording_dir(), ec);
  std::filesystem::create_directories(recording_dir(), ec);
  startup_ms_ = now_epoch_ms();
}

void Engine::restart_hangup_all() {
  // As recorded: every channel first gets a soft hangup request with cause 4
  // (shutdown), then each ends its media, leaves Stasis and is destroyed with 0.
  std::vector<std::string> ids;
  for (const auto& [id, _] : channels_) ids.push_back(id);
  for (const auto& id : ids)
    if (auto* ch = find_channel(id)) {
      ch->hanging_up = true;
      emit_hangup_request(*ch, 4, true);
    }
  for (const auto& id : ids) {
    auto* ch = find_channel(id);
    if (!ch) continue;
    end_media_for_hangup(*ch);
    if (!ch->bridge_id.empty()) remove_from_bridge(*ch, true);
    if (!ch->stasis_app.empty()) leave_stasis(*ch);
    emit_destroyed(*ch, 0);
  }
  media_reset();
  ++generation_;
  channels_.clear();
  bridges_.clear();
  playbacks_.clear();
  live_recordings_.clear();
  for (auto& [_, a] : apps_) {
    a->channels.clear();
    a->bridges.clear();
    a->endpoints.clear();
  }
  init_endpoints();
  startup_ms_ = now_epoch_ms();
}

}  // namespace aa::sim
