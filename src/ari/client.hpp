#pragma once
/// The ARI client the domain depends on: one transport-agnostic interface
/// (`AriApi`), implemented over HTTP by `RestClient` (rest_client.hpp), and an
/// events socket with reconnect (`EventStream`, events.hpp). Knows nothing of
/// our own HTTP API.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ari/models.hpp"
#include "common/asio.hpp"

namespace aa::ari {

/// Why an ARI request failed.
struct AriError {
  enum class Kind {
    none,
    http,          // Asterisk answered with a non-2xx status (see status/message)
    unavailable,   // could not connect / connection dropped
    timeout,       // no answer within the request timeout
    bad_response,  // 2xx but the body was not what the model needs
  };
  Kind kind = Kind::none;
  int status = 0;       // HTTP status when kind == http
  std::string message;  // Asterisk's {"message"} or {"error"} text, or a transport reason
};

/// Value-or-error. The domain returns these; exceptions stop at the edge.
template <typename T>
struct Result {
  std::optional<T> value;
  AriError error;
  bool ok() const { return error.kind == AriError::Kind::none; }
  T& operator*() { return *value; }
  const T& operator*() const { return *value; }
  T* operator->() { return &*value; }
  const T* operator->() const { return &*value; }
  static Result fail(AriError e) {
    Result r;
    r.error = std::move(e);
    return r;
  }
};
struct Unit {};
using Status = Result<Unit>;

struct OriginateParams {
  std::string endpoint;          // required: PJSIP/1001, Local/100@ctx, PJSIP/555@trunk
  std::string app;               // Stasis app (when no extension)
  std::string app_args;          // comma-separated
  std::string channel_id;        // our id, created before the request
  std::string other_channel_id;  // Local channels' ;2 half
  std::string caller_id;         // "Name" <number>
  std::optional<int> timeout;    // seconds
  std::vector<std::pair<std::string, std::string>> variables;  // sent as JSON body
  std::string extension, context;
  std::optional<int64_t> priority;
  std::string originator;
  std::string formats;
};

struct PlayParams {
  std::vector<std::string> media;  // one or more media URIs
  std::string playback_id;         // our id, created before the request
  std::string lang;
  std::optional<int> offsetms;
  std::optional<int> skipms;
};

struct RecordParams {
  std::string name;    // required
  std::string format;  // required: wav, gsm, ulaw, alaw, sln, sln16...
  std::optional<int> max_duration_seconds;
  std::optional<int> max_silence_seconds;
  std::string if_exists;  // fail (default), overwrite, append
  std::optional<bool> beep;
  std::string terminate_on;  // none, any, *, #
};

struct DtmfParams {
  std::string dtmf;
  std::optional<int> before, between, duration, after;  // ms
};

struct SnoopParams {
  std::string app;
  std::string spy;      // none, both, out, in
  std::string whisper;  // none, both, out, in
  std::string app_args;
  std::string snoop_id;
};

struct ExternalMediaParams {
  std::string app;
  std::string external_host;  // host:port
  std::string format;         // e.g. ulaw, slin16
  std::string channel_id;
  std::string encapsulation;  // rtp, audiosocket, none
  std::string transport;      // udp, tcp, websocket
  std::string connection_type;
  std::string direction;
  std::vector<std::pair<std::string, std::string>> variables;
};

class AriApi {
 public:
  virtual ~AriApi() = default;

  // --- channels ---
  virtual awaitable<Result<Channel>> originate(const OriginateParams& p) = 0;
  virtual awaitable<Result<Channel>> get_channel(std::string_view id) = 0;
  virtual awaitable<Result<std::vector<Channel>>> list_channels() = 0;
  /// DELETE /channels/{id}?reason=... (reason: normal, busy, congestion, no_answer, ...; "" = none)
  virtual awaitable<Status> hangup(std::string_view id, std::string_view reason = {}) = 0;
  virtual awaitable<Status> answer(std::string_view id) = 0;
  virtual awaitable<Status> ring(std::string_view id) = 0;
  virtual awaitable<Result<Playback>> play(std::string_view channel_id, const PlayParams& p) = 0;
  virtual awaitable<Result<LiveRecording>> record(std::string_view channel_id,
                                                  const RecordParams& p) = 0;
  virtual awaitable<Status> send_dtmf(std::string_view channel_id, const DtmfParams& p) = 0;
  /// POST /channels/{id}/continue
  virtual awaitable<Status> continue_in_dialplan(std::string_view id, std::string_view context,
                                                 std::string_view extension,
                                                 std::optional<int64_t> priority) = 0;
  /// POST /channels/{id}/redirect?endpoint=
  virtual awaitable<Status> redirect(std::string_view id, std::string_view endpoint) = 0;
  virtual awaitable<Result<Channel>> snoop(std::string_view channel_id, const SnoopParams& p) = 0;
  virtual awaitable<Result<Channel>> external_media(const ExternalMediaParams& p) = 0;
  virtual awaitable<Result<std::string>> get_variable(std::string_view channel_id,
                                                      std::string_view name) = 0;
  virtual awaitable<Status> set_variable(std::string_view channel_id, std::string_view name,
                                         std::string_view value) = 0;

  // --- bridges ---
  virtual awaitable<Result<Bridge>> create_bridge(std::string_view type, std::string_view id,
                                                  std::string_view name) = 0;
  virtual awaitable<Result<Bridge>> get_bridge(std::string_view id) = 0;
  virtual awaitable<Result<std::vector<Bridge>>> list_bridges() = 0;
  virtual awaitable<Status> destroy_bridge(std::string_view id) = 0;
  virtual awaitable<Status> add_channels(std::string_view bridge_id,
                                         const std::vector<std::string>& channel_ids) = 0;
  virtual awaitable<Status> remove_channels(std::string_view bridge_id,
                                            const std::vector<std::string>& channel_ids) = 0;
  virtual awaitable<Result<Playback>> play_bridge(std::string_view bridge_id,
                                                  const PlayParams& p) = 0;
  virtual awaitable<Result<LiveRecording>> record_bridge(std::string_view bridge_id,
                                                         const RecordParams& p) = 0;

  // --- playbacks ---
  virtual awaitable<Result<Playback>> get_playback(std::string_view id) = 0;
  virtual awaitable<Status> stop_playback(std::string_view id) = 0;
  /// operation: restart, pause, unpause, reverse, forward
  virtual awaitable<Status> control_playback(std::string_view id, std::string_view operation) = 0;

  // --- recordings ---
  virtual awaitable<Result<LiveRecording>> get_live_recording(std::string_view name) = 0;
  /// POST /recordings/live/{name}/stop (keeps the file)
  virtual awaitable<Status> stop_live_recording(std::string_view name) = 0;
  /// DELETE /recordings/live/{name} (discards it)
  virtual awaitable<Status> cancel_live_recording(std::string_view name) = 0;
  virtual awaitable<Result<std::vector<StoredRecording>>> list_stored_recordings() = 0;
  virtual awaitable<Result<StoredRecording>> get_stored_recording(std::string_view name) = 0;
  /// Stream GET /recordings/stored/{name}/file into `file_path`; returns its Content-Type.
  virtual awaitable<Result<std::string>> download_stored_recording(
      std::string_view name, const std::string& file_path) = 0;
  virtual awaitable<Result<StoredRecording>> copy_stored_recording(
      std::string_view name, std::string_view destination) = 0;
  virtual awaitable<Status> delete_stored_recording(std::string_view name) = 0;

  // --- endpoints ---
  virtual awaitable<Result<std::vector<Endpoint>>> list_endpoints() = 0;
  virtual awaitable<Result<std::vector<Endpoint>>> list_endpoints_by_tech(
      std::string_view tech) = 0;
  virtual awaitable<Result<Endpoint>> get_endpoint(std::string_view tech,
                                                   std::string_view resource) = 0;

  // --- applications / asterisk ---
  /// eventSource: channel:<id>, bridge:<id>, endpoint:<tech>/<res>, deviceState:<name>
  virtual awaitable<Status> subscribe(std::string_view app, std::string_view event_source) = 0;
  virtual awaitable<Status> unsubscribe(std::string_view app, std::string_view event_source) = 0;
  virtual awaitable<Result<AsteriskInfo>> asterisk_info() = 0;
};

}  // namespace aa::ari
