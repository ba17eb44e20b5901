#pragma once
/// Wires the whole service on one io_context: ARI client + events socket →
/// CallManager → sinks (WebSocket fan-out, webhooks) and the HTTP API. With no
/// ARI_URL it first starts the embedded simulator on loopback. Used by main()
/// and by the integration tests (real sockets, in-process).
#include <memory>
#include <string>

#include "app/config.hpp"
#include "common/asio.hpp"

namespace aa {
class WorkerPool;
}
namespace aa::speech {
class TtsEngine;
class AsrEngine;
}  // namespace aa::speech
namespace aa::voice {
class VoiceManager;
}
namespace aa::stream {
class StreamManager;
}
namespace aa::ari {
class RestClient;
class EventStream;
}  // namespace aa::ari
namespace aa::calls {
class CallManager;
class AllowlistFile;
}  // namespace aa::calls
namespace aa::media {
class MediaStore;
}
namespace aa::sinks {
class EventHub;
class WebhookSender;
class FanOut;
}  // namespace aa::sinks
namespace aa::net {
class HttpServer;
}
namespace aa::store {
class EventStore;
class DurableLog;
}  // namespace aa::store
namespace aa::http {
class Api;
}
namespace aa::metrics {
class ServiceMetrics;
}
namespace aa::sim {
class SimThread;
}

namespace aa::app {

class Service {
 public:
  Service(asio::io_context& io, Config cfg);
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  /// Start everything; returns the API port. Throws if a port cannot be bound.
  uint16_t start();
  /// Graceful stop: no new connections, /events clients get 1001, in-flight
  /// requests finish (up to the grace period), then ARI and the simulator stop.
  awaitable<void> shutdown();

  uint16_t port() const { return port_; }
  const Config& config() const { return cfg_; }
  /// The embedded simulator's base URL ("" when connected to a real Asterisk).
  std::string simulator_url() const;

  calls::CallManager& calls() { return *calls_; }
  sinks::EventHub& hub() { return *hub_; }
  sinks::WebhookSender& webhooks() { return *webhooks_; }
  ari::RestClient& ari() { return *ari_; }
  ari::EventStream& events() { return *events_; }
  net::HttpServer& server() { return *server_; }
  http::Api& api() { return *api_; }
  voice::VoiceManager& voice() { return *voice_; }
  stream::StreamManager& streams() { return *streams_; }
  /// The event store (null: DATA_DIR=off).
  store::EventStore* store() { return store_.get(); }
  /// The `GET /metrics` text as it would be scraped now.
  std::string metrics_text() const;

 private:
  asio::io_context& io_;
  Config cfg_;
  uint16_t port_ = 0;
  std::unique_ptr<sim::SimThread> sim_;
  // Destroyed last: everything below may still queue writes to it.
  std::unique_ptr<store::EventStore> store_;
  // Declared early so it outlives everything that reports to it.
  std::unique_ptr<metrics::ServiceMetrics> metrics_;
  std::unique_ptr<net::HttpServer> server_;
  std::unique_ptr<ari::RestClient> ari_;
  std::unique_ptr<ari::EventStream> events_;
  std::unique_ptr<media::MediaStore> media_;
  std::unique_ptr<sinks::EventHub> hub_;
  std::unique_ptr<sinks::WebhookSender> webhooks_;
  std::unique_ptr<sinks::FanOut> fan_out_;
  std::unique_ptr<store::DurableLog> durable_;
  std::unique_ptr<calls::CallManager> calls_;
  std::unique_ptr<http::Api> api_;
  // Voice: speech engines on a worker pool, the allowlist, the media sessions.
  std::unique_ptr<WorkerPool> pool_;
  std::shared_ptr<speech::TtsEngine> tts_;
  std::shared_ptr<speech::AsrEngine> asr_;
  std::unique_ptr<calls::AllowlistFile> allowlist_;
  std::unique_ptr<voice::VoiceManager> voice_;
  std::unique_ptr<stream::StreamManager> streams_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  void start_speech();
  void open_store();
  void probe_media_support();
};

}  // namespace aa::app
