#pragma once
// What the in-process benchmarks share: CPU clocks, a polling wait, and a
// client of the service under test (HTTP calls, simulated inbound calls that
// are answered and ready, /events tallied once per message as it arrives).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "app/service.hpp"
#include "calls/call_manager.hpp"
#include "common/asio.hpp"  // first: Boost 1.74
#include "common/json.hpp"
#include "common/util.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"

namespace aa::bench {

using Clock = std::chrono::steady_clock;
inline constexpr std::string_view kJson = "application/json";

inline double cpu_s(int who) {
  rusage u{};
  getrusage(who, &u);
  return u.ru_utime.tv_sec + u.ru_stime.tv_sec + (u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}
inline double process_cpu_s() {
  return cpu_s(RUSAGE_SELF);
}
/// CPU of the calling thread: the service's io thread in these benchmarks.
inline double thread_cpu_s() {
  return cpu_s(RUSAGE_THREAD);
}

template <class Pred>
awaitable<bool> until(Pred p, int ms) {
  const auto end = Clock::now() + std::chrono::milliseconds(ms);
  while (!p()) {
    if (Clock::now() > end) co_return false;
    co_await sleep_for(std::chrono::milliseconds(2));
  }
  co_return true;
}

struct Client {
  std::string base, sim;
  std::shared_ptr<net::WsConnection> ws;
  // Tallied as events arrive, each parsed once: the polls read these instead
  // of re-parsing the stream on the io thread being measured.
  std::map<std::string, size_t, std::less<>> tally;       // "type callId" (finals only)
  std::map<std::string, std::string, std::less<>> ready;  // channelId → callId of call.ready

  void on_event(std::string_view m) {
    auto d = json::parse(m);
    if (!d) return;
    const std::string_view type = json::get_string(*d, "type");
    const std::string_view call_id = json::get_string(*d, "callId");
    if (type == "call.ready") ready[std::string(json::get_string(*d, "channelId"))] = call_id;
    if (type != "call.transcription" || json::get_bool(*d, "is_final"))
      ++tally[std::string(type) + " " + std::string(call_id)];
  }

  awaitable<net::ClientResponse> call(std::string method, std::string url, std::string body) {
    auto r = co_await net::http_fetch(method, url, std::move(body), kJson);
    co_return r;
  }
  /// A simulated caller rings in: {callId, channelId} once the call is ready.
  awaitable<std::pair<std::string, std::string>> inbound(std::string from) {
    const std::string body = R"({"from":")" + from + R"(","to":"1001"})";
    auto in = co_await call("POST", sim + "/_sim/inbound", body);
    std::string channel;
    if (auto d = json::parse(in.body)) channel = std::string(json::get_string(*d, "channelId"));
    co_await until([&] { return ready.count(channel) > 0; }, 10000);
    auto it = ready.find(channel);
    co_return std::make_pair(it == ready.end() ? std::string() : it->second, channel);
  }
  /// Events of `type` for `call_id` so far (call.transcription: finals only).
  size_t count(std::string_view type, std::string_view call_id) const {
    auto it = tally.find(std::string(type) + " " + std::string(call_id));
    return it == tally.end() ? 0 : it->second;
  }
};

/// Runs `body` against a fresh in-process service (its io thread is this one)
/// and its embedded simulator, with a Client connected to /events.
inline void with_service(app::Config cfg,
                         std::function<awaitable<void>(app::Service&, Client&)> body,
                         const char* bench_name) {
  asio::io_context io;
  app::Service svc(io, std::move(cfg));
  Client c;
  c.base = "http://127.0.0.1:" + std::to_string(svc.start());
  c.sim = svc.simulator_url();
  auto task = [&]() -> awaitable<void> {
    co_await until([&] { return svc.calls().ari_connected(); }, 5000);
    const Url url = *parse_url(c.base);
    auto r = co_await net::ws_connect(url, "/events");
    c.ws = r.connection;
    if (c.ws) c.ws->on_message = [&c](std::string_view m) { c.on_event(m); };
    co_await body(svc, c);
    if (c.ws) c.ws->close(1000);
    co_await svc.shutdown();
  };
  bool done = false;
  asio::co_spawn(io, task(), [&](std::exception_ptr) {
    done = true;
    io.stop();
  });
  io.run();
  if (!done) std::fprintf(stderr, "%s: a part did not finish\n", bench_name);
}

}  // namespace aa::bench
