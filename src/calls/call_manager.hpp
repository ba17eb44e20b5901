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

struct CallManagerOptions {
  std::string app = "openclaw-voice";  // Stasis application
  size_t ended_calls_kept = 1000;      // recently ended calls readable by id
  std::chrono::seconds ended_call_ttl{600};
  std::chrono::seconds play_wait_limit{600};  // POST /play with wait: longest hold
  std::chrono::seconds media_ttl{600};        // uploaded WAVs
  std::string media_base_url;  // how Asterisk reaches our /media (e.g. http://10.0.0.5:3456)
  bool answer_inbound = true;
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
struct PlayResult {
  std::vector<std::string> playback_ids;
  bool finished = false;  // true when every item ended (wait mode)
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

  // ---- queries ----
  std::vector<CallRecord> active_calls() const;
  /// Active or recently ended call.
  Outcome<CallRecord> get_call(std::string_view id) const;
  size_t active_count() const;

  // ---- call operations ----
  awaitable<Outcome<CallRecord>> originate(OriginateRequest req);
  awaitable<Status> hangup(std::string call_id, std::string reason);
  awaitable<Outcome<PlayResult>> play(std::string call_id, PlayRequest req);
  /// Upload a WAV and play it through our /media URL. Returns the sound name.
  awaitable<Outcome<std::string>> play_file(std::string call_id, std::string wav_bytes,
                                            std::string filename);
  awaitable<Outcome<std::string>> record(std::string call_id, RecordRequest req);
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
