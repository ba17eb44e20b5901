// Cost of the simulator's media plane: N two-way media sessions, each a SIP
// caller (inbound, answered) bridged with a chan_websocket channel whose app
// sends 1 s of audio every second (ahead of real time, in 640-byte frames) and
// receives the caller's 50 frames a second. The simulator runs as its own
// process (the ari-sim binary next to this one, or ARI_SIM=path), so its CPU
// time (/proc/<pid>/stat) is the media plane's cost alone.
//
//   sim_media_bench [sessions=100] [seconds=10]
//
// Prints the simulator's CPU use (% of one core), the tick work it reports
// (GET /_sim/media busyUs), its worst timer lateness, and frames per second
// both ways; the last line is JSON.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/asio.hpp"
#include "common/json.hpp"
#include "common/util.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"

using namespace aa;

namespace {

double cpu_seconds(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = s.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(s.substr(close + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

struct Session {
  std::shared_ptr<net::WsConnection> ws;
  uint64_t frames_in = 0;
};

}  // namespace

int main(int argc, char** argv) {
  const int sessions = argc > 1 ? std::atoi(argv[1]) : 100;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 10;
  std::string sim_path = std::getenv("ARI_SIM") ? std::getenv("ARI_SIM") : "";
  if (sim_path.empty())
    sim_path = (std::filesystem::path(argv[0]).parent_path() / "ari-sim").string();

  // Start ari-sim on a free port and read the port from its first line.
  int out[2];
  if (pipe(out) != 0) return 1;
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(out[1], 1);
    close(out[0]);
    execl(sim_path.c_str(), sim_path.c_str(), "--port", "0", "--log-level", "warn", nullptr);
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char c;
  while (read(out[0], &c, 1) == 1 && c != '\n') line += c;
  const auto colon = line.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "cannot start %s\n", sim_path.c_str());
    return 1;
  }
  const std::string base =
      "http://127.0.0.1:" + std::to_string(std::atoi(line.c_str() + colon + 1));

  asio::io_context io;
  std::vector<Session> all(static_cast<size_t>(sessions));
  bool done = false;
  json::Document stats_before, stats_after;
  double cpu_before = 0, cpu_after = 0;
  auto body = [&]() -> awaitable<void> {
    auto url = parse_url(base);
    const std::vector<net::Header> auth = {
        {"Authorization", "Basic " + base64_encode("asterisk_ari:asterisk_ari_pass")}};
    net::ClientOptions co;
    auto call = [&](std::string method, std::string target, std::string b,
                    bool ari) -> awaitable<net::ClientResponse> {
      const std::string u = base + (ari ? "/ari" : "/_sim") + target;
      const std::string ct = b.empty() ? "" : "application/json";
      const std::vector<net::Header> h = ari ? auth : std::vector<net::Header>{};
      net::ClientResponse r = co_await net::http_fetch(method, u, std::move(b), ct, h, co);
      co_return r;
    };
    // The app's events socket (Stasis needs one).
    net::WsClientOptions eo;
    eo.basic_auth = "asterisk_ari:asterisk_ari_pass";
    const std::string et = "/ari/events?app=openclaw-voice";
    auto events = co_await net::ws_connect(*url, et, eo);
    if (!events.connection) {
      std::fprintf(stderr, "events socket: %s\n", events.error.c_str());
      co_return;
    }
    events.connection->on_message = [](std::string_view) {};
    for (int i = 0; i < sessions; ++i) {
      auto r =
          co_await call("POST", "/inbound",
                        R"({"from":"555)" + std::to_string(1000 + i) + R"(","to":"1001"})", false);
      auto d = json::parse(r.body);
      const std::string caller(json::get_string(*d, "channelId"));
      co_await call("POST", "/channels/" + caller + "/answer", "", true);
      const std::string em = "bench-em-" + std::to_string(i);
      r = co_await call("POST",
                        "/channels/externalMedia?app=openclaw-voice&transport=websocket&"
                        "encapsulation=none&connection_type=server&format=slin16&channelId=" +
                            em,
                        "", true);
      d = json::parse(r.body);
      const std::string conn(
          json::get_string(*json::find(*d, "channelvars"), "MEDIA_WEBSOCKET_CONNECTION_ID"));
      net::WsClientOptions mo;
      mo.headers.push_back({"Sec-WebSocket-Protocol", "media"});
      const std::string mt = "/media/" + conn;
      auto m = co_await net::ws_connect(*url, mt, mo);
      if (!m.connection) {
        std::fprintf(stderr, "media socket %d: %s\n", i, m.error.c_str());
        co_return;
      }
      Session& s = all[static_cast<size_t>(i)];
      s.ws = m.connection;
      s.ws->on_message = [](std::string_view) {};
      s.ws->on_binary = [&s](std::string_view) { ++s.frames_in; };
      co_await sleep_for(std::chrono::milliseconds(5));  // StasisStart
      co_await call("POST", "/bridges?type=mixing&bridgeId=bench-br-" + std::to_string(i), "",
                    true);
      co_await call(
          "POST",
          "/bridges/bench-br-" + std::to_string(i) + "/addChannel?channel=" + caller + "," + em, "",
          true);
    }
    // A second of tone, as the app would send an utterance.
    std::string second;
    for (int i = 0; i < 16000; ++i) {
      const auto v = static_cast<uint16_t>(static_cast<int16_t>(8000 * ((i / 18) % 2 ? 1 : -1)));
      second.push_back(static_cast<char>(v & 0xFF));
      second.push_back(static_cast<char>(v >> 8));
    }
    co_await sleep_for(std::chrono::seconds(1));
    auto r = co_await call("GET", "/media", "", false);
    stats_before = std::move(*json::parse(r.body));
    cpu_before = cpu_seconds(pid);
    uint64_t in_before = 0;
    for (const auto& s : all) in_before += s.frames_in;
    for (int sec = 0; sec < seconds; ++sec) {
      for (auto& s : all)
        for (int k = 0; k < 5; ++k)
          s.ws->send_binary(std::string_view(second).substr(k * 6400, 6400));
      co_await sleep_for(std::chrono::seconds(1));
    }
    cpu_after = cpu_seconds(pid);
    r = co_await call("GET", "/media", "", false);
    stats_after = std::move(*json::parse(r.body));
    uint64_t in_after = 0;
    for (const auto& s : all) in_after += s.frames_in;
    const double cpu = (cpu_after - cpu_before) / seconds * 100.0;
    const double busy_ms = static_cast<double>(json::get_int(stats_after, "busyUs") -
                                               json::get_int(stats_before, "busyUs")) /
                           1000.0 / seconds;
    const double to_apps = static_cast<double>(json::get_int(stats_after, "framesToApps") -
                                               json::get_int(stats_before, "framesToApps")) /
                           seconds;
    const double frames_in = static_cast<double>(in_after - in_before) / seconds;
    std::printf(
        "sessions %d, %d s: ari-sim CPU %.1f%% of one core; tick work %.1f ms/s; "
        "max timer lateness %lld us; frames to apps %.0f/s (received %.0f/s); "
        "from apps %.0f messages/s\n",
        sessions, seconds, cpu, busy_ms,
        static_cast<long long>(json::get_int(stats_after, "maxLateUs")), to_apps, frames_in,
        static_cast<double>(json::get_int(stats_after, "messagesFromApps") -
                            json::get_int(stats_before, "messagesFromApps")) /
            seconds);
    std::printf(
        R"({"bench":"sim_media","sessions":%d,"seconds":%d,"cpu_percent":%.1f,"tick_ms_per_s":%.2f,"frames_to_apps_per_s":%.0f})"
        "\n",
        sessions, seconds, cpu, busy_ms, to_apps);
    for (auto& s : all)
      if (s.ws) s.ws->close(1000);
    events.connection->close(1000);
    co_await sleep_for(std::chrono::milliseconds(200));
    done = true;
  };
  asio::co_spawn(io, body(), asio::detached);
  while (!done && io.run_one_for(std::chrono::seconds(120))) {
  }
  kill(pid, SIGTERM);
  waitpid(pid, nullptr, 0);
  return done ? 0 : 1;
}
