#pragma once
// The ARI simulator as a server: net::HttpServer + Engine + RestApi + ControlApi
// on one port. `Simulator` runs on a caller-provided io_context; `SimThread`
// runs one on its own thread (tests, and the service's embedded mode).
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/asio.hpp"
#include "net/http_server.hpp"
#include "sim/control_api.hpp"
#include "sim/engine.hpp"
#include "sim/rest_api.hpp"

namespace aa::sim {

struct SimulatorOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port
  Credentials credentials;
  EngineOptions engine;
  /// Makes the far end's TTS engine (POST /_sim/channels/{id}/say {"text"}) for
  /// the simulator's executor, where its callbacks must run; used when
  /// engine.tts is not set.
  std::function<std::shared_ptr<speech::TtsEngine>(asio::any_io_executor)> make_tts;
};

class Simulator {
 public:
  Simulator(asio::io_context& io, SimulatorOptions opts);
  ~Simulator();
  Simulator(const Simulator&) = delete;
  Simulator& operator=(const Simulator&) = delete;

  /// Bind and start serving. Returns the bound port. Throws if it cannot bind.
  uint16_t start();
  uint16_t port() const { return port_; }
  /// "http://<host>:<port>" (the ARI base is this + "/ari").
  std::string base_url() const;
  Engine& engine() { return engine_; }
  /// Close every socket and stop serving (call on the io thread).
  void stop();

  // Faults (also reachable through POST /_sim/faults).
  void drop_event_sockets();
  void refuse_connections(int64_t ms);
  void restart();
  void set_response_delay(int64_t ms) { response_delay_ms_ = ms < 0 ? 0 : ms; }

 private:
  enum class Phase { up, shutting_down, down, booting };
  void make_server();
  awaitable<net::Response> serve(net::Request& req);
  void after_real(std::chrono::milliseconds d, std::function<void()> fn);

  asio::io_context& io_;
  SimulatorOptions opts_;
  Engine engine_;
  RestApi rest_;
  ControlApi control_;
  std::unique_ptr<net::HttpServer> server_;
  std::vector<std::unique_ptr<net::HttpServer>> retired_;  // keep old connections alive
  uint16_t port_ = 0;
  Phase phase_ = Phase::up;
  int64_t response_delay_ms_ = 0;
  uint64_t fault_generation_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

/// A Simulator on its own io_context thread. Thread-safe start/stop.
class SimThread {
 public:
  explicit SimThread(SimulatorOptions opts = {});
  ~SimThread();
  SimThread(const SimThread&) = delete;
  SimThread& operator=(const SimThread&) = delete;

  uint16_t port() const { return port_; }
  std::string base_url() const;
  /// Run `fn` on the simulator's thread and wait until it returned.
  void run(const std::function<void(Simulator&)>& fn);
  /// Stop the server and join the thread (idempotent).
  void stop();

 private:
  asio::io_context io_;
  std::unique_ptr<Simulator> sim_;
  std::thread thread_;
  uint16_t port_ = 0;
  std::string host_;
  std::atomic<bool> stopped_{false};
};

}  // namespace aa::sim
