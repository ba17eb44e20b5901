// The voice loop's own costs, in one run, each against its baseline:
//   1. speak → first audio frame sent to Asterisk, minus the TTS engine's own
//      time to its first chunk for the same text (Flite, measured just before);
//   2. barge-in: POST speak/stop → the last sound the caller hears (the
//      simulator's heard log, on its media clock);
//   3. the caller's end of speech → the final transcription (embedded
//      PocketSphinx, grammar mode and language model);
//   4. media sessions per core: N calls each with a two-way media session and
//      capture on (no ASR), the service's io thread CPU per session, and how
//      late the simulator's 20 ms clock ran;
//   5. sessions with embedded ASR: K callers talking all the time, each
//      transcribed by its own PocketSphinx decoder (language model), against
//      the same run with ASR off: the process CPU the decoders add per session,
//      hence sessions per core, and whether every utterance still came back.
// The service runs in-process as app::Service wires it, against its embedded
// simulator at real time. Prints a table per part; the last line is JSON.
//
//   voice_bench [rounds=10] [sessions=50] [seconds=5] [asr_sessions=4]
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/executor_work_guard.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <numeric>
#include <string>
#include <vector>

#include "app/service.hpp"
#include "bench_support.hpp"
#include "calls/call_manager.hpp"
#include "common/asio.hpp"  // first: Boost 1.74
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "common/worker_pool.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"
#include "speech/flite_tts.hpp"
#include "voice/voice_manager.hpp"

using namespace aa;
using namespace aa::bench;

namespace {

const std::string kSentence = "Hello, thank you for calling. How can I help you today?";

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
double maxof(const std::vector<double>& v) {
  return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}
double metric(const std::string& text, const std::string& name) {
  const auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? 0 : std::atof(text.c_str() + at + name.size() + 2);
}

struct Results {
  double tts_first_ms = 0, tts_first_sound_ms = 0, speak_first_ms = 0, session_setup_ms = 0;
  double bargein_median_ms = 0, bargein_max_ms = 0;
  double final_grammar_ms = 0, final_lm_ms = 0;
  int sessions = 0;
  double io_cpu_per_session_pct = 0, sessions_per_core = 0;
  int64_t sim_late_wakes = 0, sim_ticks = 0, sim_max_late_us = 0;
  // 5.
  int asr_sessions = 0, asr_utterances = 0, asr_finals = 0, asr_errors = 0;
  double asr_cpu_base_s = 0, asr_cpu_s = 0, asr_wall_s = 0;
  double asr_cpu_per_session_pct = 0, asr_sessions_per_core = 0;
  int64_t asr_sim_late_wakes = 0, asr_sim_ticks = 0;
};

app::Config config(const std::string& grammar, const std::string& asr) {
  app::Config c;
  c.api_host = "127.0.0.1";
  c.api_port = 0;
  c.sim_port = 0;
  c.sim_time_scale = 1.0;
  c.log_level = "error";
  c.speech.tts_engine = "flite";
  c.speech.asr_engine = asr;
  c.speech.asr_grammar_file = grammar;
  c.speech.asr_max_sessions = 2;
  return c;
}

/// The simulated caller on `channel` says a sentence; counts it when said.
awaitable<void> say(Client& c, std::string channel, int* said, int* pending) {
  const std::string url = c.sim + "/_sim/channels/" + channel + "/say";
  auto r = co_await c.call("POST", url, R"({"text":"i would like to book a table for two"})");
  if (r.status == 200) ++*said;
  --*pending;
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::atoi(argv[1]) : 10;
  const int sessions = argc > 2 ? std::atoi(argv[2]) : 50;
  const int seconds = argc > 3 ? std::atoi(argv[3]) : 5;
  const int asr_sessions = argc > 4 ? std::atoi(argv[4]) : 4;
  log::configure("error", "text");
  const auto dir =
      std::filesystem::temp_directory_path() / ("aa-voice-bench-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string grammar = (dir / "g.jsgf").string();
  std::ofstream(grammar)
      << "#JSGF V1.0;\ngrammar g;\npublic <s> = what time do you open tomorrow | "
         "please call me back later | i would like to book a table for two;\n";
  Results res;

  // 1a. The TTS engine alone: request → its first chunk.
  {
    asio::io_context io;
    WorkerPool pool(1, 64);
    speech::FliteTts tts(io.get_executor(), pool);
    auto guard = asio::make_work_guard(io);  // results are posted from the pool
    std::vector<double> firsts, sounds;
    for (int i = 0; i < rounds; ++i) {
      const auto t0 = Clock::now();
      double first = -1, sound = -1;
      bool done = false;
      speech::TtsCallbacks cb;
      cb.on_audio = [&](std::vector<int16_t> pcm) {
        if (first < 0) first = ms_since(t0);
        // The service sends from the first audible sample on (leading silence trimmed).
        if (sound < 0 &&
            std::any_of(pcm.begin(), pcm.end(), [](int16_t v) { return v >= 100 || v <= -100; }))
          sound = ms_since(t0);
      };
      cb.on_done = [&](Status) { done = true; };
      speech::TtsRequest rq;
      rq.text = kSentence;
      rq.rate_hz = 16000;
      auto job = tts.synthesize(rq, cb);
      while (!done) io.run_one_for(std::chrono::milliseconds(100));
      firsts.push_back(first);
      sounds.push_back(sound);
    }
    res.tts_first_ms = median(firsts);
    res.tts_first_sound_ms = median(sounds);
    pool.stop();
    guard.reset();
  }

  // 1b–3. Through the service.
  with_service(
      config(grammar, "pocketsphinx"),
      [&](app::Service& svc, Client& c) -> awaitable<void> {
        auto [id, channel] = co_await c.inbound("5551234");
        if (id.empty()) co_return;
        const std::string speak = c.base + "/calls/" + id + "/speak";
        const std::string stop = c.base + "/calls/" + id + "/speak/stop";
        std::vector<double> bargein;
        // Round 0 sets the media session up (ExternalMedia, bridge, socket): measured apart.
        double sum0 = 0, n0 = 0;
        for (int i = 0; i <= rounds; ++i) {
          if (i == 1) {
            const std::string m0 = svc.metrics_text();
            sum0 = metric(m0, "asterisk_api_speak_start_seconds_sum");
            n0 = metric(m0, "asterisk_api_speak_start_seconds_count");
            res.session_setup_ms = n0 > 0 ? 1000 * sum0 / n0 : 0;
          }
          const size_t started = c.count("call.speak_started", id);
          co_await c.call("POST", speak,
                          R"({"wait":false,"text":")" + kSentence + " " + kSentence + R"("})");
          co_await until([&] { return c.count("call.speak_started", id) > started; }, 5000);
          co_await sleep_for(std::chrono::milliseconds(800));
          auto clock = co_await c.call("GET", c.sim + "/_sim/clock", "");
          const double at = json::get_double(*json::parse(clock.body), "nowMs");
          co_await c.call("POST", stop, "{}");
          co_await sleep_for(std::chrono::milliseconds(300));
          auto heard = co_await c.call("GET", c.sim + "/_sim/channels/" + channel + "/heard", "");
          const double last = json::get_double(*json::parse(heard.body), "lastSoundEndMs");
          if (i > 0) bargein.push_back(last - at);
        }
        const std::string m = svc.metrics_text();
        const double n = metric(m, "asterisk_api_speak_start_seconds_count") - n0;
        res.speak_first_ms =
            n > 0 ? 1000 * (metric(m, "asterisk_api_speak_start_seconds_sum") - sum0) / n : 0;
        res.bargein_median_ms = median(bargein);
        res.bargein_max_ms = maxof(bargein);
        // 3. The caller speaks; the final comes back (grammar mode).
        for (int i = 0; i < std::min(rounds, 5); ++i) {
          const size_t finals = c.count("call.transcription", id);
          co_await c.call("POST", c.sim + "/_sim/channels/" + channel + "/say",
                          R"({"text":"what time do you open tomorrow"})");
          co_await until([&] { return c.count("call.transcription", id) > finals; }, 15000);
        }
        const std::string m2 = svc.metrics_text();
        const double k = metric(m2, "asterisk_api_transcription_latency_seconds_count");
        res.final_grammar_ms =
            k > 0 ? 1000 * metric(m2, "asterisk_api_transcription_latency_seconds_sum") / k : 0;
      },
      "voice_bench");
  with_service(
      config("", "pocketsphinx"),
      [&](app::Service& svc, Client& c) -> awaitable<void> {
        auto [id, channel] = co_await c.inbound("5551234");
        if (id.empty()) co_return;
        for (int i = 0; i < std::min(rounds, 5); ++i) {
          const size_t finals = c.count("call.transcription", id);
          co_await c.call("POST", c.sim + "/_sim/channels/" + channel + "/say",
                          R"({"text":"please call me back later"})");
          co_await until([&] { return c.count("call.transcription", id) > finals; }, 20000);
        }
        const std::string m = svc.metrics_text();
        const double k = metric(m, "asterisk_api_transcription_latency_seconds_count");
        res.final_lm_ms =
            k > 0 ? 1000 * metric(m, "asterisk_api_transcription_latency_seconds_sum") / k : 0;
      },
      "voice_bench");

  // 4. Sessions: every call with a two-way media session and capture (no ASR).
  app::Config sc = config("", "none");
  sc.asr_auto_start = "off";
  with_service(
      sc,
      [&](app::Service& svc, Client& c) -> awaitable<void> {
        std::vector<std::string> ids;
        for (int i = 0; i < sessions; ++i) {
          auto [id, channel] = co_await c.inbound(std::to_string(5550000 + i));
          if (id.empty()) continue;
          auto r = co_await c.call("POST", c.base + "/calls/" + id + "/audio/start", "{}");
          if (r.status == 200) ids.push_back(id);
        }
        res.sessions = static_cast<int>(ids.size());
        auto before = co_await c.call("GET", c.sim + "/_sim/media", "");
        const double cpu0 = thread_cpu_s();
        const auto t0 = Clock::now();
        co_await sleep_for(std::chrono::seconds(seconds));
        const double cpu = thread_cpu_s() - cpu0;
        const double wall = ms_since(t0) / 1000;
        auto after = co_await c.call("GET", c.sim + "/_sim/media", "");
        auto b = json::parse(before.body), a = json::parse(after.body);
        if (a && b) {
          res.sim_late_wakes = json::get_int(*a, "lateWakes") - json::get_int(*b, "lateWakes");
          res.sim_ticks = json::get_int(*a, "ticks") - json::get_int(*b, "ticks");
          res.sim_max_late_us = json::get_int(*a, "maxLateUs");
        }
        if (res.sessions > 0 && wall > 0) {
          res.io_cpu_per_session_pct = 100 * cpu / wall / res.sessions;
          res.sessions_per_core =
              res.io_cpu_per_session_pct > 0 ? 100 / res.io_cpu_per_session_pct : 0;
        }
        (void)svc;
      },
      "voice_bench");

  // 5. Sessions with embedded ASR: the same K talking callers twice, ASR off
  // (baseline: media, the callers' own speech synthesis, events) then on.
  struct Talk {
    double cpu_s = 0, wall_s = 0;
    int calls = 0, utterances = 0, finals = 0, errors = 0;
    int64_t late = 0, ticks = 0;
  };
  auto talk = [&](const std::string& asr) {
    Talk t;
    app::Config tc = config("", asr);
    tc.speech.asr_max_sessions = static_cast<size_t>(asr_sessions);
    tc.asr_auto_start = asr == "none" ? "off" : "inbound";
    with_service(
        tc,
        [&](app::Service&, Client& c) -> awaitable<void> {
          std::vector<std::pair<std::string, std::string>> calls;
          for (int i = 0; i < asr_sessions; ++i) {
            auto call = co_await c.inbound(std::to_string(5560000 + i));
            if (call.first.empty()) continue;
            if (asr == "none")
              co_await c.call("POST", c.base + "/calls/" + call.first + "/audio/start", "{}");
            calls.push_back(call);
          }
          t.calls = static_cast<int>(calls.size());
          co_await sleep_for(std::chrono::milliseconds(500));  // decoders loaded, sessions up
          auto before = co_await c.call("GET", c.sim + "/_sim/media", "");
          const double cpu0 = process_cpu_s();
          const auto t0 = Clock::now();
          // Every caller says a sentence (~2 s) every 3 s for `seconds`, all at
          // once (the simulator answers a say when the caller has said it).
          int pending = 0;
          auto ex = co_await asio::this_coro::executor;
          while (ms_since(t0) < 1000.0 * seconds) {
            const auto round = Clock::now();
            for (const auto& call : calls) {
              ++pending;
              spawn(ex, say(c, call.second, &t.utterances, &pending), "bench caller says");
            }
            const double left = 3000 - ms_since(round);
            if (left > 0) co_await sleep_for(std::chrono::milliseconds(static_cast<int>(left)));
          }
          co_await until([&] { return pending == 0; }, 10000);
          // The last utterances' finals.
          const size_t want = static_cast<size_t>(t.utterances);
          auto finals = [&] {
            size_t n = 0;
            for (const auto& [id, ch] : calls) n += c.count("call.transcription", id);
            return n;
          };
          if (asr != "none") co_await until([&] { return finals() >= want; }, 10000);
          t.cpu_s = process_cpu_s() - cpu0;
          t.wall_s = ms_since(t0) / 1000;
          t.finals = static_cast<int>(finals());
          for (const auto& [id, ch] : calls)
            t.errors += static_cast<int>(c.count("call.audio_capture_error", id));
          auto after = co_await c.call("GET", c.sim + "/_sim/media", "");
          auto b = json::parse(before.body), a = json::parse(after.body);
          if (a && b) {
            t.late = json::get_int(*a, "lateWakes") - json::get_int(*b, "lateWakes");
            t.ticks = json::get_int(*a, "ticks") - json::get_int(*b, "ticks");
          }
        },
        "voice_bench");
    return t;
  };
  const Talk base = talk("none");
  const Talk withasr = talk("pocketsphinx");
  res.asr_sessions = withasr.calls;
  res.asr_utterances = withasr.utterances;
  res.asr_finals = withasr.finals;
  res.asr_errors = withasr.errors;
  res.asr_cpu_base_s = base.cpu_s;
  res.asr_cpu_s = withasr.cpu_s;
  res.asr_wall_s = withasr.wall_s;
  res.asr_sim_late_wakes = withasr.late;
  res.asr_sim_ticks = withasr.ticks;
  if (withasr.calls > 0 && withasr.wall_s > 0 && base.wall_s > 0) {
    const double added = withasr.cpu_s / withasr.wall_s - base.cpu_s / base.wall_s;  // cores
    res.asr_cpu_per_session_pct = 100 * added / withasr.calls;
    res.asr_sessions_per_core =
        res.asr_cpu_per_session_pct > 0 ? 100 / res.asr_cpu_per_session_pct : 0;
  }

  std::printf("== voice: speak → first frame (Flite, \"%s\", %d rounds)\n", kSentence.c_str(),
              rounds);
  std::printf("  TTS engine alone, request → first chunk        %8.2f ms (median)\n",
              res.tts_first_ms);
  std::printf("  TTS engine alone, request → first audible chunk%8.2f ms (median)\n",
              res.tts_first_sound_ms);
  std::printf("  POST /speak → first frame to Asterisk          %8.2f ms (mean, session up)\n",
              res.speak_first_ms);
  std::printf("  service overhead (difference)                   %8.2f ms\n",
              res.speak_first_ms - res.tts_first_sound_ms);
  std::printf("  first speak of a call, media session set-up included: %.2f ms\n",
              res.session_setup_ms);
  std::printf("== voice: barge-in, speak/stop → last sound the caller hears\n");
  std::printf("  median %.0f ms, max %.0f ms after the stop (%d rounds; <= 0: nothing after it)\n",
              res.bargein_median_ms, res.bargein_max_ms, rounds);
  std::printf("== voice: caller's end of speech → final transcription (embedded PocketSphinx)\n");
  std::printf("  grammar %.0f ms, language model %.0f ms (mean)\n", res.final_grammar_ms,
              res.final_lm_ms);
  std::printf("== voice: %d two-way media sessions with capture (no ASR), %d s\n", res.sessions,
              seconds);
  std::printf(
      "  io thread %.3f %% of a core per session → %.0f sessions per core; simulator clock: "
      "%lld late wakes in %lld ticks, worst %lld us\n",
      res.io_cpu_per_session_pct, res.sessions_per_core, static_cast<long long>(res.sim_late_wakes),
      static_cast<long long>(res.sim_ticks), static_cast<long long>(res.sim_max_late_us));
  std::printf(
      "== voice: %d sessions with embedded ASR (PocketSphinx language model), callers talking "
      "%.0f s\n",
      res.asr_sessions, res.asr_wall_s);
  std::printf(
      "  process CPU %.2f s with ASR vs %.2f s without (same calls, same speech) → %.1f %% of a "
      "core per transcribed session → %.1f sessions per core\n",
      res.asr_cpu_s, res.asr_cpu_base_s, res.asr_cpu_per_session_pct, res.asr_sessions_per_core);
  std::printf(
      "  %d utterances, %d finals, %d capture errors; simulator clock: %lld late wakes in %lld "
      "ticks\n",
      res.asr_utterances, res.asr_finals, res.asr_errors,
      static_cast<long long>(res.asr_sim_late_wakes), static_cast<long long>(res.asr_sim_ticks));
  std::printf(
      "{\"voice\":{\"tts_first_chunk_ms\":%.2f,\"tts_first_sound_ms\":%.2f,\"session_setup_first_"
      "frame_ms\":%.2f,"
      "\"speak_first_frame_ms\":%.2f,\"speak_overhead_ms\":%.2f,"
      "\"bargein_median_ms\":%.0f,\"bargein_max_ms\":%.0f,\"final_grammar_ms\":%.0f,\"final_lm_"
      "ms\":%.0f,"
      "\"sessions\":%d,\"io_cpu_per_session_pct\":%.3f,\"sessions_per_core\":%.0f,\"sim_late_"
      "wakes\":%lld,"
      "\"sim_ticks\":%lld,\"asr_sessions\":%d,\"asr_cpu_per_session_pct\":%.1f,"
      "\"asr_sessions_per_core\":%.1f,\"asr_utterances\":%d,\"asr_finals\":%d}}\n",
      res.tts_first_ms, res.tts_first_sound_ms, res.session_setup_ms, res.speak_first_ms,
      res.speak_first_ms - res.tts_first_sound_ms, res.bargein_median_ms, res.bargein_max_ms,
      res.final_grammar_ms, res.final_lm_ms, res.sessions, res.io_cpu_per_session_pct,
      res.sessions_per_core, static_cast<long long>(res.sim_late_wakes),
      static_cast<long long>(res.sim_ticks), res.asr_sessions, res.asr_cpu_per_session_pct,
      res.asr_sessions_per_core, res.asr_utterances, res.asr_finals);
  std::filesystem::remove_all(dir);
  return 0;
}
