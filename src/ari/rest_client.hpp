#pragma once
/// `AriApi` over ARI's REST interface (Asterisk 22): one keep-alive connection
/// pool to Asterisk's HTTP server, basic auth, http or https. Every operation
/// maps to exactly one request as documented in ari-api-docs; non-2xx answers
/// become AriError::http with Asterisk's {"message"} / {"error"} text.
/// Not thread-safe: use it from the executor it was created with.
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "ari/client.hpp"
#include "common/asio.hpp"
#include "common/util.hpp"

namespace aa::net {
class HttpClient;
}

namespace aa::ari {

struct RestClientOptions {
  /// Asterisk's HTTP server, e.g. http://127.0.0.1:8088. "/ari" is appended to
  /// its path unless the path already ends with "/ari".
  std::string base_url = "http://127.0.0.1:8088";
  std::string username;
  std::string password;
  /// No answer within this time → AriError::timeout.
  std::chrono::milliseconds request_timeout{10'000};
  std::chrono::milliseconds connect_timeout{3'000};
  size_t max_idle_connections = 16;
  bool verify_tls = true;
};

/// Called once per operation when it completes: the operation's name (e.g.
/// "originate", "get_channel"), the HTTP status (0 when there was no answer)
/// and the time it took.
using RequestObserver =
    std::function<void(std::string_view op, int status, std::chrono::microseconds elapsed)>;

class RestClient final : public AriApi {
 public:
  /// Throws std::invalid_argument when `base_url` is not an http(s) URL.
  RestClient(asio::any_io_executor ex, std::string_view base_url, std::string username,
             std::string password,
             std::chrono::milliseconds request_timeout = std::chrono::seconds(10));
  RestClient(asio::any_io_executor ex, RestClientOptions opts);
  ~RestClient() override;
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  void set_observer(RequestObserver observer);
  void set_request_timeout(std::chrono::milliseconds t);
  /// Drop pooled keep-alive connections (e.g. after Asterisk restarted).
  void close_idle();
  /// The URL requests go to, including the "/ari" prefix.
  const Url& base() const;

  // --- channels ---
  awaitable<Result<Channel>> originate(const OriginateParams& p) override;
  awaitable<Result<Channel>> get_channel(std::string_view id) override;
  awaitable<Result<std::vector<Channel>>> list_channels() override;
  awaitable<Status> hangup(std::string_view id, std::string_view reason = {}) override;
  awaitable<Status> answer(std::string_view id) override;
  awaitable<Status> ring(std::string_view id) override;
  awaitable<Result<Playback>> play(std::string_view channel_id, const PlayParams& p) override;
  awaitable<Result<LiveRecording>> record(std::string_view channel_id,
                                          const RecordParams& p) override;
  awaitable<Status> send_dtmf(std::string_view channel_id, const DtmfParams& p) override;
  awaitable<Status> continue_in_dialplan(std::string_view id, std::string_view context,
                                         std::string_view extension,
                                         std::optional<int64_t> priority) override;
  awaitable<Status> redirect(std::string_view id, std::string_view endpoint) override;
  awaitable<Result<Channel>> snoop(std::string_view channel_id, const SnoopParams& p) override;
  awaitable<Result<Channel>> external_media(const ExternalMediaParams& p) override;
  awaitable<Result<std::string>> get_variable(std::string_view channel_id,
                                              std::string_view name) override;
  awaitable<Status> set_variable(std::string_view channel_id, std::string_view name,
                                 std::string_view value) override;

  // --- bridges ---
  awaitable<Result<Bridge>> create_bridge(std::string_view type, std::string_view id,
                                          std::string_view name) override;
  awaitable<Result<Bridge>> get_bridge(std::string_view id) override;
  awaitable<Result<std::vector<Bridge>>> list_bridges() override;
  awaitable<Status> destroy_bridge(std::string_view id) override;
  awaitable<Status> add_channels(std::string_view bridge_id,
                                 const std::vector<std::string>& channel_ids) override;
  awaitable<Status> remove_channels(std::string_view bridge_id,
                                    const std::vector<std::string>& channel_ids) override;
  awaitable<Result<Playback>> play_bridge(std::string_view bridge_id, const PlayParams& p) override;
  awaitable<Result<LiveRecording>> record_bridge(std::string_view bridge_id,
                                                 const RecordParams& p) override;

  // --- playbacks ---
  awaitable<Result<Playback>> get_playback(std::string_view id) override;
  awaitable<Status> stop_playback(std::string_view id) override;
  awaitable<Status> control_playback(std::string_view id, std::string_view operation) override;

  // --- recordings ---
  awaitable<Result<LiveRecording>> get_live_recording(std::string_view name) override;
  awaitable<Status> stop_live_recording(std::string_view name) override;
  awaitable<Status> cancel_live_recording(std::string_view name) override;
  awaitable<Result<std::vector<StoredRecording>>> list_stored_recordings() override;
  awaitable<Result<StoredRecording>> get_stored_recording(std::string_view name) override;
  awaitable<Result<std::string>> download_stored_recording(std::string_view name,
                                                           const std::string& file_path) override;
  awaitable<Result<StoredRecording>> copy_stored_recording(std::string_view name,
                                                           std::string_view destination) override;
  awaitable<Status> delete_stored_recording(std::string_view name) override;

  // --- endpoints ---
  awaitable<Result<std::vector<Endpoint>>> list_endpoints() override;
  awaitable<Result<std::vector<Endpoint>>> list_endpoints_by_tech(std::string_view tech) override;
  awaitable<Result<Endpoint>> get_endpoint(std::string_view tech,
                                           std::string_view resource) override;

  // --- applications / asterisk ---
  awaitable<Status> subscribe(std::string_view app, std::string_view event_source) override;
  awaitable<Status> unsubscribe(std::string_view app, std::string_view event_source) override;
  awaitable<Result<AsteriskInfo>> asterisk_info() override;

  /// One raw request below /ari (for operations not modelled yet). The body of a
  /// 2xx answer is returned as is; errors are mapped like every other call.
  awaitable<Result<std::string>> raw_request(std::string_view op, std::string_view method,
                                             std::string target, std::string json_body = {});

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/// The AriError for an HTTP answer (for reuse by other transports and tests):
/// message from {"message"} or {"error"}, else the body if it is short plain
/// text, else the status' reason phrase.
AriError error_from_response(int status, std::string_view content_type, std::string_view body);
/// A readable one-liner, e.g. "http 404: Channel not found" or "timeout: ...".
std::string describe(const AriError& e);

}  // namespace aa::ari
