#pragma once
/// The calls domain: owns every CallRecord and BridgeRecord, drives them from
/// ARI events, and carries out the operations of our API through `ari::AriApi`.
/// Single-threaded: every method runs on the io thread that delivers ARI events.
/// Knows nothing of HTTP or JSON text.
#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ari/client.hpp"
#include "calls/model.hpp"
#include "common/asio.hpp"
#include "common/error.hpp"

namespace aa::media {
class MediaStore;
}

namespace aa::calls {

/// What to do with a channel that is in our Stasis application but not tracked
/// (found at start-up or after an events-socket outage): `UNTRACKED_CHANNELS`.
enum class UntrackedPolicy { adopt, hangup };

/// The channel variable that carries our call id, so that a call keeps its id
/// across a service restart (set in the originate's `variables`, or right after
/// an inbound StasisStart; read back when the channel is adopted).
inline constexpr std::string_view kCallIdVariable = "AA_CALL_ID";
/// Channels whose id starts with this are the service's own media channels
/// (voice module): never calls, never adopted.
inline constexpr std::string_view kInternalChannelPrefix = "aa-media-";
/// Bridges whose id starts with this are the voice module's private bridges
/// (call + its media channel): never a call's `bridgeId`, never `bridged`.
inline constexpr std::string_view kVoiceBridgePrefix = "aa-voice-";

struct CallManagerOptions {
  std::string app = "openclaw-voice";  // Stasis application
  /// The first event's seq is seq_after + 1: the event store's last seq, so
  /// seq keeps increasing across restarts.
  uint64_t seq_after = 0;
  size_t ended_calls_kept = 1000;  // recently ended calls readable by id
  std::chrono::seconds ended_call_ttl{600};
  std::chrono::seconds play_wait_limit{600};  // POST /play with wait: longest hold
  std::chrono::seconds media_ttl{600};        // uploaded WAVs
  std::string media_base_url;  // how Asterisk reaches our /media (e.g. http://10.0.0.5:3456)
  bool answer_inbound = true;
  UntrackedPolicy untracked = UntrackedPolicy::adopt;
  /// How long POST /record waits for RecordingStarted or RecordingFailed before
  /// answering 201 anyway (a recording queued behind a playback starts later).
  std::chrono::milliseconds record_start_wait{2000};
  /// How long an endpoint that Asterisk listed is trusted to exist, so that an
  /// originate costs one ARI request, not two. (If it vanished meanwhile,
  /// Asterisk answers "Allocation failed", which is a 404 all the same.)
  std::chrono::seconds endpoint_cache_ttl{60};
};

struct OriginateRequest {
  std::string endpoint;
  std::string caller_id;
  int timeout_s = 30;
  std::vector<std::pair<std::string, std::string>> variables;
};

struct PlayRequest {
  std::vector<std::string> media;
  bool wait = true;
};

/// What became of a play operation (HTTP: 200, 422, 409, 202).
enum class PlayOutcome {
  done,        // every item played to its end
  failed,      // an item failed (and the call is still up)
  call_ended,  // the call ended (or is ending) before every item was played
  pending,     // not waited for (wait:false), or the wait limit passed
};

struct PlayResult {
  std::vector<std::string> playback_ids;
  std::vector<PlaybackItem> items;  // in playlist order
  PlayOutcome outcome = PlayOutcome::pending;
  bool finished = false;  // every item reached a final status
};
struct PlayFileResult {
  std::string sound_name;
  PlayResult play;
};

/// A recording that was asked for: `started` when Asterisk reported
/// RecordingStarted within `record_start_wait`, else it is still queued.
struct RecordResult {
  std::string name;
  bool started = false;
};

struct RecordRequest {
  std::string name;  // empty: call-<callId>-<epochms>
  std::string format = "wav";
  int max_duration_s = 300;
  bool beep = false;
};

struct TransferRequest {
  std::string endpoint;
  std::string caller_id;
  int timeout_s = 30;
};
struct TransferResult {
  std::string bridge_id;
  std::string new_call_id;
};

struct BridgeListing {
  std::vector<ari::Bridge> asterisk;  // as Asterisk reports them
  std::vector<BridgeRecord> tracked;
};
struct BridgeDetail {
  ari::Bridge asterisk;
  std::optional<BridgeRecord> tracked;
};

class Allowlist;

class CallManager {
 public:
  CallManager(asio::any_io_executor ex, ari::AriApi& ari, EventSink& sink, media::MediaStore& media,
              CallManagerOptions opts);
  ~CallManager();
  CallManager(const CallManager&) = delete;
  CallManager& operator=(const CallManager&) = delete;

  // ---- fed by the ARI event stream ----
  void on_ari_event(const ari::Event& e);
  /// The events socket went up or down. On (re)connect the manager re-reads
  /// channels and bridges and ends the calls that vanished meanwhile.
  void on_ari_connection(bool connected);
  bool ari_connected() const;

  // ---- hooks for other modules (the voice module) ----
  /// `sink` also receives every domain event, after the manager's own sink, with
  /// the same seq. `sink` must outlive the subscription (unsubscribe first).
  /// A subscriber may call back into the manager (publish, set_speaking, ...):
  /// events raised meanwhile are delivered after the current one, in seq order.
  void subscribe(EventSink& sink);
  void unsubscribe(EventSink& sink);
  /// Publish an event of another module through the same seq counter. Fills
  /// seq, timestamp_ms (when 0) and, when `e.call_id` names an active or
  /// recently ended call, `call` (a snapshot) and `state`. Returns the seq.
  /// Errors: call_not_found when `e.call_id` is set but unknown (not published).
  Outcome<uint64_t> publish(DomainEvent e);
  /// Channels for which `filter` is true are internal (the voice module's media
  /// channels): a StasisStart for one never creates a call, reconciliation never
  /// adopts it. Ids starting with kInternalChannelPrefix are internal anyway; such
  /// a channel that `filter` does not claim is an orphan of an earlier process and
  /// is hung up when found at (re)connect. Null: only the prefix.
  void set_internal_channel_filter(std::function<bool(const ari::Channel&)> filter);
  bool is_internal_channel(const ari::Channel& ch) const;
  /// The voice module is speaking to the call (TTS): its state shows `speaking`
  /// while nothing more telling happens (see CallState). Emits call.state_changed
  /// when the state changes. Errors: call_not_found, wrong_state (ended).
  Status set_speaking(std::string_view call_id, bool speaking);
  /// The call can take media operations now: active, answered and in Stasis.
  bool media_ready(std::string_view call_id) const;
  /// The bridge the call is in ("" none); the voice module's private bridge
  /// never counts.
  std::string bridge_of(std::string_view call_id) const;
  /// The capture the call record shows as `audioCapture` (nullopt: none runs).
  /// Errors: call_not_found.
  Status set_audio_capture(std::string_view call_id, std::optional<AudioCapture> capture);

  /// Channels found in our app but not tracked, since start: adopted as calls,
  /// or hung up (policy `hangup`, or an orphaned internal channel).
  struct UntrackedStats {
    uint64_t adopted = 0;
    uint64_t hung_up = 0;
    /// Passes of the channel listing finished (one per (re)connection), so a
    /// caller can tell that what existed at connect time has been dealt with.
    uint64_t passes = 0;
  };
  UntrackedStats untracked_stats() const;
  /// Numbers checked before an originate or transfer (403 allowlist_blocked
  /// with endpoint/extractedNumber/hint) and at an inbound StasisStart (hung up
  /// at once, call.blocked). Null: everyone allowed. Must outlive the manager.
  void set_allowlist(const Allowlist* allowlist);
  /// Inbound calls the allowlist refused, since start.
  uint64_t blocked_inbound() const;
  /// Originates and transfers the allowlist refused, since start.
  uint64_t blocked_outbound() const;

  // ---- queries ----
  std::vector<CallRecord> active_calls() const;
  /// Active or recently ended call.
  Outcome<CallRecord> get_call(std::string_view id) const;
  size_t active_count() const;

  // ---- call operations ----
  awaitable<Outcome<CallRecord>> originate(OriginateRequest req);
  awaitable<Status> hangup(std::string call_id, std::string reason);
  /// Queue every item; with `wait`, hold until each reaches a final status (or
  /// the call ends, or play_wait_limit passes). The outcome says which.
  awaitable<Outcome<PlayResult>> play(std::string call_id, PlayRequest req);
  /// Upload a WAV and play it through our /media URL, waiting like play().
  awaitable<Outcome<PlayFileResult>> play_file(std::string call_id, std::string wav_bytes,
                                               std::string filename, bool wait);
  /// Start a recording and wait up to record_start_wait for Asterisk's verdict:
  /// RecordingFailed → recording_failed (422), the call ended → wrong_state.
  awaitable<Outcome<RecordResult>> record(std::string call_id, RecordRequest req);
  awaitable<Status> send_dtmf(std::string call_id, std::string digits);
  awaitable<Outcome<TransferResult>> transfer(std::string call_id, TransferRequest req);

  // ---- bridges ----
  awaitable<Outcome<BridgeRecord>> create_bridge(std::string name);
  awaitable<Outcome<BridgeListing>> list_bridges();
  awaitable<Outcome<BridgeDetail>> get_bridge(std::string id);
  awaitable<Status> destroy_bridge(std::string id);
  awaitable<Status> add_to_bridge(std::string bridge_id, std::string call_id);
  awaitable<Status> remove_from_bridge(std::string bridge_id, std::string call_id);

  // ---- recordings and endpoints (pass-through with error mapping) ----
  awaitable<Outcome<std::vector<ari::StoredRecording>>> list_recordings();
  awaitable<Outcome<ari::StoredRecording>> get_recording(std::string name);
  /// Downloads into `file_path`; returns the Content-Type.
  awaitable<Outcome<std::string>> download_recording(std::string name, std::string file_path);
  awaitable<Outcome<ari::StoredRecording>> copy_recording(std::string name, std::string dest);
  awaitable<Status> delete_recording(std::string name);
  awaitable<Status> stop_recording(std::string name);
  awaitable<Outcome<std::vector<ari::Endpoint>>> list_endpoints();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

/// Maps an ARI failure to our error (503 unavailable, 504 timeout, 502 other),
/// with `not_found` used for a 404 from Asterisk.
Error from_ari(const ari::AriError& e, ErrorCode not_found, std::string_view what);

}  // namespace aa::calls
