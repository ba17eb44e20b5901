#pragma once
/// Internal to src/calls: the state behind `CallManager`, shared by the files
/// that implement it by responsibility —
///   call_manager.cpp  the call state machine, events out, queries, originate/hangup
///   ari_events.cpp    ARI events in (Stasis entry/exit, channel state, DTMF, media events)
///   media_ops.cpp     play, play_file, record, DTMF
///   transfer.cpp      the transfer flow
///   bridges.cpp       bridges we create, and bridge membership
///   recordings.cpp    stored recordings and endpoints (pass-through with error mapping)
///   reconcile.cpp     what changed while the events socket was down
/// Nothing outside src/calls includes this header.
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "calls/call_manager.hpp"

namespace aa::calls::detail {

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
std::string cause_name(int code);
/// Dial's `dialstatus` → hangupCause ("" when it is not a failure).
std::string dialstatus_cause(std::string_view s);
bool is_failure_dialstatus(std::string_view s);
/// "Alice" <5551234> → 5551234; a bare number stays as it is.
std::string caller_number_of(std::string_view caller_id);
bool valid_hangup_reason(std::string_view r);
bool valid_media_uri(std::string_view m);

}  // namespace aa::calls::detail

namespace aa::calls {

struct CallManager::Impl {
  using Signal = detail::Signal;
  using Clock = detail::Clock;

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

  // ---- events out (call_manager.cpp) ----
  DomainEvent make_event(EventKind kind, const Call* c);
  void emit(DomainEvent e);

  // ---- lookups (call_manager.cpp) ----
  std::shared_ptr<Call> by_channel(const std::string& channel_id);
  Outcome<std::shared_ptr<Call>> active_call(const std::string& id);
  Outcome<std::shared_ptr<Call>> controllable_call(const std::string& id);
  Status require_ari();

  // ---- the state machine (call_manager.cpp) ----
  static CallState derive(const Call& c);
  void wake(Call& c);
  void update_state(Call& c);
  void mark_answered(Call& c);
  void end_call(const std::shared_ptr<Call>& cp, std::string cause);
  std::string cause_for(const Call& c, int destroyed_cause);
  void remember_ended(std::shared_ptr<CallRecord> rec);
  void prune_ended();
  std::shared_ptr<Call> add_call(Direction dir, std::string channel_id, std::string caller,
                                 std::string callee);

  // ---- ARI events in (ari_events.cpp) ----
  void on_event(const ari::Event& e);
  void on_stasis_start(const ari::Event& e);
  awaitable<void> answer_inbound(std::string channel_id, std::weak_ptr<bool> alive_w);
  void on_playback(const ari::Event& e);
  void on_recording(const ari::Event& e);

  // ---- bridges (bridges.cpp) ----
  void on_bridge_membership(const ari::Event& e);
  void bridge_gone(const std::string& id);

  // ---- reconnect (reconcile.cpp) ----
  awaitable<void> reconcile(std::weak_ptr<bool> alive_w);
};

}  // namespace aa::calls
