#pragma once
// The simulator's control API under /_sim/ (no authentication: the simulator
// binds to loopback by default; do not expose it). It plays the far end of
// calls and injects faults. Errors are {"message": "..."} JSON.
#include <functional>
#include <memory>

#include "net/http_types.hpp"
#include "sim/engine.hpp"

namespace aa::sim {

/// Faults that need the HTTP server, implemented by the Simulator.
struct FaultHooks {
  std::function<void()> drop_event_sockets;
  std::function<void(int64_t ms)> refuse_connections;
  std::function<void()> restart;
  std::function<void(int64_t ms)> set_response_delay;
};

class ControlApi {
 public:
  ControlApi(Engine& engine, FaultHooks hooks);
  ~ControlApi();
  ControlApi(const ControlApi&) = delete;
  ControlApi& operator=(const ControlApi&) = delete;
  /// Handle one request whose path starts with /_sim/.
  net::Response handle(const net::Request& req);

  /// Paced DTMF emitter for benchmarks (POST /_sim/bench/dtmf, GET /_sim/bench[/emitted]).
  struct BenchEmitter;

 private:
  net::Response bench_start(const json::Value& body);
  net::Response bench_emitted(bool with_times) const;

  Engine& engine_;
  FaultHooks hooks_;
  std::shared_ptr<BenchEmitter> bench_;
};

}  // namespace aa::sim
