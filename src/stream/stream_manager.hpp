#pragma once
/// Agent streams of every call (at most one per call): the service dials the
/// agent (POST /calls/:id/stream, POST /calls `stream`, STREAM_URL for every
/// inbound call) or the agent dials the service (WebSocket upgrade on
/// /calls/:id/stream). Each stream is an AgentStream on the call's media
/// session (voice::VoiceManager::attach_media), beside speak and capture.
///
/// Events (through the calls domain, so /events and webhooks see one ordered
/// stream): call.stream_started {streamSid, url}, call.stream_stopped
/// {streamSid, reason}, call.stream_error {streamSid, error}.
/// Single-threaded: io thread.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

#include "calls/model.hpp"
#include "common/asio.hpp"
#include "common/error.hpp"
#include "net/http_types.hpp"
#include "stream/agent_stream.hpp"

namespace aa::calls {
class CallManager;
}
namespace aa::voice {
class VoiceManager;
}

namespace aa::stream {

struct StreamManagerOptions {
  StreamOptions stream;
  /// STREAM_URL: every inbound call streams here once answered ("" = off).
  std::optional<StreamRequest> inbound;
};

struct StreamStats {
  size_t active = 0;
  uint64_t started = 0, failed = 0;
  uint64_t frames_out = 0, frames_in = 0, late_frames = 0, clears = 0, marks = 0;
};

class StreamManager final : public calls::EventSink {
 public:
  StreamManager(asio::any_io_executor ex, calls::CallManager& calls, voice::VoiceManager& voice,
                StreamManagerOptions opts);
  ~StreamManager() override;
  StreamManager(const StreamManager&) = delete;
  StreamManager& operator=(const StreamManager&) = delete;

  /// The service dials `req.url` and starts the stream; returns its streamSid
  /// once the agent's socket is open and `start` is sent. Errors:
  /// call_not_found 404, wrong_state 409 (not answered, ended), stream_exists
  /// 409, voice_unavailable 501 (no chan_websocket), stream_connect_failed 502
  /// (refused, unreachable, TLS), stream_timeout 504, ari_* (media session).
  awaitable<Outcome<std::string>> start(std::string call_id, StreamRequest req);
  /// DELETE: `stop` to the agent, socket closed. Errors: call_not_found 404,
  /// stream_not_found 404 (no stream on this call).
  Outcome<std::string> stop(const std::string& call_id);
  /// POST /calls `stream`: start once the call is answered (at once if it is).
  void arm(const std::string& call_id, StreamRequest req);

  /// The agent dials the service: may `call_id` take a stream now? nullopt
  /// yes; else the error (404 no call, 409 not answered / already streaming).
  std::optional<Error> check_accept(const std::string& call_id) const;
  /// The upgrade completed: run the stream on `ws` (errors close it with 1011).
  void accept(std::shared_ptr<net::WsConnection> ws, std::string call_id, StreamRequest req);

  /// calls::EventSink: answered → armed/STREAM_URL streams; dtmf; ended.
  void publish(const calls::DomainEvent& e) override;

  /// Service shutdown: every stream gets `stop` and a close 1001 (going away).
  void stop_all(const std::string& reason);

  void set_mark_rtt_observer(std::function<void(std::chrono::microseconds)> fn);
  StreamStats stats() const;
  /// The stream of a call, if any (tests).
  std::shared_ptr<AgentStream> find(const std::string& call_id) const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace aa::stream
