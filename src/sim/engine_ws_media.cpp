// chan_websocket: ARI externalMedia with transport=websocket and the
// /media/<connection_id> WebSocket, as Asterisk 22.11 runs them (sources:
// channels/chan_websocket.c and res/ari/resource_channels.c of 22.11.0-rc1,
// and the recordings ../shared/ari-traces/chan-websocket-*.jsonl, which decide
// where the two could be read differently).
//
// Lifecycle facts reproduced here:
// - the channel is created Down, "dialed" (Dial with dialstatus ""), and only
//   answered when its socket connects: ChannelStateChange Up → Dial ANSWER →
//   StasisStart, with MEDIA_START on the socket (with "n": on ANSWER only);
// - never connected: ChannelDestroyed 19 after ~31 s, nothing else;
// - the channel lives exactly as long as its socket: the app's close (any
//   code) → ChannelHangupRequest 16; a dropped TCP connection or a binary
//   message over 65535 bytes (closed with 1009) → 38; text HANGUP → 16; and the
//   ChannelDestroyed cause is that cause when the channel was bridged, 0 when
//   it was alone (every close path of the traces agrees); DELETE → the usual
//   soft 32 → Destroyed 16, then the socket is closed with 1000.
#include <algorithm>
#include <cctype>

#include "common/log.hpp"
#include "common/util.hpp"
#include "sim/media_plane.hpp"
#include "sim/reply.hpp"

namespace aa::sim {
namespace cws = media::cws;

namespace {

/// Asterisk answers a refused /media upgrade with its HTML error page.
Reply html_error(int status, std::string_view title, std::string_view text,
                 std::string_view version) {
  Reply r;
  r.status = status;
  r.content_type = "text/html";
  r.body = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n<title>" +
           std::to_string(status) + " " + std::string(title) + "</title>\r\n</head><body>\r\n<h1>" +
           std::string(title) + "</h1>\r\n<p>" + std::string(text) +
           "</p>\r\n<hr />\r\n<address>Asterisk/" + std::string(version) +
           "</address>\r\n</body></html>\r\n";
  return r;
}

/// ast_strip: leading and trailing white space.
std::string_view strip(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

/// `host:port` (or `[v6]:port`) with a port, as ast_sockaddr_split_hostport
/// with PARSE_PORT_REQUIRE wants it.
bool has_host_and_port(std::string_view s) {
  size_t colon;
  if (!s.empty() && s.front() == '[') {
    const auto close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':')
      return false;
    colon = close + 1;
  } else {
    colon = s.rfind(':');
    if (colon == std::string_view::npos || colon == 0 || s.find(':') != colon) return false;
  }
  const auto port = s.substr(colon + 1);
  return !port.empty() && std::all_of(port.begin(), port.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
}

/// The WebSocket dial string options (chan_websocket's websocket_options:
/// c(codec) n v(uri params) p f(format) d(direction)), parsed like
/// ast_app_parse_options: a letter, optionally followed by "(argument)".
struct WsDialOptions {
  bool ok = true;
  std::string codec, format, direction;
  bool codec_set = false, no_answer = false, uri_params = false, passthrough = false,
       format_set = false, direction_set = false;
};

WsDialOptions parse_dial_options(std::string_view s) {
  WsDialOptions o;
  size_t i = 0;
  while (i < s.size()) {
    const char c = s[i++];
    std::string arg;
    bool has_arg = false;
    if (i < s.size() && s[i] == '(') {
      const auto close = s.find(')', i);
      if (close == std::string_view::npos) {
        o.ok = false;
        return o;
      }
      arg = std::string(s.substr(i + 1, close - i - 1));
      has_arg = true;
      i = close + 1;
    }
    switch (c) {
      case 'c':
        o.codec_set = has_arg;
        o.codec = arg;
        break;
      case 'n':
        o.no_answer = true;
        break;
      case 'v':
        o.uri_params = has_arg && !arg.empty();
        break;
      case 'p':
        o.passthrough = true;
        break;
      case 'f':
        o.format_set = true;
        o.format = arg;
        break;
      case 'd':
        o.direction_set = true;
        o.direction = arg;
        break;
      default:
        break;  // unknown options are ignored
    }
  }
  return o;
}

}  // namespace

// ---- POST /channels/externalMedia ----

std::optional<Reply> Engine::check_external_media(ExternalMediaRequest& req) const {
  // The order and texts of ast_ari_channels_external_media().
  if (req.app.empty()) return error_reply(400, "app cannot be empty");
  if (req.transport.empty()) req.transport = "udp";
  if (req.encapsulation.empty()) req.encapsulation = "rtp";
  if (req.transport == "websocket" && req.encapsulation != "none")
    return error_reply(400, "encapsulation must be 'none' for websocket transport");
  if (req.encapsulation == "rtp" && req.transport != "udp")
    return error_reply(400, "transport must be 'udp' for rtp encapsulation");
  if (req.encapsulation == "audiosocket" && req.transport != "tcp")
    return error_reply(400, "transport must be 'tcp' for audiosocket encapsulation");
  if (req.connection_type.empty()) req.connection_type = "client";
  if (req.transport != "websocket" && req.connection_type == "server")
    return error_reply(400,
                       "'server' connection_type can only be used with the websocket transport");
  if (req.external_host.empty()) {
    if (req.connection_type == "client")
      return error_reply(400, "external_host is required for all but websocket server connections");
    req.external_host = "INCOMING";
  }
  if (req.transport == "websocket") {
    // No websocket_client.conf in the simulator: Asterisk dialing the app is not simulated.
    if (req.connection_type == "client")
      return error_reply(400, "external_host must be a valid websocket_client connection id.");
  } else if (!has_host_and_port(req.external_host)) {
    return error_reply(400,
                       "external_host must be <host>:<port> for all transports other than "
                       "websocket");
  }
  if (req.format.empty()) return error_reply(400, "format cannot be empty");
  if (!req.direction.empty() && req.direction != "both" && req.direction != "in" &&
      req.direction != "out")
    return error_reply(400, "Invalid direction specified");
  const bool rtp = iequals(req.encapsulation, "rtp") && iequals(req.transport, "udp");
  const bool audiosocket =
      iequals(req.encapsulation, "audiosocket") && iequals(req.transport, "tcp");
  const bool websocket = iequals(req.encapsulation, "none") && iequals(req.transport, "websocket");
  if (audiosocket && req.app_args.empty()) return error_reply(400, "data can not be empty");
  if (!rtp && !audiosocket && !websocket)
    return error_reply(501, "The encapsulation and/or transport is not supported");
  return std::nullopt;
}

Reply Engine::external_media_ws(ExternalMediaRequest req) {
  // resource_channels.c external_media_websocket(): the dial string.
  std::string dialstring = req.external_host;
  if (!req.transport_data.empty()) dialstring += "/" + req.transport_data;
  if (!req.direction.empty()) {
    if (req.transport_data.empty()) dialstring += "/";
    dialstring += "d(" + req.direction + ")";
  }
  const auto opts = parse_dial_options(
      dialstring.substr(std::min(dialstring.size(), req.external_host.size() + 1)));
  const MediaFormat* fmt = find_media_format(opts.codec_set ? opts.codec : req.format);
  if (!opts.codec_set && !fmt)
    return error_reply(400, "Provided format (" + req.format + ") was not found");
  // A dial that fails in webchan_request: no channel, and ARI's allocation error.
  if (!opts.ok || !fmt || opts.uri_params)
    return Reply::json(500, json::object_with("error", "Allocation failed"));
  if (!req.channel_id.empty() && channels_.count(req.channel_id))
    return error_reply(409, "Channel with given unique ID already exists");

  auto ws = std::make_shared<WsChannelState>();
  ws->connection_id = uuid_v4();
  ws->format = fmt;
  ws->no_auto_answer = opts.no_answer;
  ws->passthrough = opts.passthrough || fmt->passthrough();
  // f(json) selects JSON; anything else ("xml") falls back to plain text (trace).
  ws->form = opts.format_set && iequals(opts.format, "json") ? cws::Form::json : cws::Form::plain;
  if (opts.direction_set) {
    if (opts.direction == "in")
      ws->direction = WsChannelState::Direction::in;
    else if (opts.direction == "out")
      ws->direction = WsChannelState::Direction::out;
  }
  const int frame_size = ws->passthrough ? 0 : fmt->frame_bytes;

  const std::string id = req.channel_id.empty() ? next_channel_id() : req.channel_id;
  SimChannel& ch = new_channel(id, "WebSocket/" + req.external_host + "/0x7f" + random_hex(5));
  ch.info.dialplan = {"default", "s", 1, "AppDial2", "(Outgoing Line)"};
  ch.originated = true;
  ch.dialstring = dialstring;
  ch.target_app = req.app;
  if (!req.app_args.empty()) ch.target_args.push_back(req.app_args);
  // Asterisk inserts channel variables at the head of the list: the ones the
  // request sets come first (last set first), then the driver's two.
  ari::Channel model = channel_model(ch, false);
  for (auto it = req.variables.rbegin(); it != req.variables.rend(); ++it) {
    ch.vars[it->first] = it->second;
    model.channelvars.emplace_back(it->first, it->second);
  }
  ch.vars["MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE"] = std::to_string(frame_size);
  ch.vars["MEDIA_WEBSOCKET_CONNECTION_ID"] = ws->connection_id;
  model.channelvars.emplace_back("MEDIA_WEBSOCKET_CONNECTION_ID", ws->connection_id);
  model.channelvars.emplace_back("MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE", std::to_string(frame_size));
  ch.media = std::make_shared<ChannelMedia>();
  ch.media->ws = ws;
  media_->connections[ws->connection_id] = id;
  if (app_active(req.app)) subscribe_channel(req.app, id);

  Reply reply = model_reply(200, model);
  const uint64_t epoch = ch.epoch;
  after(0, [this, id, epoch] {
    SimChannel* c = find_channel(id);
    if (c && !c->hanging_up && c->epoch == epoch && !c->answered_once) emit_dial(*c, "");
  });
  // Never connected (or never answered): the dial gives up after ~31 s (trace:
  // 31353 ms) with cause 19 and nothing but ChannelDestroyed.
  after(31353, [this, id, ws] {
    SimChannel* c = find_channel(id);
    if (!c || c->hanging_up || c->answered_once || !c->media || c->media->ws != ws) return;
    c->hanging_up = true;
    emit_destroyed(*c, 19);
    destroy_silently(id);
  });
  return reply;
}

void Engine::ws_answer(SimChannel& ch) {
  if (ch.answered_once || ch.hanging_up) return;
  ch.answered_once = true;
  set_state(ch, "Up");
  emit_dial(ch, "ANSWER");
  enter_stasis(ch, ch.target_app, ch.target_args);
}

void Engine::ws_hangup_unanswered(const std::string& id, int request_cause, bool soft, int cause) {
  // Still being dialed (not connected, or "n" and not answered): the dial ends
  // with NOANSWER (errors-and-lifecycle trace, DELETE before any connection).
  SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up) return;
  ch->hanging_up = true;
  emit_hangup_request(*ch, request_cause, soft);
  emit_dial(*ch, "NOANSWER");
  emit_destroyed(*ch, cause);
  destroy_silently(id);
}

// ---- the /media/<connection_id> WebSocket ----

std::optional<Reply> Engine::media_upgrade(const net::Request& req) const {
  // chan_websocket's incoming_ws_http_callback: the instance (404), a second
  // connection (409); then res_http_websocket's subprotocol negotiation.
  const std::string id = req.path.size() > 7 ? req.path.substr(7) : std::string();
  auto it = media_->connections.find(id);
  const SimChannel* ch = it == media_->connections.end() ? nullptr : find_channel(it->second);
  if (!ch || ch->hanging_up || !ch->media || !ch->media->ws)
    return html_error(404, "Not found", "WebSocket instance not found", opts_.version);
  if (ch->media->ws->connected)
    return html_error(409, "Conflict", "Another websocket connection exists for this connection id",
                      opts_.version);
  const std::string_view asked = req.header("Sec-WebSocket-Protocol");
  if (asked.empty()) return std::nullopt;  // no subprotocol: accepted, none echoed
  size_t start = 0;
  while (start <= asked.size()) {
    auto end = asked.find(',', start);
    if (end == std::string_view::npos) end = asked.size();
    if (strip(asked.substr(start, end - start)) == "media") {
      Reply accept;
      accept.status = 101;
      accept.headers.push_back({"Sec-WebSocket-Protocol", "media"});
      return accept;
    }
    start = end + 1;
  }
  Reply refuse = Reply::empty(400);
  return refuse;
}

void Engine::media_open(std::shared_ptr<net::WsConnection> socket, const net::Request& req) {
  const std::string conn = req.path.size() > 7 ? req.path.substr(7) : std::string();
  auto it = media_->connections.find(conn);
  SimChannel* ch = it == media_->connections.end() ? nullptr : find_channel(it->second);
  if (!ch || ch->hanging_up || !ch->media || !ch->media->ws || ch->media->ws->connected) {
    // Gone or taken while the handshake was being written.
    socket->close(1000);
    return;
  }
  const std::string id = ch->info.id;
  auto ws = ch->media->ws;
  ws->socket = socket;
  ws->connected = true;
  std::weak_ptr<bool> alive = alive_;
  std::weak_ptr<WsChannelState> weak = ws;
  // Callbacks find the channel again by id and check it still owns this state.
  auto owner = [this, alive, weak, id]() -> SimChannel* {
    if (alive.expired()) return nullptr;
    auto state = weak.lock();
    SimChannel* c = state ? find_channel(id) : nullptr;
    return c && c->media && c->media->ws == state ? c : nullptr;
  };
  socket->on_message = [this, owner, id](std::string_view text) {
    if (owner()) ws_text(id, text);
  };
  socket->on_binary = [this, owner, id](std::string_view data) {
    if (owner()) ws_binary(id, data);
  };
  socket->on_close_frame = [owner](uint16_t) {
    if (SimChannel* c = owner()) c->media->ws->peer_closed = true;
  };
  socket->on_close = [this, owner, id] {
    SimChannel* c = owner();
    if (!c || !c->media->ws->socket) return;
    c->media->ws->socket.reset();
    ws_socket_gone(id, c->media->ws->peer_closed ? 16 : 38);
  };

  cws::Event start;
  start.type = cws::EventType::media_start;
  start.connection_id = ws->connection_id;
  start.channel = ch->info.name;
  start.channel_id = id;
  start.format = std::string(ws->format->name);
  start.optimal_frame_size = ws->passthrough ? 0 : ws->format->frame_bytes;
  start.ptime = kTickMs;
  // ast_json_channel_vars: every channel variable, in the order of the REST reply.
  for (const auto& [k, v] : ch->vars)
    if (k != "MEDIA_WEBSOCKET_CONNECTION_ID" && k != "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE")
      start.channel_variables.emplace_back(k, v);
  start.channel_variables.emplace_back("MEDIA_WEBSOCKET_CONNECTION_ID", ws->connection_id);
  start.channel_variables.emplace_back("MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE",
                                       std::to_string(start.optimal_frame_size));
  socket->send(cws::format_event(start, ws->form));
  media_clock_ensure();
  if (!ws->no_auto_answer) ws_answer(*ch);
}

void Engine::ws_socket_gone(const std::string& id, int cause) {
  SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up) return;
  if (!ch->answered_once) {
    ws_hangup_unanswered(id, cause, false, cause);
    return;
  }
  // The Q.850 cause reaches ChannelDestroyed only through the bridge (traces:
  // alone → 0, bridged → the cause).
  const int destroyed = ch->bridge_id.empty() ? 0 : cause;
  hangup_channel(id, destroyed, true, cause, false);
}

// ---- app → Asterisk ----

namespace {

cws::Event event_of(cws::EventType t, const std::string& channel_id) {
  cws::Event e;
  e.type = t;
  e.channel_id = channel_id;
  return e;
}

}  // namespace

void Engine::ws_text(const std::string& id, std::string_view text) {
  SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up) return;
  auto ws = ch->media->ws;
  // process_text_message: empty and over-long messages are ignored, silently.
  if (text.empty() || text.size() > cws::kMaxTextMessage) return;
  const std::string_view msg = strip(text);
  auto send = [&](const cws::Event& e) {
    if (ws->socket) ws->socket->send(cws::format_event(e, ws->form));
  };
  auto error = [&](std::string why) {
    cws::Event e = event_of(cws::EventType::error, id);
    e.error_text = std::move(why);
    send(e);
  };

  std::string command, argument;
  std::string direction;
  bool has_direction = false;
  if (ws->form == cws::Form::json) {
    // jansson loads objects and arrays only; anything else is a parse error.
    auto doc = json::parse(msg);
    if (!doc || !(doc->IsObject() || doc->IsArray())) {
      error("Unable to parse JSON command");
      return;
    }
    if (doc->IsObject()) {
      if (const json::Value* c = json::find(*doc, "command"); c && c->IsString())
        command = std::string(json::as_view(*c));
      if (const json::Value* c = json::find(*doc, "correlation_id"); c && c->IsString()) {
        argument = std::string(json::as_view(*c));
      }
      if (const json::Value* d = json::find(*doc, "direction"); d && d->IsString()) {
        direction = std::string(json::as_view(*d));
        has_direction = true;
      }
    }
  } else {
    const auto sp = msg.find(' ');
    command = std::string(msg.substr(0, sp));
    if (sp != std::string_view::npos) argument = std::string(msg.substr(sp + 1));
  }
  cws::CommandType type = cws::CommandType::unknown;
  for (int t = 0; t <= static_cast<int>(cws::CommandType::set_media_direction); ++t)
    if (cws::command_name(static_cast<cws::CommandType>(t)) == command)
      type = static_cast<cws::CommandType>(t);

  using Dir = WsChannelState::Direction;
  auto refuse_passthrough = [&]() {
    if (!ws->passthrough) return false;
    error(command + " not supported in passthrough mode");
    return true;
  };
  auto refuse_direction_in = [&]() {
    if (ws->direction != Dir::in) return false;
    error(command + " not supported while media direction is 'in'");
    return true;
  };
  auto queue_reply = [&](cws::EventType t) {
    if (ws->controls >= kMaxQueuedControls) return;
    cws::Event e = event_of(t, id);
    e.correlation_id = argument;  // "" when none: plain leaves it out, JSON has ""
    ws->queue.push_back({cws::format_event(e, ws->form), true});
    ++ws->controls;
  };

  switch (type) {
    case cws::CommandType::answer:
      ws_answer(*ch);
      break;
    case cws::CommandType::hangup: {
      const bool bridged = !ch->bridge_id.empty();
      if (!ch->answered_once)
        ws_hangup_unanswered(id, 16, false, 16);
      else
        hangup_channel(id, bridged ? 16 : 0, true, 16, false);
      break;
    }
    case cws::CommandType::start_media_buffering:
      if (refuse_passthrough() || refuse_direction_in()) return;
      ws->bulk = true;
      break;
    case cws::CommandType::stop_media_buffering:
      if (refuse_passthrough() || refuse_direction_in()) return;
      ws->bulk = false;
      if (!ws->leftover.empty()) {
        ws->queue.push_back({std::move(ws->leftover), false});
        ws->leftover.clear();
        if (++ws->queue_length >= cws::kXoffLevel && !ws->queue_full) {
          ws->queue_full = true;
          send(event_of(cws::EventType::media_xoff, id));
        }
      }
      queue_reply(cws::EventType::media_buffering_completed);
      break;
    case cws::CommandType::mark_media:
      if (refuse_passthrough() || refuse_direction_in()) return;
      queue_reply(cws::EventType::media_mark_processed);
      break;
    case cws::CommandType::flush_media:
      // Everything queued goes, replies included (a mark behind flushed audio
      // never comes back); buffering ends. Pause and queue_full stay as they are.
      if (refuse_passthrough()) return;
      ws->queue.clear();
      ws->queue_length = 0;
      ws->controls = 0;
      ws->bulk = false;
      ws->leftover.clear();
      break;
    case cws::CommandType::report_queue_drained:
      if (refuse_passthrough()) return;
      ws->report_drained = true;
      break;
    case cws::CommandType::get_status: {
      cws::Event e = event_of(cws::EventType::status, id);
      e.queue_length = ws->queue_length;
      e.xon_level = cws::kXonLevel;
      e.xoff_level = cws::kXoffLevel;
      e.queue_full = ws->queue_full;
      e.bulk_media = ws->bulk;
      e.media_paused = ws->paused;
      send(e);
      break;
    }
    case cws::CommandType::pause_media:
      if (refuse_passthrough() || refuse_direction_in()) return;
      ws->paused = true;
      break;
    case cws::CommandType::continue_media:
      if (refuse_passthrough() || refuse_direction_in()) return;
      ws->paused = false;
      break;
    case cws::CommandType::set_media_direction:
      if (refuse_passthrough()) return;
      if (ws->form != cws::Form::json) {
        error(command + " only supports JSON format.\n");
        return;
      }
      if (!has_direction) {
        error(command + " requires a 'direction' parameter.\n");
        return;
      }
      if (direction == "both")
        ws->direction = Dir::both;
      else if (direction == "out")
        ws->direction = Dir::out;
      else if (direction == "in")
        ws->direction = Dir::in;
      else
        error("'" + direction + "' is not a valid direction for " + command + ".\n");
      break;
    case cws::CommandType::unknown:
      break;  // logged by Asterisk, no reply
  }
}

void Engine::ws_binary(const std::string& id, std::string_view data) {
  SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up) return;
  auto ws = ch->media->ws;
  ++media_->frames_from_apps;
  // res_http_websocket refuses a payload over 65535 bytes: close 1009, and the
  // failed read hangs the channel up with 38 (xoff trace, 70000 bytes).
  if (data.size() > 65535) {
    auto socket = std::move(ws->socket);
    socket->close(1009);
    ws_socket_gone(id, 38);
    return;
  }
  if (ws->direction == WsChannelState::Direction::in) return;  // dropped
  // A message arriving while the queue holds 1000 frames is dropped whole.
  if (ws->queue_length >= cws::kQueueMax) {
    ++ws->dropped_messages;
    return;
  }
  auto queue_frame = [&](std::string frame) {
    ws->queue.push_back({std::move(frame), false});
    if (++ws->queue_length >= cws::kXoffLevel && !ws->queue_full) {
      ws->queue_full = true;
      if (ws->socket)
        ws->socket->send(cws::format_event(event_of(cws::EventType::media_xoff, id), ws->form));
    }
  };
  if (ws->passthrough) {
    queue_frame(std::string(data));
    return;
  }
  const size_t frame = static_cast<size_t>(ws->format->frame_bytes);
  if (ws->bulk && !ws->leftover.empty()) {
    const size_t need = frame - ws->leftover.size();
    const size_t take = std::min(need, data.size());
    ws->leftover.append(data.substr(0, take));
    data.remove_prefix(take);
    if (take < need) return;
    queue_frame(std::move(ws->leftover));
    ws->leftover.clear();
  }
  if (!ws->bulk) ws->leftover.clear();
  while (data.size() >= frame) {
    queue_frame(std::string(data.substr(0, frame)));
    data.remove_prefix(frame);
  }
  // Bytes beyond the last whole frame: kept while buffering, dropped otherwise.
  if (ws->bulk && !data.empty()) ws->leftover = std::string(data);
}

// ---- hooks from the rest of the engine ----

void Engine::media_dtmf(const SimChannel& ch, char digit) {
  // A digit received on a bridged channel reaches the other members;
  // chan_websocket reports only its end (send_digit_end → DTMF_END).
  if (ch.bridge_id.empty()) return;
  auto b = bridges_.find(ch.bridge_id);
  if (b == bridges_.end()) return;
  for (const auto& member : b->second->info.channels) {
    if (member == ch.info.id) continue;
    const SimChannel* other = find_channel(member);
    if (!other || !other->media || !other->media->ws || !other->media->ws->socket) continue;
    const auto& ws = *other->media->ws;
    cws::Event e = event_of(cws::EventType::dtmf_end, member);
    e.digit = std::string(1, digit);
    ws.socket->send(cws::format_event(e, ws.form));
  }
}

void Engine::media_channel_gone(SimChannel& ch) {
  if (!ch.media) return;
  ChannelMedia& m = *ch.media;
  if (m.ws) {
    media_->connections.erase(m.ws->connection_id);
    // webchan_hangup: the socket goes with the channel (1000 unless a tech cause).
    if (auto socket = std::move(m.ws->socket)) socket->close(1000);
  }
  if (m.heard && !m.heard->empty()) {
    media_->archive.push_back({ch.info.id, m.heard});
    while (media_->archive.size() > kArchivedHeard) media_->archive.pop_front();
  }
}

void Engine::media_reset() {
  for (auto& [_, ch] : channels_)
    if (ch->media && ch->media->ws)
      if (auto socket = std::move(ch->media->ws->socket)) socket->close(1000);
  media_->connections.clear();
  media_->archive.clear();
  media_->bridge_cursors.clear();
}

}  // namespace aa::sim
