// Channels: originate and its dial outcomes, Stasis entry/exit, hangups,
// DTMF, variables, snoop/externalMedia, and the far end driven by /_sim.
#include <algorithm>
#include <cctype>

#include "common/log.hpp"
#include "common/util.hpp"
#include "sim/engine.hpp"
#include "sim/media_plane.hpp"
#include "sim/reply.hpp"

namespace aa::sim {
namespace {

bool is_local(std::string_view tech) {
  return iequals(tech, "Local");
}

std::string_view trim_blanks(std::string_view v) {
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.front()))) v.remove_prefix(1);
  while (!v.empty() && std::isspace(static_cast<unsigned char>(v.back()))) v.remove_suffix(1);
  return v;
}

/// Asterisk's ast_shrink_phone_number: drops ( ) and spaces, '-' outside
/// [...], and '.' unless it is the last character.
std::string shrink_number(std::string_view n) {
  std::string out;
  int bracketed = 0;
  for (size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    if (c == '[') {
      ++bracketed;
      out += c;
    } else if (c == ']') {
      --bracketed;
      out += c;
    } else if (c == '-') {
      if (bracketed > 0) out += c;
    } else if (c == '.') {
      if (i + 1 == n.size()) out += c;
    } else if (c != '(' && c != ')' && c != ' ') {
      out += c;
    }
  }
  return out;
}

bool only_chars(std::string_view s, std::string_view allowed) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [&](char c) {
    return allowed.find(c) != std::string_view::npos;
  });
}

/// How a parsed caller id number is cleaned, by who parses it.
enum class Shrink {
  if_shrinkable,  // ARI originate's callerId: only a number made of 0-9*#+()-. is shrunk
  always,         // CALLERID(all) (ast_callerid_split)
};

/// Caller id text → (name, number) the way Asterisk's ast_callerid_parse does:
/// `"Name" <num>` or `Name <num>` (the last <...>); otherwise a bare value is a
/// number when, shrunk (see shrink_number), it is only 0-9 * # + — so
/// "+1 (555) 013-0000" is the number +15550130000 — and a name otherwise
/// ("Alice", or "\"Alice\"" without the quotes).
ari::CallerId parse_caller_id(std::string_view s, Shrink shrink) {
  ari::CallerId c;
  const auto lt = s.rfind('<');
  const auto gt = s.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    std::string_view number = s.substr(lt + 1, gt - lt - 1);
    const std::string_view before = s.substr(0, lt);
    const auto q1 = before.find('"');
    const auto q2 = q1 == std::string_view::npos ? q1 : before.find('"', q1 + 1);
    if (q2 != std::string_view::npos) {
      c.name = std::string(before.substr(q1 + 1, q2 - q1 - 1));
    } else if (q1 != std::string_view::npos) {
      // An opening quote whose closing one comes after the number.
      if (s.find('"', gt + 1) != std::string_view::npos)
        c.name = std::string(trim_blanks(before.substr(q1 + 1)));
    } else {
      c.name = std::string(trim_blanks(before));
    }
    const bool do_shrink = shrink == Shrink::always || only_chars(number, "0123456789*#+()-.");
    c.number = do_shrink ? shrink_number(number) : std::string(number);
    return c;
  }
  const std::string shrunk = shrink_number(s);
  if (only_chars(shrunk, "0123456789*#+")) {
    c.number = shrunk;
    return c;
  }
  const auto q1 = s.find('"');
  const auto q2 = q1 == std::string_view::npos ? q1 : s.find('"', q1 + 1);
  c.name = q2 != std::string_view::npos ? std::string(s.substr(q1 + 1, q2 - q1 - 1))
                                        : std::string(trim_blanks(s));
  return c;
}

std::string caller_all(const ari::CallerId& c) {
  return "\"" + c.name + "\" <" + c.number + ">";
}

bool valid_dtmf(char c) {
  return std::isdigit(static_cast<unsigned char>(c)) || c == '*' || c == '#' ||
         (c >= 'A' && c <= 'D') || (c >= 'a' && c <= 'd');
}

}  // namespace

Engine::SimChannel* Engine::find_channel(const std::string& id) {
  auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : it->second.get();
}
const Engine::SimChannel* Engine::find_channel(const std::string& id) const {
  auto it = channels_.find(id);
  return it == channels_.end() ? nullptr : it->second.get();
}

const EndpointConfig* Engine::find_endpoint(const std::string& tech,
                                            const std::string& resource) const {
  for (const auto& [key, e] : endpoints_)
    if (iequals(e.technology, tech) && e.resource == resource) return &e;
  // "<number>@<trunk>" reaches a trunk endpoint.
  const auto at = resource.find('@');
  if (at != std::string::npos) {
    const std::string trunk = resource.substr(at + 1);
    for (const auto& [key, e] : endpoints_)
      if (iequals(e.technology, tech) && e.resource == trunk && e.trunk) return &e;
  }
  return nullptr;
}

Engine::SimChannel& Engine::new_channel(const std::string& id, const std::string& name) {
  auto ch = std::make_unique<SimChannel>();
  ch->info.id = id;
  ch->info.name = name;
  ch->info.state = "Down";
  ch->info.creationtime = now_ts();
  ch->info.language = "en";
  ch->linkedid = id;
  auto& ref = *ch;
  channels_[id] = std::move(ch);
  media_clock_ensure();
  return ref;
}

void Engine::set_state(SimChannel& ch, const std::string& state) {
  if (ch.info.state == state) return;
  ch.info.state = state;
  ++ch.epoch;
  emit_channel("ChannelStateChange", ch);
}

// ---- originate ----

Reply Engine::originate(OriginateRequest req) {
  if (req.endpoint.empty()) return error_reply(400, "Endpoint must be specified");
  if (req.app.empty() && req.extension.empty())
    return error_reply(400, "Application or extension must be specified");
  const auto slash = req.endpoint.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == req.endpoint.size())
    return error_reply(400, "Invalid endpoint specified");
  const SimChannel* originator = nullptr;
  if (!req.originator.empty()) {
    originator = find_channel(req.originator);
    if (!originator) return error_reply(400, "Provided originator channel was not found");
  }
  if ((!req.channel_id.empty() && channels_.count(req.channel_id)) ||
      (!req.other_channel_id.empty() && channels_.count(req.other_channel_id)))
    return error_reply(409, "Channel with given unique ID already exists");

  const std::string tech = req.endpoint.substr(0, slash);
  const std::string resource = req.endpoint.substr(slash + 1);
  const bool local = is_local(tech);
  Behavior behavior = Behavior::answer;
  int answer_after = 0;
  std::string endpoint_key, channel_name, caller_name;
  const std::string suffix = next_name_suffix();
  if (local) {
    if (const EndpointConfig* rule = find_endpoint("Local", resource)) {
      behavior = rule->behavior;
      answer_after = rule->answer_after_ms;
    }
    channel_name = "Local/" + resource + "-" + suffix + ";1";
  } else {
    const EndpointConfig* e = find_endpoint(tech, resource);
    if (!e || e->state != "online") {
      --name_counter_;
      return Reply::json(500, json::object_with("error", "Allocation failed"));
    }
    behavior = e->behavior;
    answer_after = e->answer_after_ms;
    endpoint_key = e->technology + "/" + e->resource;
    channel_name = e->technology + "/" + e->resource + "-" + suffix;
    caller_name = e->caller_name;
    // A specific "<number>@trunk" rule beats the trunk's own behaviour.
    if (e->resource != resource) {
      if (auto it = endpoints_.find(e->technology + "/" + resource); it != endpoints_.end()) {
        behavior = it->second.behavior;
        answer_after = it->second.answer_after_ms;
      }
    }
  }

  const std::string id = req.channel_id.empty() ? next_channel_id() : req.channel_id;
  SimChannel& ch = new_channel(id, channel_name);
  ch.originated = true;
  ch.behavior = behavior;
  ch.answer_after_ms = answer_after;
  ch.timeout_ms = (req.timeout_s > 0 ? req.timeout_s : 30) * 1000;
  ch.endpoint_key = endpoint_key;
  ch.target_app = req.app;
  if (!req.app_args.empty()) {
    size_t start = 0;
    while (start <= req.app_args.size()) {
      size_t end = req.app_args.find(',', start);
      if (end == std::string::npos) end = req.app_args.size();
      ch.target_args.push_back(req.app_args.substr(start, end - start));
      start = end + 1;
    }
  }
  if (originator) {
    // The dial inherits from its requester: linked id, and the originator's
    // caller becomes the new channel's connected line (trace H).
    ch.linkedid = originator->linkedid;
    ch.info.connected = originator->info.caller;
  }
  if (!local) {
    ch.info.protocol_id = uuid_v4();
    ch.info.caller = {caller_name, caller_name.empty() ? "" : resource};
    ch.info.dialplan = {opts_.app_default, "s", 1, "AppDial2", "(Outgoing Line)"};
    ch.dialstring = resource;
  } else {
    const auto at = resource.find('@');
    const std::string exten = resource.substr(0, at);
    const std::string context = at == std::string::npos ? "default" : resource.substr(at + 1);
    ch.info.dialplan = {context, exten, 1, "AppDial2", "(Outgoing Line)"};
    ch.dialstring = resource;
  }
  ari::CallerId parsed;
  if (req.caller_id && !req.caller_id->empty()) {
    parsed = parse_caller_id(*req.caller_id, Shrink::if_shrinkable);
    ch.info.caller = parsed;
    ch.info.connected = parsed;
  }
  for (const auto& [name, value] : req.variables) {
    if (name == "CALLERID(name)")
      ch.info.caller.name = value;
    else if (name == "CALLERID(num)" || name == "CALLERID(number)")
      ch.info.caller.number = value;
    else if (name == "CALLERID(all)")
      ch.info.caller = parse_caller_id(value, Shrink::always);
    else if (name.find('(') == std::string::npos)
      ch.vars[name] = value;
    // Unknown functions are logged and ignored by Asterisk, the call goes on.
  }
  for (const auto& name : req.reported_variables) ch.reported_vars.insert(name);
  if (app_registered(req.app)) subscribe_channel(req.app, id);

  if (local) {
    const std::string id2 = !req.other_channel_id.empty() ? req.other_channel_id
                            : !req.channel_id.empty()     ? req.channel_id + ";2"
                                                          : next_channel_id();
    std::string name2 = channel_name;
    name2.back() = '2';
    SimChannel& half = new_channel(id2, name2);
    half.local_half2 = true;
    half.info.state = "Ring";
    half.info.caller = parsed;
    half.info.connected = ch.info.caller;
    half.info.dialplan = {ch.info.dialplan.context, ch.info.dialplan.exten, 1, "", ""};
    half.linkedid = ch.linkedid;
    half.other_half = id;
    ch.other_half = id2;
    if (app_registered(req.app)) subscribe_channel(req.app, id2);
  }

  Reply reply = model_reply(200, channel_model(ch, false));
  const uint64_t epoch = ch.epoch;
  after(0, [this, id, epoch] { dial_progress(id, epoch); });
  return reply;
}

void Engine::dial_progress(const std::string& id, uint64_t epoch) {
  SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up || ch->epoch != epoch) return;
  emit_dial(*ch, "");
  switch (ch->behavior) {
    case Behavior::busy:
    case Behavior::congestion:
      fail_originate(id, ch->behavior);
      return;
    case Behavior::answer:
      if (ch->answer_after_ms <= 0) {
        far_end_answers(id);
        return;
      }
      break;
    case Behavior::noanswer:
    case Behavior::manual:
      break;
  }
  // Ringing: answer later (answer behaviour) or wait for /_sim/.../answer; the
  // originate timeout ends an unanswered call with cause 19 either way.
  set_state(*ch, "Ringing");
  emit_dial(*ch, "RINGING");
  if (ch->behavior == Behavior::answer)
    after(ch->answer_after_ms, [this, id] { far_end_answers(id); });
  after(ch->timeout_ms, [this, id] {
    SimChannel* c = find_channel(id);
    if (c && !c->answered_once && !c->hanging_up) fail_originate(id, Behavior::noanswer);
  });
}

void Engine::far_end_answers(const std::string& id) {
  SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up || ch->answered_once) return;
  ch->answered_once = true;
  if (SimChannel* half = find_channel(ch->other_half)) set_state(*half, "Up");
  set_state(*ch, "Up");
  emit_dial(*ch, "ANSWER");
  if (!ch->target_app.empty()) enter_stasis(*ch, ch->target_app, ch->target_args);
}

void Engine::fail_originate(const std::string& id, Behavior why) {
  SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up) return;
  ch->hanging_up = true;
  const int cause = why == Behavior::busy ? 17 : why == Behavior::congestion ? 34 : 19;
  SimChannel* half = find_channel(ch->other_half);
  if (why != Behavior::noanswer) {
    // Busy() and Congestion() both set a ringing channel's state to Busy (pbx_builtins).
    if (half) set_state(*half, "Busy");
    emit_dial(*ch, why == Behavior::busy ? "BUSY" : "CONGESTION");
  }
  if (half) {
    // Local channel (trace 102/103): the ;1 we created dies with cause 0 on
    // busy/congestion, 19 on no answer; the ;2 half carries the real cause.
    half->hanging_up = true;
    emit_hangup_request(*half, why == Behavior::noanswer ? 19 : 0, false);
    emit_destroyed(*ch, why == Behavior::noanswer ? 19 : 0);
    emit_hangup_request(*half, 16, true);
    emit_destroyed(*half, cause);
    destroy_silently(half->info.id);
  } else {
    emit_destroyed(*ch, cause);
  }
  destroy_silently(id);
}

// ---- Stasis ----

void Engine::enter_stasis(SimChannel& ch, const std::string& app, std::vector<std::string> args) {
  if (!app_active(app)) {
    // Stasis() fails for an app with no events socket, whether Asterisk still
    // knows it ("not active": its calls survive the socket) or not ("doesn't
    // exist"), and the channel is hung up. Any events go to nobody
    // (events-socket-reconnect trace, A3 and B2 with their messages.log).
    const std::string id = ch.info.id;
    after(0, [this, id] { hangup_channel(id, 16, true, 32, true); });
    return;
  }
  subscribe_channel(app, ch.info.id);
  ch.stasis_app = app;
  std::string data = app;
  for (const auto& a : args) data += "," + a;
  ch.info.dialplan.app_name = "Stasis";
  ch.info.dialplan.app_data = data;
  const ari::Channel model = channel_model(ch, true);
  emit("StasisStart", {ch.info.id}, {}, [&](json::Writer& w) {
    w.key("args").begin_array();
    for (const auto& a : args) w.string(a);
    w.end_array();
    w.key("channel");
    ari::write_json(w, model);
  });
}

void Engine::leave_stasis(SimChannel& ch) {
  if (ch.stasis_app.empty()) return;
  emit_channel("StasisEnd", ch);
  ch.stasis_app.clear();
  if (ch.originated) {
    ch.info.dialplan.app_name = "AppDial2";
    ch.info.dialplan.app_data = "(Outgoing Line)";
  }
  // A channel that came from the dialplan goes back there: the app stops
  // watching it, so it gets no ChannelDestroyed (inbound-stasis trace).
  if (ch.dialplan_entered) unsubscribe_channel_everywhere(ch.info.id);
}

// ---- hangup ----

void Engine::destroy_silently(const std::string& id) {
  auto it = channels_.find(id);
  if (it == channels_.end()) return;
  SimChannel& ch = *it->second;
  media_channel_gone(ch);
  if (!ch.bridge_id.empty()) remove_from_bridge(ch, false);
  for (auto& op : ch.ops) {
    if (op->playback) {
      auto pit = playbacks_.find(op->playback->info.id);
      if (pit != playbacks_.end()) {
        auto& dq = pit->second;
        dq.erase(std::remove(dq.begin(), dq.end(), op->playback), dq.end());
        if (dq.empty()) playbacks_.erase(pit);
      }
      ++op->playback->step;
    }
    if (op->recording) {
      ++op->recording->step;
      auto rit = live_recordings_.find(op->recording->info.name);
      if (rit != live_recordings_.end() && rit->second == op->recording)
        live_recordings_.erase(rit);
    }
  }
  ch.ops.clear();
  if (SimChannel* other = find_channel(ch.other_half)) other->other_half.clear();
  unsubscribe_channel_everywhere(id);
  channels_.erase(it);
  drop_idle_apps();
}

void Engine::hangup_channel(const std::string& id, int cause, bool by_us,
                            std::optional<int> request_cause, bool request_soft) {
  SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up) return;
  ch->hanging_up = true;
  SimChannel* other = find_channel(ch->other_half);
  if (other && other->hanging_up) other = nullptr;
  const std::string other_id = other ? other->info.id : "";

  auto finish_other = [&](SimChannel& o) {
    end_media_for_hangup(o);
    if (!o.bridge_id.empty()) remove_from_bridge(o, true);
    leave_stasis(o);
  };

  if (!by_us && other) {
    // The far end of a Local pair hangs up: its half goes first (trace 106).
    other->hanging_up = true;
    emit_hangup_request(*other, 16, true);
    emit_hangup_request(*ch, request_cause, request_soft);
    finish_other(*other);
    emit_destroyed(*other, 16);
    destroy_silently(other_id);
    ch = find_channel(id);
    end_media_for_hangup(*ch);
    if (!ch->bridge_id.empty()) remove_from_bridge(*ch, true);
    leave_stasis(*ch);
    emit_destroyed(*ch, cause);
    destroy_silently(id);
    return;
  }

  emit_hangup_request(*ch, request_cause, request_soft);
  end_media_for_hangup(*ch);
  if (!ch->bridge_id.empty()) remove_from_bridge(*ch, true);
  leave_stasis(*ch);
  if (other) {
    other->hanging_up = true;
    emit_hangup_request(*other, 16, false);
  }
  emit_destroyed(*ch, cause);
  destroy_silently(id);
  if (other) {
    other = find_channel(other_id);
    if (other) {
      emit_hangup_request(*other, 16, true);
      finish_other(*other);
      emit_destroyed(*other, 16);
      destroy_silently(other_id);
    }
  }
}

Reply Engine::hangup(const std::string& id, std::optional<int> cause) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  if (ch->hanging_up) return no_content();
  const int q850 = cause.value_or(16);
  if (ch->media && ch->media->ws && !ch->answered_once) {  // chan_websocket, still dialing
    ws_hangup_unanswered(id, 32, true, q850);
    return no_content();
  }
  if (!ch->answered_once && ch->originated && !ch->local_half2) {
    // Hung up while still dialing: no Stasis yet, just the request and the end.
    ch->hanging_up = true;
    emit_hangup_request(*ch, 32, true);
    SimChannel* half = find_channel(ch->other_half);
    if (half) {
      half->hanging_up = true;
      emit_hangup_request(*half, 16, false);
    }
    emit_destroyed(*ch, q850);
    if (half) {
      emit_destroyed(*half, q850);
      destroy_silently(half->info.id);
    }
    destroy_silently(id);
    return no_content();
  }
  hangup_channel(id, q850, true, 32, true);
  return no_content();
}

// ---- simple channel operations ----

Reply Engine::list_channels() const {
  return array_reply(channels_, [this](json::Writer& w, const auto& kv) {
    ari::write_json(w, channel_model(*kv.second, false));
  });
}

Reply Engine::get_channel(const std::string& id) const {
  const SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  return model_reply(200, channel_model(*ch, false));
}

Reply Engine::answer(const std::string& id) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  if (ch->stasis_app.empty()) return error_reply(409, "Channel not in Stasis application");
  if (ch->info.state != "Up") {
    set_state(*ch, "Up");
    // Answering the ;2 half of a Local pair answers the ;1 that dialed it.
    if (ch->local_half2 && !ch->other_half.empty()) far_end_answers(ch->other_half);
  }
  return no_content();
}

Reply Engine::ring(const std::string& id, bool) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  if (ch->stasis_app.empty()) return error_reply(409, "Channel not in Stasis application");
  return no_content();
}

Reply Engine::simple_stasis_op(const std::string& id) {
  return ring(id, true);
}

Reply Engine::send_dtmf(const std::string& id, DtmfRequest req) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  if (ch->stasis_app.empty()) return error_reply(409, "Channel not in Stasis application");
  if (req.digits.empty()) return error_reply(400, "DTMF is required");
  auto op = std::make_shared<MediaOp>();
  op->kind = MediaOp::Kind::dtmf;
  op->dtmf = std::move(req);
  enqueue_op(*ch, op);
  return no_content();
}

void Engine::deliver_dtmf(const std::string& id, char digit, int64_t duration_ms) {
  SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up) return;
  emit_channel("ChannelDtmfReceived", *ch, [&](json::Writer& w) {
    w.field("digit", std::string(1, digit)).field_int("duration_ms", duration_ms);
  });
  media_dtmf(*ch, digit);
  recording_dtmf(*ch, digit);
}

Reply Engine::get_var(const std::string& id, const std::string& name) const {
  const SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Provided channel was not found");
  if (name.empty()) return error_reply(400, "Variable name is required");
  std::optional<std::string> value;
  const auto& c = ch->info;
  if (name == "CALLERID(name)")
    value = c.caller.name;
  else if (name == "CALLERID(num)" || name == "CALLERID(number)")
    value = c.caller.number;
  else if (name == "CALLERID(all)")
    value = caller_all(c.caller);
  else if (name == "CONNECTEDLINE(name)")
    value = c.connected.name;
  else if (name == "CONNECTEDLINE(num)" || name == "CONNECTEDLINE(number)")
    value = c.connected.number;
  else if (name == "CONNECTEDLINE(all)")
    value = caller_all(c.connected);
  else if (name == "CHANNEL(state)")
    value = c.state;
  else if (name == "CHANNEL(name)")
    value = c.name;
  else if (name == "CHANNEL(uniqueid)")
    value = c.id;
  else if (name == "CHANNEL(linkedid)")
    value = ch->linkedid;
  else if (name == "CHANNEL(language)")
    value = c.language;
  else if (name == "CHANNEL(channeltype)")
    value = c.name.substr(0, c.name.find('/'));
  else if (name.find('(') != std::string::npos)
    return error_reply(500, "Unable to read provided function");
  else if (auto it = ch->vars.find(name); it != ch->vars.end())
    value = it->second;
  if (!value) return error_reply(404, "Provided variable was not found");
  return Reply::json(200, json::object_with("value", *value));
}

Reply Engine::set_var(const std::string& id, const std::string& name, const std::string& value) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Provided channel was not found");
  if (name.empty()) return error_reply(400, "Variable name is required");
  if (name == "CALLERID(name)")
    ch->info.caller.name = value;
  else if (name == "CALLERID(num)" || name == "CALLERID(number)")
    ch->info.caller.number = value;
  else if (name == "CALLERID(all)")
    ch->info.caller = parse_caller_id(value, Shrink::always);
  else if (name.find('(') != std::string::npos)
    return error_reply(400, "Unable to set variable");
  else
    ch->vars[name] = value;
  return no_content();
}

Reply Engine::continue_in_dialplan(const std::string& id) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  if (ch->stasis_app.empty()) return error_reply(409, "Channel not in Stasis application");
  end_media_for_hangup(*ch);
  if (!ch->bridge_id.empty()) remove_from_bridge(*ch, true);
  ch->dialplan_entered = true;  // whatever the dialplan does next, the app no longer sees it
  leave_stasis(*ch);
  unsubscribe_channel_everywhere(id);
  // The simulator has no dialplan: the channel runs off its end and hangs up.
  after(100, [this, id] {
    SimChannel* c = find_channel(id);
    if (c && c->stasis_app.empty()) {
      const std::string other = c->other_half;
      destroy_silently(id);
      destroy_silently(other);
    }
  });
  return no_content();
}

Reply Engine::redirect(const std::string& id, const std::string& endpoint) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  if (ch->stasis_app.empty()) return error_reply(409, "Channel not in Stasis application");
  if (endpoint.empty()) return error_reply(400, "Required parameter endpoint not provided");
  if (endpoint.find('/') == std::string::npos)
    return error_reply(400, "Endpoint parameter is not valid");
  // The far end accepts the transfer and leaves: it looks like a remote hangup.
  after(100, [this, id] { hangup_channel(id, 16, false, std::nullopt, false); });
  return no_content();
}

Reply Engine::snoop(const std::string& id, const std::string& app, const std::string& app_args,
                    const std::string& snoop_id) {
  SimChannel* target = find_channel(id);
  if (!target) return error_reply(404, "Provided channel was not found");
  if (app.empty()) return error_reply(400, "Missing parameter app");
  if (!snoop_id.empty() && channels_.count(snoop_id))
    return error_reply(409, "Channel with given unique ID already exists");
  const std::string sid = snoop_id.empty() ? next_channel_id() : snoop_id;
  SimChannel& ch = new_channel(sid, "Snoop/" + id + "-" + next_name_suffix());
  ch.info.state = "Up";
  ch.info.dialplan = {"default", "s", 1, "", ""};
  ch.dialplan_entered = true;
  ch.answered_once = true;
  std::vector<std::string> args;
  if (!app_args.empty()) args.push_back(app_args);
  Reply reply = model_reply(200, channel_model(ch, false));
  enter_stasis(ch, app, args);
  return reply;
}

Reply Engine::external_media(ExternalMediaRequest req) {
  if (auto refused = check_external_media(req)) return *refused;
  if (req.transport == "websocket") return external_media_ws(std::move(req));
  if (req.app.empty()) return error_reply(400, "Missing parameter app");
  if (req.external_host.empty() && req.transport != "websocket")
    return error_reply(400, "Missing parameter external_host");
  if (req.format.empty()) return error_reply(400, "Missing parameter format");
  if (!req.channel_id.empty() && channels_.count(req.channel_id))
    return error_reply(409, "Channel with given unique ID already exists");
  const std::string id = req.channel_id.empty() ? next_channel_id() : req.channel_id;
  const bool ws = req.transport == "websocket";
  SimChannel& ch = new_channel(id, ws ? "WebSocket/" + req.external_host + "-" + next_name_suffix()
                                      : "UnicastRTP/" + req.external_host + "-0x" + random_hex(6));
  ch.info.state = "Up";
  // Being "dialed" until it is in Stasis, like the trace's externalMedia answers.
  ch.info.dialplan = {"default", "s", 1, "AppDial2", "(Outgoing Line)"};
  ch.originated = true;
  ch.answered_once = true;
  const std::string port = std::to_string(10000 + (id_counter_ * 2) % 10000);
  if (!ws) {
    ch.vars["UNICASTRTP_LOCAL_ADDRESS"] = "127.0.0.1";
    ch.vars["UNICASTRTP_LOCAL_PORT"] = port;
  }
  for (const auto& [k, v] : req.variables) ch.vars[k] = v;
  ari::Channel model = channel_model(ch, false);
  if (!ws) {
    model.channelvars.emplace_back("UNICASTRTP_LOCAL_ADDRESS", "127.0.0.1");
    model.channelvars.emplace_back("UNICASTRTP_LOCAL_PORT", port);
  }
  Reply reply = model_reply(200, model);
  std::vector<std::string> args;
  if (!req.app_args.empty()) args.push_back(req.app_args);
  enter_stasis(ch, req.app, args);
  return reply;
}

// ---- the far end (control API) ----

Reply Engine::inbound(const std::string& from, const std::string& caller_name,
                      const std::string& to, std::vector<std::string> args, std::string app,
                      const std::string& technology) {
  if (app.empty()) app = opts_.app_default;
  if (app.empty() && !apps_.empty()) app = apps_.begin()->first;
  const bool local = iequals(technology, "Local");
  if (!local && !technology.empty() && !iequals(technology, "PJSIP"))
    return error_reply(400, "technology must be PJSIP or Local");
  // Asterisk runs Stasis(<app>) in the dialplan; for an app without an events
  // socket it fails and the caller is hung up (see enter_stasis). Nothing is
  // created here: the control API says so instead.
  if (!app_active(app))
    return error_reply(409, "Stasis app '" + app + "' " +
                                (app_registered(app) ? "not active" : "doesn't exist") +
                                " (no events socket): Asterisk hangs the caller up");
  const std::string context = opts_.app_default.empty() ? app : opts_.app_default;
  std::string id;
  if (local) {
    // The caller is the ;1 half (not in Stasis, not watched); ;2 runs the dialplan.
    const std::string base = "Local/" + to + "@" + context + "-" + next_name_suffix();
    const std::string id1 = next_channel_id();
    SimChannel& caller = new_channel(id1, base + ";1");
    caller.info.caller = {caller_name, from};
    caller.info.dialplan = {"default", "s", 1, "AppDial2", "(Outgoing Line)"};
    id = next_channel_id();
    SimChannel& ch = new_channel(id, base + ";2");
    ch.info.state = "Ring";
    ch.info.caller = {caller_name, from};
    ch.info.dialplan = {context, to, 1, "", ""};
    ch.local_half2 = true;
    ch.dialplan_entered = true;
    ch.other_half = id1;
    caller.other_half = id;
    ch.linkedid = caller.linkedid = id1;
  } else {
    // The caller comes in from its own endpoint when it is one of ours, else via a trunk.
    const EndpointConfig* via = nullptr;
    for (const auto& [key, e] : endpoints_)
      if (e.technology != "Local" && e.resource == from) via = &e;
    if (!via)
      for (const auto& [key, e] : endpoints_)
        if (e.trunk) via = &e;
    const std::string tech = via ? via->technology : "PJSIP";
    const std::string res = via ? via->resource : "anonymous";
    id = next_channel_id();
    SimChannel& ch = new_channel(id, tech + "/" + res + "-" + next_name_suffix());
    ch.info.protocol_id = uuid_v4();
    ch.info.state = "Ring";
    // The number as the caller sent it: Asterisk does not normalise it.
    ch.info.caller = {caller_name, from};
    ch.info.dialplan = {context, to, 1, "", ""};
    ch.endpoint_key = via ? tech + "/" + res : "";
    ch.dialplan_entered = true;
  }
  SimChannel& ch = *find_channel(id);
  enter_stasis(ch, app, std::move(args));
  json::Writer w;
  w.begin_object().field("channelId", id).field("name", ch.info.name).end_object();
  return Reply::json(201, w.str());
}

Reply Engine::far_dtmf(const std::string& id, const std::string& digits, int64_t between_ms) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  if (digits.empty()) return error_reply(400, "digits required");
  int64_t at = 0;
  for (char d : digits) {
    if (!valid_dtmf(d)) continue;
    after(at + 100, [this, id, d] { deliver_dtmf(id, d, 100); });
    at += between_ms;
  }
  return no_content();
}

bool Engine::far_dtmf_now(const std::string& id, char digit) {
  const SimChannel* ch = find_channel(id);
  if (!ch || ch->hanging_up) return false;
  deliver_dtmf(id, digit, 100);
  return true;
}

Reply Engine::far_answer(const std::string& id) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  if (ch->answered_once || !ch->originated) return error_reply(409, "Channel is not ringing");
  ++ch->epoch;  // a pending automatic step must not run twice
  if (ch->info.state == "Down") {
    // Answer before the first dial step ran: emit it now so the order holds.
    emit_dial(*ch, "");
  }
  far_end_answers(id);
  return no_content();
}

Reply Engine::far_hangup(const std::string& id, int cause) {
  SimChannel* ch = find_channel(id);
  if (!ch) return error_reply(404, "Channel not found");
  SimChannel* other = find_channel(ch->other_half);
  // A Local pair hangs up as one call whichever half is named: the far end of
  // an originated pair is its ;2 half, the caller of an inbound pair its ;1.
  if (other) {
    const bool inbound_pair = ch->dialplan_entered || other->dialplan_entered;
    const bool this_is_stasis_side = inbound_pair ? ch->dialplan_entered : !ch->local_half2;
    if (!this_is_stasis_side) ch = other;
  }
  const std::string target = ch->info.id;
  if (!ch->answered_once && ch->originated && !ch->local_half2) {
    // Rejecting a ringing call.
    fail_originate(target, cause == 17   ? Behavior::busy
                           : cause == 34 ? Behavior::congestion
                                         : Behavior::noanswer);
    return no_content();
  }
  // The ChannelHangupRequest the app sees, by technology (traces):
  // - Local, originated (hangup-during-media C: the ;2 side hangs up): the
  //   Stasis half gets the far end's cause, not soft;
  // - Local, inbound (inbound-stasis: the caller's ;1 hung up without a
  //   cause): cause 0, not soft;
  // - PJSIP (two-leg-bridge: the phone sends BYE): no cause at all.
  std::optional<int> request_cause;
  if (!ch->other_half.empty()) request_cause = ch->dialplan_entered ? 0 : cause;
  hangup_channel(target, cause, false, request_cause, false);
  return no_content();
}

}  // namespace aa::sim
