// The call state machine: events out, lookups, derived states, the end of a
// call and the ended-call store; the public queries, originate and hangup.
#include <algorithm>

#include "calls/call_manager_impl.hpp"
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

std::string caller_number_of(std::string_view caller_id) {
  // "Alice" <5551234> → 5551234; a bare number stays as it is.
  size_t lt = caller_id.find('<'), gt = caller_id.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt)
    return std::string(caller_id.substr(lt + 1, gt - lt - 1));
  return std::string(caller_id);
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

using detail::caller_number_of;
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
  sink.publish(e);
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
}

void CallManager::Impl::end_call(const std::shared_ptr<Call>& cp, std::string cause) {
  Call& c = *cp;
  if (is_final(c.rec->state)) return;
  CallState prev = c.rec->state;
  c.rec->state = c.answered ? CallState::ended : CallState::failed;
  c.rec->ended_at_ms = now_epoch_ms();
  c.rec->hangup_cause = cause;
  c.rec->bridge_id.clear();
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
      if (it->second.done) it->second.done->fire();
      if (!it->second.media_token.empty()) media.remove(it->second.media_token);
      playbacks.erase(it);
    }
  }
  c.playbacks.clear();
  for (auto& name : c.recordings) recordings.erase(name);
  c.recordings.clear();
  wake(c);
  call_by_channel.erase(c.rec->channel_id);
  remember_ended(c.rec);
  calls.erase(c.rec->id);
}

std::string CallManager::Impl::cause_for(const Call& c, int destroyed_cause) {
  if (c.hangup_requested) return c.hangup_reason.empty() ? "normal" : c.hangup_reason;
  if (!c.answered && !c.dialstatus.empty()) return dialstatus_cause(c.dialstatus);
  if (c.far_end_cause > 0) return cause_name(c.far_end_cause);
  if (destroyed_cause >= 0) return cause_name(destroyed_cause);
  return "normal";
}

void CallManager::Impl::remember_ended(std::shared_ptr<CallRecord> rec) {
  std::shared_ptr<const CallRecord> frozen = rec;
  ended.push_back(frozen);
  ended_by_id[frozen->id] = frozen;
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
    ended.pop_front();
  }
}

std::shared_ptr<CallManager::Impl::Call> CallManager::Impl::add_call(Direction dir,
                                                                     std::string channel_id,
                                                                     std::string caller,
                                                                     std::string callee) {
  auto c = std::make_shared<Call>();
  c->rec = std::make_shared<CallRecord>();
  c->rec->id = uuid_v4();
  c->rec->channel_id = std::move(channel_id);
  c->rec->direction = dir;
  c->rec->caller_number = std::move(caller);
  c->rec->callee_number = std::move(callee);
  c->rec->created_at_ms = now_epoch_ms();
  calls[c->rec->id] = c;
  call_by_channel[c->rec->channel_id] = c->rec->id;
  return c;
}
// ---------------------------------------------------------------------------

CallManager::CallManager(asio::any_io_executor ex, ari::AriApi& ari, EventSink& sink,
                         media::MediaStore& media, CallManagerOptions opts)
    : impl_(std::make_unique<Impl>(std::move(ex), ari, sink, media, std::move(opts))) {}

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
  if (im.ever_connected) {
    std::weak_ptr<bool> alive_w = im.alive;
    spawn(im.ex, im.reconcile(alive_w), "reconcile after ARI reconnect");
  }
  im.ever_connected = true;
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

awaitable<Outcome<CallRecord>> CallManager::originate(OriginateRequest req) {
  auto& im = *impl_;
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
      im.add_call(Direction::outbound, channel_id, caller_number_of(req.caller_id), req.endpoint);
  std::string call_id = c->rec->id;
  im.emit(im.make_event(EventKind::call_created, c.get()));

  ari::OriginateParams p;
  p.endpoint = req.endpoint;
  p.app = im.opts.app;
  p.app_args = "dialed";
  p.channel_id = channel_id;
  p.caller_id = req.caller_id;
  p.timeout = req.timeout_s;
  p.variables = req.variables;
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
