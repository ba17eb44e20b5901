// The call state machine: events out, lookups, derived states, the end of a
// call and the ended-call store; the public queries, originate and hangup.
#include <algorithm>

#include "calls/allowlist.hpp"
#include "calls/call_manager_impl.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "media/media_store.hpp"

namespace aa::calls {

namespace detail {

/// Q.850 cause code → the contract's hangupCause words.
std::string cause_name(int code) {
  switch (code) {
    case 0:
      return "normal";  // Asterisk reports 0 "Unknown" for many ordinary hangups
    case 1:
      return "unallocated";
    case 3:
      return "no_route";
    case 16:
      return "normal";
    case 17:
      return "busy";
    case 18:
      return "no_user_response";
    case 19:
      return "no_answer";
    case 20:
      return "subscriber_absent";
    case 21:
      return "rejected";
    case 27:
      return "destination_out_of_order";
    case 28:
      return "invalid_number";
    case 31:
      return "normal_unspecified";
    case 34:
      return "congestion";
    case 38:
      return "network_out_of_order";
    case 41:
      return "temporary_failure";
    case 42:
      return "switch_congestion";
    case 58:
      return "bearer_capability_not_available";
    case 127:
      return "interworking";
    default:
      return "cause_" + std::to_string(code);
  }
}

/// Dial's `dialstatus` is the reliable reason an originate failed (the
/// ChannelDestroyed cause is often 0 "Unknown").
std::string dialstatus_cause(std::string_view s) {
  if (s == "BUSY") return "busy";
  if (s == "NOANSWER") return "no_answer";
  if (s == "CONGESTION") return "congestion";
  if (s == "CHANUNAVAIL") return "unavailable";
  if (s == "CANCEL") return "cancelled";
  if (s == "INVALIDARGS") return "invalid_args";
  return {};
}

bool is_failure_dialstatus(std::string_view s) {
  return !dialstatus_cause(s).empty();
}

bool in_stasis_app(const ari::Channel& ch, std::string_view app, std::vector<std::string>* args) {
  // Real Asterisk lists a channel in Stasis with dialplan app_name "Stasis" and
  // app_data "<app>[,arg...]" (ari-traces: GET /channels in asterisk-restart).
  if (ch.dialplan.app_name != "Stasis" || app.empty()) return false;
  std::string_view data = ch.dialplan.app_data;
  if (!data.starts_with(app)) return false;
  data.remove_prefix(app.size());
  if (!data.empty() && data.front() != ',') return false;
  if (args) {
    args->clear();
    while (!data.empty()) {
      data.remove_prefix(1);  // the ','
      const size_t comma = data.find(',');
      args->emplace_back(data.substr(0, comma));
      data = comma == std::string_view::npos ? std::string_view{} : data.substr(comma);
    }
  }
  return true;
}

std::string endpoint_of_channel_name(std::string_view name) {
  if (name.ends_with(";1") || name.ends_with(";2")) name.remove_suffix(2);
  const size_t dash = name.rfind('-');
  if (dash != std::string_view::npos && dash + 1 < name.size() &&
      name.find_first_not_of("0123456789abcdefABCDEF", dash + 1) == std::string_view::npos)
    name = name.substr(0, dash);
  return std::string(name);
}

bool valid_hangup_reason(std::string_view r) {
  static const char* kReasons[] = {
      "normal",       "busy",        "congestion",         "no_answer",         "timeout",
      "rejected",     "unallocated", "normal_unspecified", "number_incomplete", "codec_mismatch",
      "interworking", "failure",     "answered_elsewhere"};
  for (const char* k : kReasons)
    if (r == k) return true;
  return false;
}

bool valid_media_uri(std::string_view m) {
  static const char* kSchemes[] = {
      "sound:", "recording:", "number:", "digits:", "characters:", "tone:"};
  for (const char* s : kSchemes) {
    std::string_view p(s);
    if (m.size() > p.size() && m.substr(0, p.size()) == p) return true;
  }
  return false;
}

}  // namespace detail

using detail::cause_name;
using detail::Clock;
using detail::dialstatus_cause;
using detail::valid_hangup_reason;

Error from_ari(const ari::AriError& e, ErrorCode not_found, std::string_view what) {
  using K = ari::AriError::Kind;
  switch (e.kind) {
    case K::unavailable:
      return Error(ErrorCode::ari_unavailable, "Asterisk is not connected", e.message);
    case K::timeout:
      return Error(ErrorCode::ari_timeout, "Asterisk did not answer in time", e.message);
    case K::http:
      if (e.status == 404) return Error(not_found, std::string(what) + " not found", e.message);
      if (e.status == 503)
        return Error(ErrorCode::ari_unavailable, "Asterisk is not ready", e.message);
      return Error(ErrorCode::ari_error, "Asterisk answered with an unexpected error",
                   std::to_string(e.status) + " " + e.message);
    default:
      return Error(ErrorCode::ari_error, "Asterisk answered with an unexpected error", e.message);
  }
}

// ---------------------------------------------------------------------------

// ---- events out ----
DomainEvent CallManager::Impl::make_event(EventKind kind, const Call* c) {
  DomainEvent e;
  e.kind = kind;
  e.timestamp_ms = now_epoch_ms();
  if (c) {
    e.call_id = c->rec->id;
    e.state = c->rec->state;
    e.call = std::make_shared<const CallRecord>(*c->rec);
  }
  return e;
}
void CallManager::Impl::emit(DomainEvent e) {
  e.seq = ++seq;
  outbox.push_back(std::move(e));
  if (emitting) return;  // raised by a subscriber: delivered after the current one
  emitting = true;
  struct Reset {
    bool& flag;
    ~Reset() { flag = false; }
  } reset{emitting};
  while (!outbox.empty()) {
    const DomainEvent next = std::move(outbox.front());
    outbox.pop_front();
    sink.publish(next);
    const auto targets = subscribers;  // a subscriber may unsubscribe meanwhile
    for (EventSink* t : targets)
      if (std::find(subscribers.begin(), subscribers.end(), t) != subscribers.end())
        t->publish(next);
  }
}

// ---- lookups ----
std::shared_ptr<CallManager::Impl::Call> CallManager::Impl::by_channel(
    const std::string& channel_id) {
  auto it = call_by_channel.find(channel_id);
  if (it == call_by_channel.end()) return nullptr;
  auto c = calls.find(it->second);
  return c == calls.end() ? nullptr : c->second;
}
Outcome<std::shared_ptr<CallManager::Impl::Call>> CallManager::Impl::active_call(
    const std::string& id) {
  auto it = calls.find(id);
  if (it != calls.end()) return it->second;
  if (ended_by_id.count(id)) return Error(ErrorCode::wrong_state, "Call has already ended");
  return Error(ErrorCode::call_not_found, "Call not found");
}
Outcome<std::shared_ptr<CallManager::Impl::Call>> CallManager::Impl::controllable_call(
    const std::string& id) {
  auto c = active_call(id);
  if (!c) return c;
  if (!(*c)->in_stasis)
    return Error(ErrorCode::wrong_state,
                 "Call is not answered yet: it cannot take media operations");
  return c;
}
Status CallManager::Impl::require_ari() {
  if (!connected) return Error(ErrorCode::ari_unavailable, "Asterisk is not connected");
  return ok_status();
}

// ---- state ----
CallState CallManager::Impl::derive(const Call& c) {
  if (is_final(c.rec->state)) return c.rec->state;
  if (!c.answered) return c.ringing ? CallState::ringing : CallState::initiating;
  if (!c.recordings.empty()) return CallState::recording;
  if (!c.playbacks.empty()) return CallState::playing;
  if (c.speaking) return CallState::speaking;
  if (!c.rec->bridge_id.empty()) return CallState::bridged;
  return CallState::answered;
}
void CallManager::Impl::wake(Call& c) {
  for (auto& w : c.watchers) w->fire();
  c.watchers.clear();
}
void CallManager::Impl::update_state(Call& c) {
  CallState next = derive(c);
  if (next == c.rec->state) {
    wake(c);
    return;
  }
  CallState prev = c.rec->state;
  c.rec->state = next;
  log::info("call {} {} -> {}", c.rec->id, to_string(prev), to_string(next));
  auto e = make_event(EventKind::call_state_changed, &c);
  e.previous_state = prev;
  emit(std::move(e));
  wake(c);
}
void CallManager::Impl::mark_answered(Call& c) {
  if (c.answered) return;
  c.answered = true;
  c.rec->answered_at_ms = now_epoch_ms();
  update_state(c);
  emit(make_event(EventKind::call_answered, &c));
  // An inbound call can take media operations once answered (an outbound leg
  // is ready at its StasisStart, which Asterisk sends only once it answered).
  if (c.rec->direction == Direction::inbound && c.in_stasis)
    emit(make_event(EventKind::call_ready, &c));
}

void CallManager::Impl::end_call(const std::shared_ptr<Call>& cp, std::string cause) {
  Call& c = *cp;
  if (is_final(c.rec->state)) return;
  CallState prev = c.rec->state;
  c.rec->state = c.answered ? CallState::ended : CallState::failed;
  c.rec->ended_at_ms = now_epoch_ms();
  c.rec->hangup_cause = cause;
  c.rec->bridge_id.clear();
  c.speaking = false;
  log::info("call {} {} -> {} ({})", c.rec->id, to_string(prev), to_string(c.rec->state), cause);
  auto sc = make_event(EventKind::call_state_changed, &c);
  sc.previous_state = prev;
  emit(std::move(sc));
  auto e = make_event(EventKind::call_ended, &c);
  e.cause = cause;
  emit(std::move(e));
  // Playbacks of a gone channel will never finish: release their waiters.
  for (auto& id : c.playbacks) {
    auto it = playbacks.find(id);
    if (it != playbacks.end()) {
      if (auto& t = it->second.track) {
        if (!is_final(t->item.status)) t->item.status = PlaybackStatus::not_played;
        t->done.fire();
      }
      if (!it->second.media_token.empty()) media.remove(it->second.media_token);
      playbacks.erase(it);
    }
  }
  c.playbacks.clear();
  // Recordings of the call, started or still waiting for Asterisk's first word.
  for (auto it = recordings.begin(); it != recordings.end();) {
    if (it->second.call_id != c.rec->id) {
      ++it;
      continue;
    }
    if (auto& t = it->second.track; t && t->state == RecordingTrack::State::pending) {
      t->state = RecordingTrack::State::ended;
      t->verdict.fire();
    }
    it = recordings.erase(it);
  }
  c.recordings.clear();
  wake(c);
  call_by_channel.erase(c.rec->channel_id);
  remember_ended(c.rec);
  calls.erase(c.rec->id);
  end_transfer_links(c);
}

std::string CallManager::Impl::cause_for(const Call& c, int destroyed_cause) {
  if (c.hangup_requested) return c.hangup_reason.empty() ? "normal" : c.hangup_reason;
  // Asterisk going down hangs every channel up with a soft request, cause 4
  // (asterisk-restart trace); the ChannelDestroyed cause that follows is 0.
  if (c.asterisk_shutdown) return "asterisk_shutdown";
  if (!c.answered && !c.dialstatus.empty()) return dialstatus_cause(c.dialstatus);
  if (c.far_end_cause > 0) return cause_name(c.far_end_cause);
  if (destroyed_cause >= 0) return cause_name(destroyed_cause);
  return "normal";
}

void CallManager::Impl::remember_ended(std::shared_ptr<CallRecord> rec) {
  std::shared_ptr<const CallRecord> frozen = rec;
  ended.push_back(frozen);
  ended_by_id[frozen->id] = frozen;
  ended_channels.insert(frozen->channel_id);
  prune_ended();
}
void CallManager::Impl::prune_ended() {
  int64_t now = now_epoch_ms();
  int64_t ttl_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(opts.ended_call_ttl).count();
  while (!ended.empty() &&
         (ended.size() > opts.ended_calls_kept || now - ended.front()->ended_at_ms > ttl_ms)) {
    auto it = ended_by_id.find(ended.front()->id);
    if (it != ended_by_id.end() && it->second == ended.front()) ended_by_id.erase(it);
    ended_channels.erase(ended.front()->channel_id);
    ended.pop_front();
  }
}

std::shared_ptr<CallManager::Impl::Call> CallManager::Impl::add_call(
    Direction dir, std::string channel_id, CallerId caller, std::string callee, std::string id) {
  auto c = std::make_shared<Call>();
  c->order = ++call_order;
  c->rec = std::make_shared<CallRecord>();
  c->rec->id = id.empty() ? uuid_v4() : std::move(id);
  c->rec->channel_id = std::move(channel_id);
  c->rec->direction = dir;
  c->rec->caller_name = std::move(caller.name);
  c->rec->caller_number = std::move(caller.number);
  c->rec->callee_number = std::move(callee);
  c->rec->created_at_ms = now_epoch_ms();
  calls[c->rec->id] = c;
  call_by_channel[c->rec->channel_id] = c->rec->id;
  return c;
}

// ---- fire-and-forget requests ----
void CallManager::Impl::spawn_hangup(const std::shared_ptr<Call>& c) {
  if (c->hangup_requested) return;
  c->hangup_requested = true;
  spawn(ex, hangup_task(c->rec->channel_id, alive), "hang up a call");
}
awaitable<void> CallManager::Impl::hangup_task(std::string channel_id, std::weak_ptr<bool> alive_w,
                                               std::string reason) {
  auto r = co_await ari.hangup(channel_id, reason);
  if (alive_w.expired()) co_return;
  if (!r.ok() && !(r.error.kind == ari::AriError::Kind::http && r.error.status == 404))
    log::warn("hanging up channel {} failed: {} {}", channel_id, r.error.status, r.error.message);
}
void CallManager::Impl::spawn_destroy_bridge(std::string bridge_id) {
  spawn(ex, destroy_bridge_task(std::move(bridge_id), alive), "destroy a bridge");
}
awaitable<void> CallManager::Impl::destroy_bridge_task(std::string bridge_id,
                                                       std::weak_ptr<bool> alive_w) {
  auto r = co_await ari.destroy_bridge(bridge_id);
  if (alive_w.expired()) co_return;
  if (r.ok() || (r.error.kind == ari::AriError::Kind::http && r.error.status == 404)) {
    bridge_gone(bridge_id);
    co_return;
  }
  log::warn("destroying bridge {} failed: {} {}", bridge_id, r.error.status, r.error.message);
}
void CallManager::Impl::spawn_set_call_id(std::string channel_id, std::string call_id) {
  spawn(ex, set_call_id_task(std::move(channel_id), std::move(call_id), alive),
        "store the call id on its channel");
}
awaitable<void> CallManager::Impl::set_call_id_task(std::string channel_id, std::string call_id,
                                                    std::weak_ptr<bool> alive_w) {
  auto r = co_await ari.set_variable(channel_id, kCallIdVariable, call_id);
  if (alive_w.expired() || r.ok()) co_return;
  log::debug("storing call id {} on channel {} failed: {} {}", call_id, channel_id, r.error.status,
             r.error.message);
}
// ---------------------------------------------------------------------------

CallManager::CallManager(asio::any_io_executor ex, ari::AriApi& ari, EventSink& sink,
                         media::MediaStore& media, CallManagerOptions opts)
    : impl_(std::make_unique<Impl>(std::move(ex), ari, sink, media, std::move(opts))) {
  impl_->seq = impl_->opts.seq_after;
}

CallManager::~CallManager() = default;

void CallManager::on_ari_event(const ari::Event& e) {
  impl_->on_event(e);
}

void CallManager::on_ari_connection(bool connected) {
  auto& im = *impl_;
  if (connected == im.connected) return;
  im.connected = connected;
  if (!connected) {
    log::warn("ARI events socket down: calls kept, routes answer 503 until it is back");
    return;
  }
  // At start-up as after an outage: what is in our app that we do not know?
  std::weak_ptr<bool> alive_w = im.alive;
  spawn(im.ex, im.reconcile(alive_w),
        im.ever_connected ? "reconcile after ARI reconnect" : "reconcile at start-up");
  im.ever_connected = true;
}

void CallManager::subscribe(EventSink& sink) {
  auto& subs = impl_->subscribers;
  if (std::find(subs.begin(), subs.end(), &sink) == subs.end()) subs.push_back(&sink);
}
void CallManager::unsubscribe(EventSink& sink) {
  std::erase(impl_->subscribers, &sink);
}

Outcome<uint64_t> CallManager::publish(DomainEvent e) {
  auto& im = *impl_;
  if (!e.call_id.empty()) {
    if (auto it = im.calls.find(e.call_id); it != im.calls.end()) {
      e.call = std::make_shared<const CallRecord>(*it->second->rec);
    } else if (auto ended = im.ended_by_id.find(e.call_id); ended != im.ended_by_id.end()) {
      e.call = ended->second;
    } else {
      return Error(ErrorCode::call_not_found, "Call not found");
    }
    e.state = e.call->state;
  }
  if (e.timestamp_ms == 0) e.timestamp_ms = now_epoch_ms();
  im.emit(std::move(e));
  return im.seq;
}

void CallManager::set_internal_channel_filter(std::function<bool(const ari::Channel&)> filter) {
  impl_->internal_filter = std::move(filter);
}
bool CallManager::is_internal_channel(const ari::Channel& ch) const {
  return impl_->is_internal(ch);
}

Status CallManager::set_speaking(std::string_view call_id, bool speaking) {
  auto& im = *impl_;
  auto c = im.active_call(std::string(call_id));
  if (!c) return c.error();
  (*c)->speaking = speaking;
  im.update_state(**c);
  return ok_status();
}

bool CallManager::media_ready(std::string_view call_id) const {
  auto it = impl_->calls.find(std::string(call_id));
  if (it == impl_->calls.end()) return false;
  const auto& c = *it->second;
  return c.answered && c.in_stasis && !c.hangup_seen && !is_final(c.rec->state);
}

std::string CallManager::bridge_of(std::string_view call_id) const {
  auto it = impl_->calls.find(std::string(call_id));
  return it == impl_->calls.end() ? std::string() : it->second->rec->bridge_id;
}

Status CallManager::set_audio_capture(std::string_view call_id,
                                      std::optional<AudioCapture> capture) {
  auto it = impl_->calls.find(std::string(call_id));
  if (it == impl_->calls.end()) return Error(ErrorCode::call_not_found, "Call not found");
  it->second->rec->audio_capture = std::move(capture);
  return ok_status();
}

CallManager::UntrackedStats CallManager::untracked_stats() const {
  return impl_->untracked;
}

bool CallManager::ari_connected() const {
  return impl_->connected;
}
size_t CallManager::active_count() const {
  return impl_->calls.size();
}

std::vector<CallRecord> CallManager::active_calls() const {
  std::vector<CallRecord> out;
  out.reserve(impl_->calls.size());
  for (const auto& [_, c] : impl_->calls) out.push_back(*c->rec);
  std::sort(out.begin(), out.end(), [](const CallRecord& a, const CallRecord& b) {
    return a.created_at_ms < b.created_at_ms;
  });
  return out;
}

Outcome<CallRecord> CallManager::get_call(std::string_view id) const {
  std::string key(id);
  auto it = impl_->calls.find(key);
  if (it != impl_->calls.end()) return *it->second->rec;
  impl_->prune_ended();
  auto e = impl_->ended_by_id.find(key);
  if (e != impl_->ended_by_id.end()) return *e->second;
  return Error(ErrorCode::call_not_found, "Call not found");
}

void CallManager::set_allowlist(const Allowlist* allowlist) {
  impl_->allowlist = allowlist;
}
uint64_t CallManager::blocked_inbound() const {
  return impl_->blocked_inbound;
}
uint64_t CallManager::blocked_outbound() const {
  return impl_->blocked_outbound;
}

awaitable<Outcome<CallRecord>> CallManager::originate(OriginateRequest req) {
  auto& im = *impl_;
  if (im.allowlist) {
    // Checked before anything reaches Asterisk (transfers originate through here too).
    auto d = im.allowlist->check_outbound(req.endpoint);
    if (!d.allowed) {
      ++im.blocked_outbound;
      log::warn("outbound call to {} blocked by the allowlist (number '{}')", req.endpoint,
                d.number);
      Error e(ErrorCode::allowlist_blocked, "Outbound call blocked by allowlist");
      auto str = [](std::string_view v) {
        json::Writer w;
        w.string(v);
        return w.str();
      };
      e.extra.emplace_back("endpoint", str(req.endpoint));
      e.extra.emplace_back("extractedNumber",
                           str(d.number.empty() ? "(could not extract)" : d.number));
      e.extra.emplace_back("hint", str("Add the destination number to the allowlist file's "
                                       "outbound array (ALLOWLIST_FILE)"));
      co_return e;
    }
  }
  if (auto s = im.require_ari(); !s) co_return s.error();
  // For technologies Asterisk lists as endpoints, check the endpoint exists
  // (for TECH/number@trunk, the trunk): Asterisk would only say "Allocation failed".
  size_t slash = req.endpoint.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == req.endpoint.size()) {
    Error e(ErrorCode::validation_failed, "Invalid endpoint");
    e.details.push_back("endpoint: must look like TECH/resource, e.g. PJSIP/1001");
    co_return e;
  }
  std::string tech = req.endpoint.substr(0, slash);
  std::string resource = req.endpoint.substr(slash + 1);
  std::string tech_upper = tech;
  for (auto& ch : tech_upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  if (tech_upper == "PJSIP" || tech_upper == "SIP" || tech_upper == "IAX2") {
    size_t at = resource.find('@');
    std::string lookup = at == std::string::npos ? resource : resource.substr(at + 1);
    const std::string key = tech_upper + "/" + lookup;
    auto seen = im.endpoints_seen.find(key);
    if (seen == im.endpoints_seen.end() ||
        Clock::now() - seen->second > im.opts.endpoint_cache_ttl) {
      auto ep = co_await im.ari.get_endpoint(tech, lookup);
      if (!ep.ok()) {
        im.endpoints_seen.erase(key);
        if (ep.error.kind == ari::AriError::Kind::http && ep.error.status == 404)
          co_return Error(ErrorCode::endpoint_not_found,
                          "Endpoint " + tech + "/" + lookup + " not found");
        co_return from_ari(ep.error, ErrorCode::endpoint_not_found, "Endpoint");
      }
      im.endpoints_seen[key] = Clock::now();
    }
  }

  // Our ids first, then the request: events may arrive before the answer.
  std::string channel_id = uuid_v4();
  auto c =
      im.add_call(Direction::outbound, channel_id, parse_caller_id(req.caller_id), req.endpoint);
  std::string call_id = c->rec->id;
  im.emit(im.make_event(EventKind::call_created, c.get()));

  ari::OriginateParams p;
  p.endpoint = req.endpoint;
  p.app = im.opts.app;
  p.app_args = "dialed";
  p.channel_id = channel_id;
  p.caller_id = req.caller_id;
  p.timeout = req.timeout_s;
  // Our call id travels on the channel (no extra request), so that a restarted
  // service adopts the call under the same id.
  for (auto& v : req.variables)
    if (v.first != kCallIdVariable) p.variables.push_back(std::move(v));
  p.variables.emplace_back(std::string(kCallIdVariable), call_id);
  auto r = co_await im.ari.originate(p);
  auto still = im.calls.find(call_id);
  if (!r.ok()) {
    Error err = (r.error.kind == ari::AriError::Kind::http &&
                 (r.error.status == 500 || r.error.status == 404) &&
                 r.error.message.find("Allocation failed") != std::string::npos)
                    ? Error(ErrorCode::endpoint_not_found,
                            "Endpoint " + req.endpoint + " not found", r.error.message)
                : (r.error.kind == ari::AriError::Kind::http && r.error.status == 400)
                    ? Error(ErrorCode::validation_failed, "Asterisk rejected the call parameters",
                            r.error.message)
                    : from_ari(r.error, ErrorCode::endpoint_not_found, "Endpoint");
    if (err.code == ErrorCode::validation_failed)
      err.details.push_back("endpoint: " + r.error.message);
    if (err.code == ErrorCode::endpoint_not_found) {
      // Do not trust the cached listing of this endpoint any more.
      const size_t at = resource.find('@');
      im.endpoints_seen.erase(tech_upper + "/" +
                              (at == std::string::npos ? resource : resource.substr(at + 1)));
    }
    if (still != im.calls.end()) im.end_call(still->second, "originate_failed");
    co_return err;
  }
  log::info("outbound call {} to {} on channel {}", call_id, req.endpoint, channel_id);
  if (still != im.calls.end()) co_return *still->second->rec;
  // Ended already (e.g. busy before the REST answer came back).
  auto e = im.ended_by_id.find(call_id);
  if (e != im.ended_by_id.end()) co_return *e->second;
  co_return Error(ErrorCode::internal, "Call vanished");
}

awaitable<Status> CallManager::hangup(std::string call_id, std::string reason) {
  auto& im = *impl_;
  if (!reason.empty() && !valid_hangup_reason(reason)) {
    Error e(ErrorCode::validation_failed, "Invalid hangup reason");
    e.details.push_back(
        "reason: must be one of normal, busy, congestion, no_answer, timeout, rejected, "
        "unallocated, normal_unspecified, number_incomplete, codec_mismatch, interworking, "
        "failure, answered_elsewhere");
    co_return e;
  }
  auto c = im.active_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto call = *c;
  call->hangup_requested = true;
  call->hangup_reason = reason;
  std::string channel_id = call->rec->channel_id;
  auto r = co_await im.ari.hangup(channel_id, reason);
  if (!r.ok()) {
    if (r.error.kind == ari::AriError::Kind::http && r.error.status == 404) {
      // Already gone on Asterisk's side: the call is over either way.
      if (im.calls.count(call_id)) im.end_call(call, reason.empty() ? "normal" : reason);
      co_return ok_status();
    }
    call->hangup_requested = false;
    co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
  }
  co_return ok_status();
}
}  // namespace aa::calls
