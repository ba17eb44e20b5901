// Benchmark 8 — the durable store (issue 12): what storing every event before
// it is published costs, measured against the same service without a store in
// the same run. In-process service + embedded simulator; the simulator's bench
// emitter (POST /_sim/bench/dtmf) sends DTMF from 20 calls.
//   latency:    emission at the simulator → the call.dtmf message at an /events
//               client, p50/p99, at a steady rate: store on vs off (added p99).
//   throughput: rising rates (2 s each) until the client no longer gets every
//               event within 2 s of its emission: the highest rate held, and the
//               io + writer CPU per event; store on / store off (target >= 0.9).
//   replay:     100,000 stored events to one client that reconnects with since.
//   size:       the store's bytes per call (a call = ring, answer, 10 digits, hang up),
//               the database file after a full checkpoint.
// Usage: store_bench [rate=2000] [count=20000] [burst=100000] [calls=200]
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include "bench_support.hpp"
#include "common/log.hpp"
#include "sinks/event_hub.hpp"
#include "store/event_store.hpp"

using namespace aa;
using namespace aa::bench;

namespace {

int64_t wall_us() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

double pct(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  return static_cast<double>(v[i]) / 1000.0;
}

struct Run {
  double p50_ms = 0, p99_ms = 0, max_ms = 0;  // latency at the steady rate
  double burst_eps = 0;                       // the highest rate held (events/s)
  double cpu_us_per_event = 0;                // process CPU per event at 5,000/s
  double replay_eps = 0;                      // replay of `burst` events
  double bytes_per_call = 0;
  uint64_t replayed = 0;
};

app::Config config(const std::string& data_dir) {
  app::Config c;
  c.api_host = "127.0.0.1";
  c.api_port = 0;
  c.sim_port = 0;
  c.log_level = "error";
  c.asr_auto_start = "off";
  c.speech.tts_engine = "none";
  c.speech.asr_engine = "none";
  c.data_dir = data_dir;
  return c;
}

Run run(bool store, int rate, int count, int burst, int size_calls) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("aa-store-bench-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  Run out;
  with_service(
      config(store ? dir.string() : std::string{}),
      [&](app::Service& svc, Client& c) -> awaitable<void> {
        std::vector<int64_t> got;  // receipt times of call.dtmf, in order
        got.reserve(static_cast<size_t>(count + burst));
        uint64_t last_seq = 0;
        c.ws->on_message = [&](std::string_view m) {
          if (m.find("\"call.dtmf\"") != std::string_view::npos) got.push_back(wall_us());
          c.on_event(m);
        };
        std::vector<std::string> channels;
        for (int i = 0; i < 20; ++i) {
          auto [id, ch] = co_await c.inbound("5550" + std::to_string(100 + i));
          channels.push_back(ch);
        }
        auto emit = [&](double r, int n) -> awaitable<std::vector<int64_t>> {
          json::Writer w;
          w.begin_object().key("channels").begin_array();
          for (const auto& ch : channels) w.string(ch);
          w.end_array().key("rate").number(r).field_int("count", n).end_object();
          const size_t before = got.size();
          auto s = co_await c.call("POST", c.sim + "/_sim/bench/dtmf", w.str());
          if (s.status != 202) std::fprintf(stderr, "emitter: %d %s\n", s.status, s.body.c_str());
          co_await until(
              [&] { return got.size() >= before + static_cast<size_t>(n) || !c.ws->is_open(); },
              static_cast<int>(n / r * 1000) + 5000);
          auto e = co_await c.call("GET", c.sim + "/_sim/bench/emitted", "");
          std::vector<int64_t> times;
          if (auto d = json::parse(e.body))
            for (const auto& t : (*json::find(*d, "timesUs")).GetArray())
              times.push_back(t.GetInt64());
          co_return times;
        };
        if (store) {
          // Size per call: whole calls, from ring to hang-up.
          svc.store()->flush();
          svc.store()->checkpoint();
          const uint64_t before = svc.store()->size_bytes();
          for (int i = 0; i < size_calls; ++i) {
            auto [id, ch] = co_await c.inbound("5551" + std::to_string(1000 + i));
            co_await c.call("POST", c.sim + "/_sim/bench/dtmf",
                            R"({"channels":[")" + ch + R"("],"rate":100000,"count":10})");
            // (Only references in a predicate handed to a coroutine: g++ 12, docs/CODING.md.)
            const std::string call_id = id;
            co_await until([&] { return c.count("call.dtmf", call_id) >= 10; }, 5000);
            co_await c.call("POST", c.sim + "/_sim/channels/" + ch + "/hangup", "{}");
          }
          co_await until([&] { return svc.calls().active_count() <= 20; }, 30'000);
          co_await sleep_for(std::chrono::milliseconds(300));
          svc.store()->flush();
          svc.store()->checkpoint();
          out.bytes_per_call = static_cast<double>(svc.store()->size_bytes() - before) /
                               static_cast<double>(size_calls);
        }
        // Steady rate: latency.
        const size_t base1 = got.size();
        auto t1 = co_await emit(rate, count);
        std::vector<int64_t> lat;
        for (size_t k = 0; k < t1.size() && base1 + k < got.size(); ++k)
          if (t1[k] > 0) lat.push_back(got[base1 + k] - t1[k]);
        out.p50_ms = pct(lat, 0.50);
        out.p99_ms = pct(lat, 0.99);
        out.max_ms = pct(lat, 1.0);
        if (store) {
          {
            const auto st = svc.store()->stats();
            std::fprintf(stderr, "  store: %llu batches, mean commit %.3f ms, slowest %.3f ms\n",
                         static_cast<unsigned long long>(st.batches),
                         st.batches ? static_cast<double>(st.commit_us_total) / 1000.0 /
                                          static_cast<double>(st.batches)
                                    : 0.0,
                         st.max_commit_ms);
          }
          // The replay's 100,000 events, stored at a rate the machine holds.
          last_seq = svc.hub().last_seq();
          co_await emit(10000, burst);
          svc.store()->flush();
          // Replay: a client that was away for the whole burst.
          co_await sleep_for(std::chrono::milliseconds(500));
          size_t replayed = 0;
          const int64_t r0 = wall_us();
          int64_t r_end = r0;
          const Url url = *parse_url(c.base);
          std::string target = "/events?since=" + std::to_string(last_seq) + "&types=call.dtmf";
          auto rc = co_await net::ws_connect(url, std::move(target));
          if (rc.connection) {
            rc.connection->on_message = [&](std::string_view) {
              ++replayed;
              r_end = wall_us();
            };
            co_await until([&] { return replayed >= static_cast<size_t>(burst); }, 120'000);
            rc.connection->close(1000);
          }
          out.replayed = replayed;
          out.replay_eps = static_cast<double>(replayed) / (static_cast<double>(r_end - r0) / 1e6);
        }
        // Last: the rates rise until one is not held (which may also cut the
        // simulator's events socket).
        // Throughput: rising rates, 2 s each; held = every event within 2 s.
        for (int r : {5000, 10000, 20000, 40000, 80000}) {
          const size_t base = got.size();
          const double cpu0 = process_cpu_s();
          auto t = co_await emit(r, 2 * r);
          const double cpu = process_cpu_s() - cpu0;
          if (r == 5000) out.cpu_us_per_event = cpu * 1e6 / static_cast<double>(2 * r);
          bool held = t.size() == static_cast<size_t>(2 * r) && got.size() >= base + t.size();
          int64_t worst = 0;
          for (size_t k = 0; held && k < t.size(); ++k)
            worst = std::max(worst, got[base + k] - t[k]);
          held = held && worst < 2'000'000 && c.ws && c.ws->is_open();
          std::fprintf(stderr, "  store %s: %d events/s %s (worst %.1f ms)\n", store ? "on" : "off",
                       r, held ? "held" : "not held", static_cast<double>(worst) / 1000.0);
          if (!held) break;
          out.burst_eps = r;
        }
      },
      store ? "store_bench (store on)" : "store_bench (store off)");
  std::filesystem::remove_all(dir);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const int rate = argc > 1 ? std::atoi(argv[1]) : 2000;
  const int count = argc > 2 ? std::atoi(argv[2]) : 20000;
  const int burst = argc > 3 ? std::atoi(argv[3]) : 100000;
  const int size_calls = argc > 4 ? std::atoi(argv[4]) : 200;
  log::configure(std::getenv("BENCH_LOG") ? std::getenv("BENCH_LOG") : "error", "text");
  std::printf("[8] durable store: %d events at %d/s, a burst of %d, %d whole calls\n", count, rate,
              burst, size_calls);
  const Run off = run(false, rate, count, burst, size_calls);
  const Run on = run(true, rate, count, burst, size_calls);
  std::printf("  %-10s %10s %10s %10s %14s %14s\n", "store", "p50 ms", "p99 ms", "max ms",
              "held ev/s", "CPU us/event");
  for (const auto& [name, r] : {std::pair{"off", off}, std::pair{"on", on}})
    std::printf("  %-10s %10.3f %10.3f %10.3f %14.0f %14.1f\n", name, r.p50_ms, r.p99_ms, r.max_ms,
                r.burst_eps, r.cpu_us_per_event);
  const double ratio = off.burst_eps > 0 ? on.burst_eps / off.burst_eps : 0;
  std::printf("  throughput with / without the store: %.3f (target >= 0.9); CPU per event %.2fx\n",
              ratio, off.cpu_us_per_event > 0 ? on.cpu_us_per_event / off.cpu_us_per_event : 0);
  std::printf("  p99 added latency: %.3f ms (target <= 1 ms)\n", on.p99_ms - off.p99_ms);
  std::printf("  replay: %llu events in one client's reconnect, %.0f events/s\n",
              static_cast<unsigned long long>(on.replayed), on.replay_eps);
  std::printf("  store size per call (ring, answer, 10 digits, hang-up): %.0f bytes\n",
              on.bytes_per_call);
  std::printf(
      "{\"store\":{\"rate\":%d,\"count\":%d,\"burst\":%d,\"off_p50_ms\":%.3f,\"off_p99_ms\":%.3f,"
      "\"on_p50_ms\":%.3f,\"on_p99_ms\":%.3f,\"added_p99_ms\":%.3f,\"off_burst_eps\":%.0f,"
      "\"on_burst_eps\":%.0f,\"throughput_ratio\":%.3f,\"replayed\":%llu,\"replay_eps\":%.0f,"
      "\"bytes_per_call\":%.0f,\"off_cpu_us_per_event\":%.1f,\"on_cpu_us_per_event\":%.1f}}\n",
      rate, count, burst, off.p50_ms, off.p99_ms, on.p50_ms, on.p99_ms, on.p99_ms - off.p99_ms,
      off.burst_eps, on.burst_eps, ratio, static_cast<unsigned long long>(on.replayed),
      on.replay_eps, on.bytes_per_call, off.cpu_us_per_event, on.cpu_us_per_event);
  return 0;
}
