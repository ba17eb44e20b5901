#pragma once
// The simulator's control API under /_sim/ (no authentication: the simulator
// binds to loopback by default; do not expose it). It plays the far end of
// calls and injects faults. Errors are {"message": "..."} JSON.
#include <functional>

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
  ControlApi(Engine& engine, FaultHooks hooks) : engine_(engine), hooks_(std::move(hooks)) {}
  /// Handle one request whose path starts with /_sim/.
  net::Response handle(const net::Request& req);

 private:
  Engine& engine_;
  FaultHooks hooks_;
};

}  // namespace aa::sim
