// Agent streams (Twilio Media Streams) — what our hop costs, in one run:
//   1. added latency, both directions, slin16 (payloads are the frames
//      themselves, so each is matched exactly by its content):
//        caller frame read off Asterisk's socket → `media` message received by
//        the agent, and agent `media` sent → frame handed to Asterisk's socket;
//      against the baseline of a bare WebSocket message between the same two
//      threads over loopback (same library, same machine, same run);
//   2. streams per core: N calls, each streamed (μ-law 8 kHz, Twilio's
//      default) to an echo agent that sends every frame back; the service's
//      io thread CPU per stream, and late frames: service-side (a message
//      queued behind unwritten media), agent-side (a gap > 40 ms between two
//      inbound messages), and the simulator's 20 ms clock.
// The service runs in-process (its io thread is this one), the simulator on
// its own thread, the agents on a third: they share the machine's cores.
//
//   stream_bench [streams=200] [seconds=10] [latency_seconds=10]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "app/service.hpp"
#include "bench_support.hpp"
#include "calls/call_manager.hpp"
#include "common/asio.hpp"  // first: Boost 1.74
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "media/media_session.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/ws_client.hpp"
#include "stream/stream_manager.hpp"
#include "voice/voice_manager.hpp"

using namespace aa;
using namespace aa::bench;

namespace {

double us_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}
double pct(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * v.size()));
  return v[i];
}
uint64_t hash_bytes(std::string_view s) {
  return std::hash<std::string_view>{}(s);
}
bool silent(std::string_view frame) {
  return std::all_of(frame.begin(), frame.end(), [](char c) { return c == 0; });
}

/// Agent servers on their own thread. Mode latency: record each inbound
/// media payload's arrival by content, and send paced frames of its own.
/// Mode echo: send every inbound media payload back at once, and count gaps.
class Agents {
 public:
  enum class Mode { latency, echo };
  struct Stats {
    std::unordered_map<uint64_t, Clock::time_point> inbound;  // payload hash → arrival
    std::unordered_map<uint64_t, Clock::time_point> sent;     // our frame hash → sent
    std::vector<Clock::time_point> pings;                     // baseline arrivals
    uint64_t media_in = 0, gaps = 0, started = 0;
  };

  explicit Agents(Mode mode) : mode_(mode), server_(io_, options()) {
    server_.on_request([](net::Request&) -> awaitable<net::Response> {
      co_return net::Response::json(404, "{}");
    });
    server_.on_websocket([](const net::Request&) { return std::optional<net::Response>{}; },
                         [this](std::shared_ptr<net::WsConnection> c, const net::Request& req) {
                           open(std::move(c), req.path);
                         });
    port_ = server_.start();
    thread_ = std::thread([this] {
      auto guard = asio::make_work_guard(io_);
      io_.run();
    });
  }
  ~Agents() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      for (auto& p : peers_) p->ws->close(1000);
      server_.stop_accepting();
      io_.stop();
    });
    thread_.join();
  }
  std::string url(const char* path = "/agent") const {
    return "ws://127.0.0.1:" + std::to_string(port_) + path;
  }
  /// Read after stop().
  const Stats& stats() const { return st_; }

 private:
  struct Peer {
    std::shared_ptr<net::WsConnection> ws;
    std::string sid;
    Clock::time_point last_in{};
    std::unique_ptr<asio::steady_timer> pacer;
    uint32_t n = 0;
  };

  static net::ServerOptions options() {
    net::ServerOptions o;
    o.max_connections = 100'000;
    o.ws_max_queue = 100'000;
    return o;
  }

  void open(std::shared_ptr<net::WsConnection> c, const std::string& path) {
    auto p = std::make_shared<Peer>();
    p->ws = std::move(c);
    peers_.push_back(p);
    Peer* raw = p.get();
    if (path == "/ping") {
      p->ws->on_message = [this](std::string_view) { st_.pings.push_back(Clock::now()); };
      return;
    }
    p->ws->on_message = [this, raw](std::string_view m) { on_message(*raw, m); };
  }

  void on_message(Peer& p, std::string_view m) {
    const auto now = Clock::now();
    auto d = json::parse(m);
    if (!d) return;
    const std::string_view event = json::get_string(*d, "event");
    if (event == "start") {
      p.sid = std::string(json::get_string(*d, "streamSid"));
      ++st_.started;
      if (mode_ == Mode::latency) pace(p);
      return;
    }
    if (event != "media") return;
    const json::Value* media = json::find(*d, "media");
    if (!media) return;
    const std::string_view payload = json::get_string(*media, "payload");
    ++st_.media_in;
    if (p.last_in != Clock::time_point{} && now - p.last_in > std::chrono::milliseconds(40))
      ++st_.gaps;
    p.last_in = now;
    if (mode_ == Mode::echo) {
      p.ws->send(R"({"event":"media","streamSid":")" + p.sid + R"(","media":{"payload":")" +
                 std::string(payload) + "\"}}");
      return;
    }
    std::string bytes;
    if (base64_decode(payload, bytes) && !silent(bytes))
      st_.inbound.emplace(hash_bytes(bytes), now);
  }

  /// 20 ms frames of s16le 16 kHz noise (each unique), one per 20 ms.
  void pace(Peer& p) {
    p.pacer = std::make_unique<asio::steady_timer>(io_);
    auto next = Clock::now();
    auto* peer = &p;
    tick_ = [this, peer, next]() mutable {
      std::string frame(640, '\0');
      uint32_t x = 0x9e3779b9u * ++peer->n;
      for (size_t i = 0; i < frame.size(); i += 2) {
        x = x * 1664525u + 1013904223u;
        const int16_t v = static_cast<int16_t>((x >> 16) % 8000) - 4000;
        std::memcpy(&frame[i], &v, 2);
      }
      const std::string msg = R"({"event":"media","streamSid":")" + peer->sid +
                              R"(","media":{"payload":")" + base64_encode(frame) + "\"}}";
      st_.sent.emplace(hash_bytes(frame), Clock::now());
      peer->ws->send(msg);
      next += std::chrono::milliseconds(20);
      peer->pacer->expires_at(next);
      peer->pacer->async_wait([this](boost::system::error_code ec) {
        if (!ec) tick_();
      });
    };
    tick_();
  }

  Mode mode_;
  asio::io_context io_;
  net::HttpServer server_;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::shared_ptr<Peer>> peers_;
  std::function<void()> tick_;
  Stats st_;
};

app::Config config() {
  app::Config c;
  c.api_host = "127.0.0.1";
  c.api_port = 0;
  c.sim_port = 0;
  c.sim_time_scale = 1.0;
  c.log_level = "error";
  c.speech.tts_engine = "flite";
  c.speech.asr_engine = "none";
  c.asr_auto_start = "off";
  c.max_connections = 100'000;
  return c;
}

struct Results {
  double in_p50 = 0, in_p99 = 0, out_p50 = 0, out_p99 = 0, base_p50 = 0, base_p99 = 0;
  size_t in_n = 0, out_n = 0, base_n = 0;
  int streams = 0;
  double cpu_per_stream_pct = 0, streams_per_core = 0;
  uint64_t frames_out = 0, late_service = 0, agent_in = 0, agent_gaps = 0, frames_in = 0;
  int64_t sim_late = 0, sim_ticks = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const int streams = argc > 1 ? std::atoi(argv[1]) : 200;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  const int latency_seconds = argc > 3 ? std::atoi(argv[3]) : 10;
  log::configure("error", "text");
  Results res;

  // 1. Latency, slin16, one call.
  {
    Agents agents(Agents::Mode::latency);
    std::vector<std::pair<uint64_t, Clock::time_point>> frames_in, frames_out;
    std::vector<double> baseline;
    with_service(
        config(),
        [&](app::Service& svc, Client& c) -> awaitable<void> {
          auto [id, channel] = co_await c.inbound("5551234");
          if (id.empty()) co_return;
          // Our own tap on the call's media session: when each frame came off
          // Asterisk's socket, and when each frame went to it.
          voice::MediaTap tap;
          tap.on_audio = [&](std::span<const int16_t> pcm) {
            const std::string_view b(reinterpret_cast<const char*>(pcm.data()), pcm.size_bytes());
            if (!silent(b)) frames_in.emplace_back(hash_bytes(b), Clock::now());
          };
          auto session = co_await svc.voice().attach_media(id, "bench", std::move(tap));
          if (!session) co_return;
          (*session)->on_sent = [&](std::string_view pcm, Clock::time_point) {
            const auto now = Clock::now();
            for (size_t off = 0; off + 640 <= pcm.size(); off += 640)
              frames_out.emplace_back(hash_bytes(pcm.substr(off, 640)), now);
          };
          // The caller talks the whole time (unique frames), the agent sends its own.
          const std::string text =
              "The quick brown fox jumps over the lazy dog while the agent keeps talking back, "
              "and every twenty milliseconds of this sentence is a frame of its own.";
          co_await c.call("POST", c.base + "/calls/" + id + "/stream",
                          R"({"url":")" + agents.url() + R"(","format":"slin16"})");
          const auto end = Clock::now() + std::chrono::seconds(latency_seconds);
          while (Clock::now() < end) {
            co_await c.call("POST", c.sim + "/_sim/channels/" + channel + "/say",
                            R"({"text":")" + text + R"("})");
          }
          // Baseline: a bare WebSocket message from this thread to the agents' thread.
          const Url url = *parse_url(agents.url("/ping"));
          auto r = co_await net::ws_connect(url, "/ping");
          std::vector<Clock::time_point> sent;
          if (r.connection) {
            for (int i = 0; i < 1000; ++i) {
              sent.push_back(Clock::now());
              r.connection->send("{\"event\":\"ping\"}");
              co_await sleep_for(std::chrono::milliseconds(2));
            }
            co_await sleep_for(std::chrono::milliseconds(100));
            r.connection->close(1000);
          }
          agents.stop();
          const auto& st = agents.stats();
          for (size_t i = 0; i < std::min(sent.size(), st.pings.size()); ++i)
            baseline.push_back(us_between(sent[i], st.pings[i]));
          std::vector<double> in, out;
          for (const auto& [h, t] : frames_in)
            if (auto it = st.inbound.find(h); it != st.inbound.end())
              in.push_back(us_between(t, it->second));
          for (const auto& [h, t] : frames_out)
            if (auto it = st.sent.find(h); it != st.sent.end())
              out.push_back(us_between(it->second, t));
          res.in_n = in.size();
          res.out_n = out.size();
          res.base_n = baseline.size();
          res.in_p50 = pct(in, 50);
          res.in_p99 = pct(in, 99);
          res.out_p50 = pct(out, 50);
          res.out_p99 = pct(out, 99);
          res.base_p50 = pct(baseline, 50);
          res.base_p99 = pct(baseline, 99);
          svc.voice().detach_media(id, "bench");
          (*session)->on_sent = nullptr;
        },
        "stream_bench");
  }
  std::printf("== Agent streams: added latency of our hop (slin16, %d s, matched by content)\n",
              latency_seconds);
  std::printf("  %-44s %8s %8s %8s\n", "", "p50 ms", "p99 ms", "n");
  std::printf("  %-44s %8.3f %8.3f %8zu\n", "caller frame in -> media at the agent",
              res.in_p50 / 1000, res.in_p99 / 1000, res.in_n);
  std::printf("  %-44s %8.3f %8.3f %8zu\n", "agent media sent -> frame to Asterisk",
              res.out_p50 / 1000, res.out_p99 / 1000, res.out_n);
  std::printf("  %-44s %8.3f %8.3f %8zu\n", "baseline: one bare WebSocket message",
              res.base_p50 / 1000, res.base_p99 / 1000, res.base_n);
  if (res.base_p50 > 0)
    std::printf("  ratio to the bare hop (p50): in %.2fx, out %.2fx\n", res.in_p50 / res.base_p50,
                res.out_p50 / res.base_p50);

  // 2. Streams per core: N echo streams, μ-law 8 kHz.
  {
    Agents agents(Agents::Mode::echo);
    with_service(
        config(),
        [&](app::Service& svc, Client& c) -> awaitable<void> {
          int ok = 0;
          for (int i = 0; i < streams; ++i) {
            auto [id, channel] = co_await c.inbound(std::to_string(5550000 + i));
            if (id.empty()) continue;
            auto r = co_await c.call("POST", c.base + "/calls/" + id + "/stream",
                                     R"({"url":")" + agents.url() + R"("})");
            if (r.status == 201) ++ok;
          }
          res.streams = ok;
          co_await sleep_for(std::chrono::seconds(1));
          const auto s0 = svc.streams().stats();
          auto before = co_await c.call("GET", c.sim + "/_sim/media", "");
          const double cpu0 = thread_cpu_s();
          const auto t0 = Clock::now();
          co_await sleep_for(std::chrono::seconds(seconds));
          const double cpu = thread_cpu_s() - cpu0;
          const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
          const auto s1 = svc.streams().stats();
          auto after = co_await c.call("GET", c.sim + "/_sim/media", "");
          auto b = json::parse(before.body), a = json::parse(after.body);
          if (a && b) {
            res.sim_late = json::get_int(*a, "lateWakes") - json::get_int(*b, "lateWakes");
            res.sim_ticks = json::get_int(*a, "ticks") - json::get_int(*b, "ticks");
          }
          res.frames_out = s1.frames_out - s0.frames_out;
          res.frames_in = s1.frames_in - s0.frames_in;
          res.late_service = s1.late_frames - s0.late_frames;
          if (ok > 0 && wall > 0) {
            res.cpu_per_stream_pct = 100 * cpu / wall / ok;
            res.streams_per_core = res.cpu_per_stream_pct > 0 ? 100 / res.cpu_per_stream_pct : 0;
          }
          agents.stop();
          res.agent_in = agents.stats().media_in;
          res.agent_gaps = agents.stats().gaps;
        },
        "stream_bench");
  }
  const double late_pct =
      res.frames_out ? 100.0 * static_cast<double>(res.late_service) / res.frames_out : 0;
  const double gap_pct =
      res.agent_in ? 100.0 * static_cast<double>(res.agent_gaps) / res.agent_in : 0;
  std::printf("== Agent streams per core: %d echo streams (mulaw8k) for %d s\n", res.streams,
              seconds);
  std::printf(
      "  io thread %.3f %% of a core per stream -> %.0f streams per core\n"
      "  media to agents %llu, from agents %llu; late: %.3f %% queued behind unwritten media, "
      "%.3f %% arrived > 40 ms after the previous; simulator clock late %lld of %lld ticks\n",
      res.cpu_per_stream_pct, res.streams_per_core, static_cast<unsigned long long>(res.frames_out),
      static_cast<unsigned long long>(res.frames_in), late_pct, gap_pct,
      static_cast<long long>(res.sim_late), static_cast<long long>(res.sim_ticks));

  json::Writer w;
  w.begin_object().key("stream").begin_object();
  w.key("in_p50_ms").number(res.in_p50 / 1000).key("in_p99_ms").number(res.in_p99 / 1000);
  w.key("out_p50_ms").number(res.out_p50 / 1000).key("out_p99_ms").number(res.out_p99 / 1000);
  w.key("bare_ws_p50_ms")
      .number(res.base_p50 / 1000)
      .key("bare_ws_p99_ms")
      .number(res.base_p99 / 1000);
  w.field_int("latency_frames_in", static_cast<int64_t>(res.in_n));
  w.field_int("latency_frames_out", static_cast<int64_t>(res.out_n));
  w.field_int("streams", res.streams);
  w.key("io_cpu_per_stream_pct").number(res.cpu_per_stream_pct);
  w.key("streams_per_core").number(res.streams_per_core);
  w.key("late_frames_pct").number(late_pct);
  w.key("agent_gaps_pct").number(gap_pct);
  w.field_int("sim_late_ticks", res.sim_late).field_int("sim_ticks", res.sim_ticks);
  w.end_object().end_object();
  std::printf("%s\n", w.str().c_str());
  return 0;
}
