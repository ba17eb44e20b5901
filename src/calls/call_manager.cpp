#include "calls/call_manager.hpp"

#include <algorithm>
#include <unordered_set>

#include "common/log.hpp"
#include "common/util.hpp"
#include "media/media_store.hpp"

namespace aa::calls {

namespace {

using Clock = std::chrono::steady_clock;

/// A one-shot wake-up for a waiting coroutine: fire() cancels the timer the
/// waiter is parked on. (Boost 1.74 has no channels.)
class Signal {
 public:
  explicit Signal(asio::any_io_executor ex) : timer_(ex) {}
  void fire() {
    fired_ = true;
    timer_.cancel();
  }
  bool fired() const { return fired_; }
  /// True if fired, false on timeout.
  awaitable<bool> wait(Clock::time_point deadline) {
    while (!fired_) {
      if (Clock::now() >= deadline) co_return false;
      timer_.expires_at(deadline);
      boost::system::error_code ec;
      co_await timer_.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    co_return true;
  }

 private:
  asio::steady_timer timer_;
  bool fired_ = false;
};

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

}  // namespace

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

struct CallManager::Impl {
  struct Call {
    std::shared_ptr<CallRecord> rec;
    bool in_stasis = false;
    bool answered = false;
    bool ringing = false;
    bool hangup_requested = false;                  // by us
    std::string hangup_reason;                      // what we asked for
    std::string dialstatus;                         // last failure dialstatus
    int far_end_cause = -1;                         // from a non-soft ChannelHangupRequest
    std::vector<std::string> playbacks;             // active playback ids
    std::vector<std::string> recordings;            // active recording names
    std::vector<std::shared_ptr<Signal>> watchers;  // woken on every change
  };
  struct PlaybackInfo {
    std::string call_id;
    std::string media;
    std::string media_token;  // MediaStore entry to drop when done
    std::shared_ptr<Signal> done;
    bool started = false;
  };
  struct RecordingInfo {
    std::string call_id;
    std::string format;
  };

  asio::any_io_executor ex;
  ari::AriApi& ari;
  EventSink& sink;
  media::MediaStore& media;
  CallManagerOptions opts;
  bool connected = false;
  bool ever_connected = false;
  uint64_t seq = 0;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  std::unordered_map<std::string, std::shared_ptr<Call>> calls;  // active, by call id
  std::unordered_map<std::string, std::string> call_by_channel;  // channel id → call id
  std::unordered_map<std::string, PlaybackInfo> playbacks;
  std::unordered_map<std::string, RecordingInfo> recordings;
  std::unordered_map<std::string, BridgeRecord> bridges;  // tracked (created by us)
  std::unordered_set<std::string> destroyed_bridges;      // bridge.destroyed already sent
  std::deque<std::shared_ptr<const CallRecord>> ended;    // oldest first
  std::unordered_map<std::string, std::shared_ptr<const CallRecord>> ended_by_id;
  std::unordered_map<std::string, Clock::time_point> endpoints_seen;  // "PJSIP/1001" → when

  Impl(asio::any_io_executor e, ari::AriApi& a, EventSink& s, media::MediaStore& m,
       CallManagerOptions o)
      : ex(std::move(e)), ari(a), sink(s), media(m), opts(std::move(o)) {}

  // ---- events out ----
  DomainEvent make_event(EventKind kind, const Call* c) {
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
  void emit(DomainEvent e) {
    e.seq = ++seq;
    sink.publish(e);
  }

  // ---- lookups ----
  std::shared_ptr<Call> by_channel(const std::string& channel_id) {
    auto it = call_by_channel.find(channel_id);
    if (it == call_by_channel.end()) return nullptr;
    auto c = calls.find(it->second);
    return c == calls.end() ? nullptr : c->second;
  }
  Outcome<std::shared_ptr<Call>> active_call(const std::string& id) {
    auto it = calls.find(id);
    if (it != calls.end()) return it->second;
    if (ended_by_id.count(id)) return Error(ErrorCode::wrong_state, "Call has already ended");
    return Error(ErrorCode::call_not_found, "Call not found");
  }
  Outcome<std::shared_ptr<Call>> controllable_call(const std::string& id) {
    auto c = active_call(id);
    if (!c) return c;
    if (!(*c)->in_stasis)
      return Error(ErrorCode::wrong_state,
                   "Call is not answered yet: it cannot take media operations");
    return c;
  }
  Status require_ari() {
    if (!connected) return Error(ErrorCode::ari_unavailable, "Asterisk is not connected");
    return ok_status();
  }

  // ---- state ----
  static CallState derive(const Call& c) {
    if (is_final(c.rec->state)) return c.rec->state;
    if (!c.answered) return c.ringing ? CallState::ringing : CallState::initiating;
    if (!c.recordings.empty()) return CallState::recording;
    if (!c.playbacks.empty()) return CallState::playing;
    if (!c.rec->bridge_id.empty()) return CallState::bridged;
    return CallState::answered;
  }
  void wake(Call& c) {
    for (auto& w : c.watchers) w->fire();
    c.watchers.clear();
  }
  void update_state(Call& c) {
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
  void mark_answered(Call& c) {
    if (c.answered) return;
    c.answered = true;
    c.rec->answered_at_ms = now_epoch_ms();
    update_state(c);
  }

  void end_call(const std::shared_ptr<Call>& cp, std::string cause) {
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

  std::string cause_for(const Call& c, int destroyed_cause) {
    if (c.hangup_requested) return c.hangup_reason.empty() ? "normal" : c.hangup_reason;
    if (!c.answered && !c.dialstatus.empty()) return dialstatus_cause(c.dialstatus);
    if (c.far_end_cause > 0) return cause_name(c.far_end_cause);
    if (destroyed_cause >= 0) return cause_name(destroyed_cause);
    return "normal";
  }

  void remember_ended(std::shared_ptr<CallRecord> rec) {
    std::shared_ptr<const CallRecord> frozen = rec;
    ended.push_back(frozen);
    ended_by_id[frozen->id] = frozen;
    prune_ended();
  }
  void prune_ended() {
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

  std::shared_ptr<Call> add_call(Direction dir, std::string channel_id, std::string caller,
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

  // ---- ARI events in ----
  void on_event(const ari::Event& e) {
    using T = ari::EventType;
    switch (e.type) {
      case T::StasisStart:
        on_stasis_start(e);
        break;
      case T::StasisEnd: {
        if (!e.channel) break;
        auto c = by_channel(e.channel->id);
        if (!c) break;
        c->in_stasis = false;
        // The channel left our application (hung up, or continued in the
        // dialplan): we can no longer control it. Inbound channels may get no
        // ChannelDestroyed at all, so the call ends here.
        end_call(c, cause_for(*c, -1));
        break;
      }
      case T::ChannelStateChange: {
        if (!e.channel) break;
        auto c = by_channel(e.channel->id);
        if (!c) break;
        const auto& st = e.channel->state;
        if (st == "Up") {
          mark_answered(*c);
        } else if (st == "Ringing" || st == "Ring") {
          if (!c->ringing) {
            c->ringing = true;
            update_state(*c);
          }
        }
        break;
      }
      case T::Dial: {
        if (!e.peer) break;
        auto c = by_channel(e.peer->id);
        if (!c) break;
        if (e.dialstatus == "RINGING" || e.dialstatus == "PROGRESS") {
          if (!c->ringing) {
            c->ringing = true;
            update_state(*c);
          }
        } else if (e.dialstatus == "ANSWER") {
          mark_answered(*c);
        } else if (is_failure_dialstatus(e.dialstatus)) {
          c->dialstatus = e.dialstatus;
        }
        break;
      }
      case T::ChannelHangupRequest: {
        if (!e.channel) break;
        auto c = by_channel(e.channel->id);
        if (c && !e.soft) c->far_end_cause = e.cause;
        break;
      }
      case T::ChannelDestroyed: {
        if (!e.channel) break;
        auto c = by_channel(e.channel->id);
        if (c) end_call(c, cause_for(*c, e.cause));
        break;
      }
      case T::ChannelDtmfReceived: {
        if (!e.channel) break;
        auto c = by_channel(e.channel->id);
        if (!c) break;
        auto ev = make_event(EventKind::call_dtmf, c.get());
        ev.digit = e.digit;
        emit(std::move(ev));
        break;
      }
      case T::ChannelEnteredBridge:
      case T::ChannelLeftBridge:
        on_bridge_membership(e);
        break;
      case T::BridgeDestroyed:
        if (e.bridge) bridge_gone(e.bridge->id);
        break;
      case T::PlaybackStarted:
      case T::PlaybackFinished:
        on_playback(e);
        break;
      case T::RecordingStarted:
      case T::RecordingFinished:
      case T::RecordingFailed:
        on_recording(e);
        break;
      default:
        break;
    }
  }

  void on_stasis_start(const ari::Event& e) {
    if (!e.channel) return;
    const auto& ch = *e.channel;
    if (auto c = by_channel(ch.id)) {
      // Our own outbound leg: Asterisk sends StasisStart only once it answered.
      c->in_stasis = true;
      if (ch.state == "Up") mark_answered(*c);
      emit(make_event(EventKind::call_ready, c.get()));
      wake(*c);
      return;
    }
    if (!e.args.empty() && e.args.front() == "dialed") {
      log::warn("StasisStart for unknown outbound leg {} (created before a restart?): ignored",
                ch.id);
      return;
    }
    // A new inbound call from the dialplan. Stasis(app,inbound,<exten>,<caller>) args may
    // name the numbers; otherwise take them from the channel.
    std::string callee = ch.dialplan.exten;
    std::string caller = ch.caller.number;
    if (e.args.size() >= 2 && e.args[0] == "inbound" && !e.args[1].empty()) callee = e.args[1];
    if (e.args.size() >= 3 && e.args[0] == "inbound" && !e.args[2].empty()) caller = e.args[2];
    auto c = add_call(Direction::inbound, ch.id, caller, callee);
    c->in_stasis = true;
    c->ringing = true;
    c->rec->state = CallState::ringing;
    if (ch.state == "Up") {
      c->answered = true;
      c->rec->answered_at_ms = now_epoch_ms();
      c->rec->state = CallState::answered;
    }
    log::info("inbound call {} on channel {} from '{}' to '{}'", c->rec->id, ch.id, caller, callee);
    emit(make_event(EventKind::call_created, c.get()));
    if (!c->answered && opts.answer_inbound) {
      std::string channel_id = ch.id;
      std::weak_ptr<bool> alive_w = alive;
      spawn(ex, answer_inbound(channel_id, alive_w), "answer inbound call");
    }
  }

  awaitable<void> answer_inbound(std::string channel_id, std::weak_ptr<bool> alive_w) {
    auto r = co_await ari.answer(channel_id);
    if (alive_w.expired()) co_return;
    if (!r.ok()) {
      log::warn("answering inbound channel {} failed: {} {}", channel_id, r.error.status,
                r.error.message);
      co_return;
    }
    // Asterisk follows with ChannelStateChange Up; mark it now so media can start at once.
    if (auto c = by_channel(channel_id)) mark_answered(*c);
  }

  void on_bridge_membership(const ari::Event& e) {
    if (!e.bridge) return;
    bool entered = e.type == ari::EventType::ChannelEnteredBridge;
    auto bt = bridges.find(e.bridge->id);
    if (bt != bridges.end()) bt->second.channel_ids = e.bridge->channels;
    if (!e.channel) return;
    auto c = by_channel(e.channel->id);
    if (!c) return;
    if (entered) {
      c->rec->bridge_id = e.bridge->id;
    } else if (c->rec->bridge_id == e.bridge->id) {
      c->rec->bridge_id.clear();
    }
    update_state(*c);
  }

  void bridge_gone(const std::string& id) {
    bool tracked = bridges.erase(id) > 0;
    for (auto& [_, c] : calls) {
      if (c->rec->bridge_id == id) {
        c->rec->bridge_id.clear();
        update_state(*c);
      }
    }
    if (tracked && destroyed_bridges.insert(id).second) {
      auto ev = make_event(EventKind::bridge_destroyed, nullptr);
      ev.bridge_id = id;
      emit(std::move(ev));
    }
    if (destroyed_bridges.size() > 10000) destroyed_bridges.clear();
  }

  void on_playback(const ari::Event& e) {
    if (!e.playback) return;
    auto it = playbacks.find(e.playback->id);
    if (it == playbacks.end()) return;
    auto ct = calls.find(it->second.call_id);
    Call* c = ct == calls.end() ? nullptr : ct->second.get();
    bool started = e.type == ari::EventType::PlaybackStarted;
    if (started) {
      if (it->second.started) return;
      it->second.started = true;
      if (!c) return;
      auto ev = make_event(EventKind::call_playback_started, c);
      ev.playback_id = e.playback->id;
      ev.media = it->second.media;
      emit(std::move(ev));
      return;
    }
    PlaybackInfo info = std::move(it->second);
    playbacks.erase(it);
    if (info.done) info.done->fire();
    if (!info.media_token.empty()) media.remove(info.media_token);
    if (!c) return;
    std::erase(c->playbacks, e.playback->id);
    auto ev = make_event(EventKind::call_playback_finished, c);
    ev.playback_id = e.playback->id;
    ev.media = info.media;
    ev.cause = e.playback->state;  // done | failed
    emit(std::move(ev));
    update_state(*c);
  }

  void on_recording(const ari::Event& e) {
    if (!e.recording) return;
    auto it = recordings.find(e.recording->name);
    if (it == recordings.end()) return;
    auto ct = calls.find(it->second.call_id);
    if (ct == calls.end()) return;
    Call& c = *ct->second;
    using T = ari::EventType;
    EventKind kind = e.type == T::RecordingStarted    ? EventKind::call_recording_started
                     : e.type == T::RecordingFinished ? EventKind::call_recording_finished
                                                      : EventKind::call_recording_failed;
    if (kind == EventKind::call_recording_started) {
      if (std::find(c.recordings.begin(), c.recordings.end(), e.recording->name) ==
          c.recordings.end())
        c.recordings.push_back(e.recording->name);
    } else {
      std::erase(c.recordings, e.recording->name);
    }
    auto ev = make_event(kind, &c);
    ev.recording_name = e.recording->name;
    ev.recording_format = e.recording->format.empty() ? it->second.format : e.recording->format;
    if (kind == EventKind::call_recording_finished) ev.duration = e.recording->duration.value_or(0);
    if (kind == EventKind::call_recording_failed)
      ev.cause = e.recording->cause.empty() ? "failed" : e.recording->cause;
    if (kind != EventKind::call_recording_started) recordings.erase(it);
    emit(std::move(ev));
    update_state(c);
  }

  // ---- reconnect ----
  awaitable<void> reconcile(std::weak_ptr<bool> alive_w) {
    auto listed = co_await ari.list_channels();
    if (alive_w.expired() || !connected) co_return;
    if (!listed.ok()) {
      log::warn("re-reading channels after reconnect failed: {}", listed.error.message);
      co_return;
    }
    std::unordered_map<std::string, const ari::Channel*> alive_channels;
    for (const auto& ch : *listed) alive_channels[ch.id] = &ch;
    std::vector<std::shared_ptr<Call>> lost;
    for (auto& [_, c] : calls) {
      auto found = alive_channels.find(c->rec->channel_id);
      if (found == alive_channels.end()) {
        lost.push_back(c);
      } else if (found->second->state == "Up") {
        mark_answered(*c);
      }
    }
    for (auto& c : lost) end_call(c, "lost_during_ari_outage");
    if (!lost.empty() || !calls.empty())
      log::info("after reconnect: {} call(s) still up, {} lost during the outage", calls.size(),
                lost.size());
    auto bl = co_await ari.list_bridges();
    if (alive_w.expired() || !bl.ok()) co_return;
    std::unordered_set<std::string> alive_bridges;
    for (const auto& b : *bl) alive_bridges.insert(b.id);
    std::vector<std::string> gone;
    for (auto& [id, b] : bridges)
      if (!alive_bridges.count(id)) gone.push_back(id);
    for (auto& id : gone) bridge_gone(id);
  }
};

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

awaitable<Outcome<PlayResult>> CallManager::play(std::string call_id, PlayRequest req) {
  auto& im = *impl_;
  if (req.media.empty()) {
    Error e(ErrorCode::validation_failed, "Invalid request body");
    e.details.push_back("media: must not be empty");
    co_return e;
  }
  {
    Error e(ErrorCode::validation_failed, "Invalid request body");
    for (size_t i = 0; i < req.media.size(); ++i)
      if (!valid_media_uri(req.media[i]))
        e.details.push_back("media" +
                            (req.media.size() > 1 ? "[" + std::to_string(i) + "]" : std::string{}) +
                            ": must be a media URI such as sound:hello-world (schemes: sound, "
                            "recording, number, digits, characters, tone)");
    if (!e.details.empty()) co_return e;
  }
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto call = *c;
  PlayResult result;
  std::vector<std::shared_ptr<Signal>> waits;
  for (const auto& m : req.media) {
    if (!im.calls.count(call_id))
      co_return Error(ErrorCode::wrong_state, "Call ended during playback");
    std::string pb_id = uuid_v4();
    auto done = std::make_shared<Signal>(im.ex);
    im.playbacks[pb_id] = Impl::PlaybackInfo{call_id, m, {}, done, false};
    call->playbacks.push_back(pb_id);
    ari::PlayParams p;
    p.media = {m};
    p.playback_id = pb_id;
    std::string channel_id = call->rec->channel_id;
    auto r = co_await im.ari.play(channel_id, p);
    if (!r.ok()) {
      im.playbacks.erase(pb_id);
      std::erase(call->playbacks, pb_id);
      co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
    }
    result.playback_ids.push_back(pb_id);
    waits.push_back(done);
    im.update_state(*call);
  }
  if (!req.wait) co_return result;
  auto deadline = Clock::now() + im.opts.play_wait_limit;
  bool all = true;
  for (auto& w : waits) all = (co_await w->wait(deadline)) && all;
  result.finished = all;
  co_return result;
}

awaitable<Outcome<std::string>> CallManager::play_file(std::string call_id, std::string wav_bytes,
                                                       std::string filename) {
  auto& im = *impl_;
  // Converted (off the io thread) to what Asterisk plays from a URL: 8 kHz .wav or
  // 16 kHz .wav16; a 400 when it cannot be.
  auto prepared = co_await im.media.prepare(std::move(wav_bytes));
  if (!prepared) co_return prepared.error();
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  if (im.opts.media_base_url.empty())
    co_return Error(ErrorCode::internal, "MEDIA_BASE_URL is not configured");
  std::string stem = filename;
  if (auto dot = stem.rfind('.'); dot != std::string::npos) stem.resize(dot);
  if (stem.empty()) stem = "upload-" + std::to_string(now_epoch_ms());
  auto put = im.media.put(prepared->bytes, stem, prepared->extension, im.opts.media_ttl);
  if (!put) co_return put.error();
  prepared->bytes = std::string();  // on disk now: hold no copy while the playback runs
  const media::StoredMedia stored = std::move(*put);
  std::string sound_name = stored.sound_name();
  std::string uri = "sound:" + im.opts.media_base_url + stored.path();
  auto call = *c;
  std::string pb_id = uuid_v4();
  im.playbacks[pb_id] = Impl::PlaybackInfo{call_id, uri, stored.token, nullptr, false};
  call->playbacks.push_back(pb_id);
  ari::PlayParams p;
  p.media = {uri};
  p.playback_id = pb_id;
  std::string channel_id = call->rec->channel_id;
  auto r = co_await im.ari.play(channel_id, p);
  if (!r.ok()) {
    im.playbacks.erase(pb_id);
    if (auto still = im.calls.find(call_id); still != im.calls.end())
      std::erase(still->second->playbacks, pb_id);
    im.media.remove(stored.token);
    co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
  }
  if (im.calls.count(call_id)) im.update_state(*call);
  co_return sound_name;
}

awaitable<Outcome<std::string>> CallManager::record(std::string call_id, RecordRequest req) {
  auto& im = *impl_;
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto call = *c;
  std::string name =
      req.name.empty() ? "call-" + call_id + "-" + std::to_string(now_epoch_ms()) : req.name;
  if (im.recordings.count(name))
    co_return Error(ErrorCode::recording_exists, "A recording named " + name + " is in progress");
  im.recordings[name] = Impl::RecordingInfo{call_id, req.format};
  ari::RecordParams p;
  p.name = name;
  p.format = req.format;
  p.max_duration_seconds = req.max_duration_s;
  p.beep = req.beep;
  p.if_exists = "fail";
  // Asterisk fails a channel recording while the channel is in a bridge: record the bridge.
  std::string target = call->rec->bridge_id.empty() ? call->rec->channel_id : call->rec->bridge_id;
  bool bridged = !call->rec->bridge_id.empty();
  ari::Result<ari::LiveRecording> r;
  if (bridged) {
    r = co_await im.ari.record_bridge(target, p);
  } else {
    r = co_await im.ari.record(target, p);
  }
  if (!r.ok()) {
    im.recordings.erase(name);
    if (r.error.kind == ari::AriError::Kind::http && r.error.status == 409)
      co_return Error(ErrorCode::recording_exists, "A recording named " + name + " already exists");
    if (r.error.kind == ari::AriError::Kind::http && r.error.status == 422) {
      Error e(ErrorCode::validation_failed, "Asterisk cannot record in that format",
              r.error.message);
      e.details.push_back("format: not supported by Asterisk");
      co_return e;
    }
    co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
  }
  if (auto still = im.calls.find(call_id); still != im.calls.end())
    still->second->rec->recordings.push_back(name);
  co_return name;
}

awaitable<Status> CallManager::send_dtmf(std::string call_id, std::string digits) {
  auto& im = *impl_;
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  ari::DtmfParams p;
  p.dtmf = digits;
  std::string channel_id = (*c)->rec->channel_id;
  auto r = co_await im.ari.send_dtmf(channel_id, p);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
  co_return ok_status();
}

awaitable<Outcome<TransferResult>> CallManager::transfer(std::string call_id, TransferRequest req) {
  auto& im = *impl_;
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (!(*c)->answered) co_return Error(ErrorCode::wrong_state, "Call is not answered yet");
  OriginateRequest o;
  o.endpoint = req.endpoint;
  o.caller_id = req.caller_id;
  o.timeout_s = req.timeout_s;
  auto leg = co_await originate(o);
  if (!leg) co_return leg.error();
  std::string new_id = leg->id;
  auto deadline = Clock::now() + std::chrono::seconds(req.timeout_s);

  auto hangup_leg = [&im](std::string id) -> awaitable<void> {
    auto it = im.calls.find(id);
    if (it == im.calls.end()) co_return;
    it->second->hangup_requested = true;
    std::string ch = it->second->rec->channel_id;
    co_await im.ari.hangup(ch, "normal");
  };

  // Wait until the new leg is in Stasis (answered), ends, or time runs out.
  for (;;) {
    auto nl = im.calls.find(new_id);
    if (nl == im.calls.end()) {
      auto ended = im.ended_by_id.find(new_id);
      std::string cause = ended != im.ended_by_id.end() ? ended->second->hangup_cause : "failed";
      if (cause == "no_answer")
        co_return Error(ErrorCode::transfer_timeout, "Transfer target did not answer in time");
      co_return Error(ErrorCode::wrong_state, "Transfer target did not answer (" + cause + ")");
    }
    if (!im.calls.count(call_id)) {
      co_await hangup_leg(new_id);
      co_return Error(ErrorCode::wrong_state, "Call ended during the transfer");
    }
    if (nl->second->in_stasis && nl->second->answered) break;
    auto sig = std::make_shared<Signal>(im.ex);
    nl->second->watchers.push_back(sig);
    if (!co_await sig->wait(deadline)) {
      co_await hangup_leg(new_id);
      co_return Error(ErrorCode::transfer_timeout, "Transfer target did not answer in time");
    }
  }

  std::string bridge_name = "transfer-" + call_id;
  auto bridge = co_await create_bridge(bridge_name);
  if (!bridge) {
    co_await hangup_leg(new_id);
    co_return bridge.error();
  }
  std::string bridge_id = bridge->id;
  auto a = im.calls.find(call_id);
  auto b = im.calls.find(new_id);
  Status added = (a == im.calls.end() || b == im.calls.end())
                     ? Status(Error(ErrorCode::wrong_state, "A leg ended during the transfer"))
                     : ok_status();
  if (added) {
    std::vector<std::string> legs{a->second->rec->channel_id, b->second->rec->channel_id};
    auto r = co_await im.ari.add_channels(bridge_id, legs);
    if (!r.ok()) added = from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  }
  if (!added) {
    co_await destroy_bridge(bridge_id);
    co_await hangup_leg(new_id);
    co_return added.error();
  }
  log::info("call {} transferred to {} (new call {}) in bridge {}", call_id, req.endpoint, new_id,
            bridge_id);
  co_return TransferResult{bridge_id, new_id};
}

awaitable<Outcome<BridgeRecord>> CallManager::create_bridge(std::string name) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  std::string id = uuid_v4();
  auto r = co_await im.ari.create_bridge("mixing", id, name);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  // Asterisk sends BridgeDestroyed only to apps subscribed to the bridge.
  std::string source = "bridge:" + id;
  auto sub = co_await im.ari.subscribe(im.opts.app, source);
  if (!sub.ok()) log::warn("subscribing to {} failed: {}", source, sub.error.message);
  BridgeRecord rec;
  rec.id = id;
  rec.name = name;
  rec.type = r->bridge_type.empty() ? "mixing" : r->bridge_type;
  rec.channel_ids = r->channels;
  rec.created_at_ms = now_epoch_ms();
  im.bridges[id] = rec;
  auto ev = im.make_event(EventKind::bridge_created, nullptr);
  ev.bridge_id = id;
  ev.bridge_name = name;
  ev.bridge_type = rec.type;
  im.emit(std::move(ev));
  co_return rec;
}

awaitable<Outcome<BridgeListing>> CallManager::list_bridges() {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.list_bridges();
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  BridgeListing out;
  out.asterisk = std::move(*r);
  for (auto& [_, b] : im.bridges) out.tracked.push_back(b);
  std::sort(out.tracked.begin(), out.tracked.end(),
            [](const BridgeRecord& a, const BridgeRecord& b) {
              return a.created_at_ms < b.created_at_ms;
            });
  co_return out;
}

awaitable<Outcome<BridgeDetail>> CallManager::get_bridge(std::string id) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.get_bridge(id);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  BridgeDetail d;
  d.asterisk = std::move(*r);
  if (auto it = im.bridges.find(id); it != im.bridges.end()) d.tracked = it->second;
  co_return d;
}

awaitable<Status> CallManager::destroy_bridge(std::string id) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.destroy_bridge(id);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  im.bridge_gone(id);
  co_return ok_status();
}

awaitable<Status> CallManager::add_to_bridge(std::string bridge_id, std::string call_id) {
  auto& im = *impl_;
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  std::vector<std::string> legs{(*c)->rec->channel_id};
  auto r = co_await im.ari.add_channels(bridge_id, legs);
  if (!r.ok()) {
    if (r.error.kind == ari::AriError::Kind::http &&
        (r.error.status == 422 || r.error.status == 400))
      co_return Error(ErrorCode::wrong_state, "Call cannot join the bridge: " + r.error.message);
    co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  }
  co_return ok_status();
}

awaitable<Status> CallManager::remove_from_bridge(std::string bridge_id, std::string call_id) {
  auto& im = *impl_;
  auto c = im.active_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  std::vector<std::string> legs{(*c)->rec->channel_id};
  auto r = co_await im.ari.remove_channels(bridge_id, legs);
  if (!r.ok()) {
    if (r.error.kind == ari::AriError::Kind::http &&
        (r.error.status == 422 || r.error.status == 400))
      co_return Error(ErrorCode::wrong_state, "Call is not in this bridge");
    co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  }
  co_return ok_status();
}

awaitable<Outcome<std::vector<ari::StoredRecording>>> CallManager::list_recordings() {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.list_stored_recordings();
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  co_return std::move(*r);
}

awaitable<Outcome<ari::StoredRecording>> CallManager::get_recording(std::string name) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.get_stored_recording(name);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  co_return std::move(*r);
}

awaitable<Outcome<std::string>> CallManager::download_recording(std::string name,
                                                                std::string file_path) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.download_stored_recording(name, file_path);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  co_return std::move(*r);
}

awaitable<Outcome<ari::StoredRecording>> CallManager::copy_recording(std::string name,
                                                                     std::string dest) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.copy_stored_recording(name, dest);
  if (!r.ok()) {
    if (r.error.kind == ari::AriError::Kind::http && r.error.status == 409)
      co_return Error(ErrorCode::recording_exists, "A recording named " + dest + " already exists");
    co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  }
  co_return std::move(*r);
}

awaitable<Status> CallManager::delete_recording(std::string name) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.delete_stored_recording(name);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Recording");
  co_return ok_status();
}

awaitable<Status> CallManager::stop_recording(std::string name) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.stop_live_recording(name);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::recording_not_found, "Live recording");
  co_return ok_status();
}

awaitable<Outcome<std::vector<ari::Endpoint>>> CallManager::list_endpoints() {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.list_endpoints();
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::endpoint_not_found, "Endpoint");
  co_return std::move(*r);
}

}  // namespace aa::calls
