#pragma once
/// Internal to src/calls: the state behind `CallManager`, shared by the files
/// that implement it by responsibility —
///   call_manager.cpp  the call state machine, events out, queries, originate/hangup
///   ari_events.cpp    ARI events in (Stasis entry/exit, channel state, DTMF, media events)
///   media_ops.cpp     play, play_file, record, DTMF
///   transfer.cpp      the transfer flow
///   bridges.cpp       bridges we create, and bridge membership
///   recordings.cpp    stored recordings and endpoints (pass-through with error mapping)
///   reconcile.cpp     what changed while the events socket was down; adoption of
///                     channels in our app that we do not track
///   caller_id.cpp     caller ID text → name and number
/// Nothing outside src/calls includes this header.
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "calls/call_manager.hpp"
#include "calls/caller_id.hpp"

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
/// Stasis(<app>[,args...]) in the channel's dialplan location: the channel is
/// in application `app`. Fills `args` (split at ',') when given.
bool in_stasis_app(const ari::Channel& ch, std::string_view app, std::vector<std::string>* args);
/// "PJSIP/1001-0000002a" → "PJSIP/1001", "Local/100@ctx-00000001;1" → "Local/100@ctx":
/// the endpoint an adopted outbound channel was dialed on.
std::string endpoint_of_channel_name(std::string_view name);
bool valid_hangup_reason(std::string_view r);
bool valid_media_uri(std::string_view m);

}  // namespace aa::calls::detail

namespace aa::calls {

struct CallManager::Impl {
  using Signal = detail::Signal;
  using Clock = detail::Clock;

  struct Call {
    std::shared_ptr<CallRecord> rec;
    uint64_t order = 0;  // creation order (reconcile skips calls younger than its listing)
    bool in_stasis = false;
    bool answered = false;
    bool ringing = false;
    bool speaking = false;                          // set_speaking (voice module)
    std::string voice_bridge;                       // the voice module's private bridge
    bool hangup_requested = false;                  // by us
    bool hangup_seen = false;                       // any ChannelHangupRequest: ending
    bool asterisk_shutdown = false;                 // soft ChannelHangupRequest cause 4
    std::string hangup_reason;                      // what we asked for
    std::string dialstatus;                         // last failure dialstatus
    int far_end_cause = -1;                         // from a non-soft ChannelHangupRequest
    std::vector<std::string> playbacks;             // active playback ids
    std::vector<std::string> recordings;            // active recording names
    std::vector<std::shared_ptr<Signal>> watchers;  // woken on every change
  };
  /// One playlist item as its waiting operation sees it.
  struct PlaybackTrack {
    explicit PlaybackTrack(asio::any_io_executor e) : done(std::move(e)) {}
    PlaybackItem item;
    Signal done;  // fired when the item reaches a final status
  };
  struct PlaybackInfo {
    std::string call_id;
    std::string media_token;  // MediaStore entry to drop when done
    std::shared_ptr<PlaybackTrack> track;
  };
  /// Asterisk's first word on a recording: started, or failed.
  struct RecordingTrack {
    explicit RecordingTrack(asio::any_io_executor e) : verdict(std::move(e)) {}
    enum class State { pending, started, failed, ended } state = State::pending;
    std::string cause;
    Signal verdict;
  };
  struct RecordingInfo {
    std::string call_id;
    std::string format;
    std::shared_ptr<RecordingTrack> track;
  };
  /// The two legs of a transfer live and die together (see transfer.cpp).
  struct TransferLink {
    std::string caller_id;  // the call that was transferred
    std::string target_id;  // the leg we dialed
    std::string bridge_id;  // set once the bridge exists
    bool bridged = false;   // both legs were added to the bridge
  };

  asio::any_io_executor ex;
  ari::AriApi& ari;
  EventSink& sink;
  media::MediaStore& media;
  CallManagerOptions opts;
  bool connected = false;
  bool ever_connected = false;
  uint64_t seq = 0;
  uint64_t call_order = 0;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);

  // Events go out in seq order to the sink, then to subscribers; an event raised
  // while one is being delivered waits in the outbox.
  std::vector<EventSink*> subscribers;
  std::deque<DomainEvent> outbox;
  bool emitting = false;

  std::function<bool(const ari::Channel&)> internal_filter;
  UntrackedStats untracked;
  const Allowlist* allowlist = nullptr;
  uint64_t blocked_inbound = 0, blocked_outbound = 0;
  std::unordered_set<std::string> adopting;                 // channel ids being adopted
  std::unordered_set<std::string> vanished_while_adopting;  // ended before adoption finished
  std::unordered_map<std::string, std::vector<std::shared_ptr<TransferLink>>> transfer_links;

  std::unordered_map<std::string, std::shared_ptr<Call>> calls;  // active, by call id
  std::unordered_map<std::string, std::string> call_by_channel;  // channel id → call id
  std::unordered_map<std::string, PlaybackInfo> playbacks;
  std::unordered_map<std::string, RecordingInfo> recordings;
  std::unordered_map<std::string, BridgeRecord> bridges;  // tracked (created by us)
  std::unordered_set<std::string> destroyed_bridges;      // bridge.destroyed already sent
  std::deque<std::shared_ptr<const CallRecord>> ended;    // oldest first
  std::unordered_map<std::string, std::shared_ptr<const CallRecord>> ended_by_id;
  std::unordered_set<std::string> ended_channels;  // channel ids of `ended` (never adopted)
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
  /// A new tracked call (`id` empty: a fresh uuid).
  std::shared_ptr<Call> add_call(Direction dir, std::string channel_id, CallerId caller,
                                 std::string callee, std::string id = {});
  /// Fire-and-forget ARI requests; failures are logged.
  void spawn_hangup(const std::shared_ptr<Call>& c);
  void spawn_destroy_bridge(std::string bridge_id);
  void spawn_set_call_id(std::string channel_id, std::string call_id);
  awaitable<void> hangup_task(std::string channel_id, std::weak_ptr<bool> alive_w,
                              std::string reason = "normal");
  static awaitable<void> nothing() { co_return; }
  awaitable<void> destroy_bridge_task(std::string bridge_id, std::weak_ptr<bool> alive_w);
  awaitable<void> set_call_id_task(std::string channel_id, std::string call_id,
                                   std::weak_ptr<bool> alive_w);

  // ---- ARI events in (ari_events.cpp) ----
  void on_event(const ari::Event& e);
  void on_stasis_start(const ari::Event& e);
  /// A call for a channel in our app (`args`: its Stasis args; "dialed" first:
  /// an outbound leg we created). State from the channel's state; no events.
  std::shared_ptr<Call> track_in_stasis(const ari::Channel& ch,
                                        const std::vector<std::string>& args, std::string id);
  /// Events of a call that appeared (call.created, and call.ready for an
  /// outbound leg in Stasis); a ringing inbound call is answered.
  void announce(const std::shared_ptr<Call>& c);
  awaitable<void> answer_inbound(std::string channel_id, std::weak_ptr<bool> alive_w);
  void on_playback(const ari::Event& e);
  void on_recording(const ari::Event& e);

  // ---- media operations (media_ops.cpp) ----
  /// Play `items` (media URI, MediaStore token or "") in order on the call.
  awaitable<Outcome<PlayResult>> play_items(std::string call_id,
                                            std::vector<std::pair<std::string, std::string>> items,
                                            bool wait);

  // ---- transfer (transfer.cpp) ----
  std::shared_ptr<TransferLink> link_transfer(const std::string& caller_id,
                                              const std::string& target_id);
  void unlink_transfer(const std::shared_ptr<TransferLink>& link);
  /// `c` ended: the other leg of each of its transfers (and their bridge) goes too.
  void end_transfer_links(const Call& c);
  /// A transfer bridge was destroyed: its legs are no longer tied.
  void dissolve_transfer_links_of_bridge(const std::string& bridge_id);

  // ---- bridges (bridges.cpp) ----
  void on_bridge_membership(const ari::Event& e);
  void bridge_gone(const std::string& id);

  // ---- reconnect and adoption (reconcile.cpp) ----
  awaitable<void> reconcile(std::weak_ptr<bool> alive_w);
  bool is_internal(const ari::Channel& ch) const;
  /// Internal, and the filter says a live module owns it.
  bool claimed_internal(const ari::Channel& ch) const;
  /// A channel in our app that we do not track: adopt it or hang it up (policy).
  void take_untracked(const ari::Channel& ch, std::vector<std::string> args);
  awaitable<void> adopt(ari::Channel ch, std::vector<std::string> args,
                        std::weak_ptr<bool> alive_w);
  void hang_up_untracked(const ari::Channel& ch, std::string_view why);
};

}  // namespace aa::calls
