#include "sim/control_api.hpp"

#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "common/json.hpp"
#include "common/util.hpp"
#include "sim/reply.hpp"

namespace aa::sim {
namespace {

std::vector<std::string_view> segments(std::string_view p) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    if (end > start) out.push_back(p.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

int64_t realtime_us() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

}  // namespace

// Emits `count` ChannelDtmfReceived events at `rate` per second on the io
// thread, round-robin over `channels` (event k: channels[k % n], digits[k % d]),
// and records the CLOCK_REALTIME microsecond at which each one was handed to
// the events sockets. A timer wakes at each event's due time; when the thread
// was late, every overdue event goes out at once (the rate holds on average).
struct ControlApi::BenchEmitter {
  explicit BenchEmitter(Engine& e) : engine(&e), timer(e.executor()) {}
  Engine* engine;  // null once the ControlApi is gone
  asio::steady_timer timer;
  std::vector<std::string> channels;
  std::string digits;
  double rate = 0;
  uint64_t count = 0;
  uint64_t next = 0;
  uint64_t run = 0;
  bool running = false;
  std::chrono::steady_clock::time_point start;
  std::vector<int64_t> emitted_us;  // 0: the channel was gone, nothing emitted
  int64_t max_late_us = 0;          // worst lateness of a timer wake-up

  static void tick(const std::shared_ptr<BenchEmitter>& s, uint64_t run) {
    if (!s->engine || run != s->run || !s->running) return;
    const auto now = std::chrono::steady_clock::now();
    const double elapsed = std::chrono::duration<double>(now - s->start).count();
    const auto due_at = s->start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                       std::chrono::duration<double>(s->next / s->rate));
    s->max_late_us = std::max<int64_t>(
        s->max_late_us,
        std::chrono::duration_cast<std::chrono::microseconds>(now - due_at).count());
    const uint64_t due =
        std::min<uint64_t>(s->count, static_cast<uint64_t>(std::floor(elapsed * s->rate)) + 1);
    while (s->next < due) {
      const uint64_t k = s->next++;
      const std::string& ch = s->channels[k % s->channels.size()];
      const char digit = s->digits[k % s->digits.size()];
      const int64_t t = realtime_us();
      s->emitted_us.push_back(s->engine->far_dtmf_now(ch, digit) ? t : 0);
    }
    if (s->next >= s->count) {
      s->running = false;
      return;
    }
    s->timer.expires_at(s->start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                       std::chrono::duration<double>(s->next / s->rate)));
    s->timer.async_wait([s, run](const boost::system::error_code& ec) {
      if (!ec) tick(s, run);
    });
  }
};

ControlApi::ControlApi(Engine& engine, FaultHooks hooks)
    : engine_(engine), hooks_(std::move(hooks)), bench_(std::make_shared<BenchEmitter>(engine)) {}

ControlApi::~ControlApi() {
  bench_->engine = nullptr;
  bench_->running = false;
  bench_->timer.cancel();
}

net::Response ControlApi::bench_start(const json::Value& body) {
  auto& b = *bench_;
  if (b.running) return error_reply(409, "A benchmark emission is running");
  std::vector<std::string> channels;
  if (auto* a = json::find(body, "channels"); a && a->IsArray())
    for (const auto& v : a->GetArray())
      if (v.IsString()) channels.emplace_back(json::as_view(v));
  if (channels.empty()) return error_reply(400, "channels must be a non-empty array of ids");
  const double rate = json::get_double(body, "rate", 0);
  if (!(rate > 0 && rate <= 1e6)) return error_reply(400, "rate must be > 0 and <= 1000000");
  const int64_t count = json::get_int(body, "count", 0);
  if (count <= 0 || count > 1'000'000) return error_reply(400, "count must be 1..1000000");
  std::string digits(json::get_string(body, "digits", "0123456789"));
  if (digits.empty()) return error_reply(400, "digits must not be empty");
  b.channels = std::move(channels);
  b.digits = std::move(digits);
  b.rate = rate;
  b.count = static_cast<uint64_t>(count);
  b.next = 0;
  b.max_late_us = 0;
  b.emitted_us.clear();
  b.emitted_us.reserve(b.count);
  b.running = true;
  b.start = std::chrono::steady_clock::now();
  const uint64_t run = ++b.run;
  // First event on the next turn of the io loop (the reply goes out first).
  asio::post(engine_.executor(), [s = bench_, run] { BenchEmitter::tick(s, run); });
  json::Writer w;
  w.begin_object().field_int("count", count).key("rate").number(rate).end_object();
  return net::Response::json(202, w.str());
}

net::Response ControlApi::bench_emitted(bool with_times) const {
  const auto& b = *bench_;
  json::Writer w;
  w.begin_object()
      .field_bool("running", b.running)
      .field_int("count", static_cast<int64_t>(b.count))
      .field_int("emitted", static_cast<int64_t>(b.emitted_us.size()))
      .field_int("maxLateUs", b.max_late_us);
  if (with_times) {
    w.key("timesUs").begin_array();
    for (int64_t t : b.emitted_us) w.integer(t);
    w.end_array();
  }
  w.end_object();
  return net::Response::json(200, w.str());
}

net::Response ControlApi::handle(const net::Request& req) {
  const auto seg = segments(req.path);  // "_sim", ...
  json::Document body;
  body.SetObject();
  if (!req.body.empty()) {
    std::string err;
    auto doc = json::parse(req.body, &err);
    if (!doc || !doc->IsObject()) return error_reply(400, "Body must be a JSON object");
    body = std::move(*doc);
  }
  const std::string& m = req.method;
  auto is = [&](std::string_view method, std::initializer_list<std::string_view> pattern) {
    if (m != method || seg.size() != pattern.size()) return false;
    size_t i = 0;
    for (auto p : pattern) {
      if (p != "*" && p != seg[i]) return false;
      ++i;
    }
    return true;
  };

  if (is("POST", {"_sim", "inbound"})) {
    std::vector<std::string> args;
    if (auto* a = json::find(body, "args"); a && a->IsArray())
      for (const auto& v : a->GetArray())
        args.emplace_back(v.IsString() ? std::string(json::as_view(v)) : json::stringify(v));
    return engine_.inbound(std::string(json::get_string(body, "from")),
                           std::string(json::get_string(body, "callerName")),
                           std::string(json::get_string(body, "to")), std::move(args),
                           std::string(json::get_string(body, "app")),
                           std::string(json::get_string(body, "technology")));
  }
  if (is("POST", {"_sim", "channels", "*", "dtmf"}))
    return engine_.far_dtmf(std::string(seg[2]), std::string(json::get_string(body, "digits")),
                            json::get_int(body, "betweenMs", 350));
  if (is("POST", {"_sim", "channels", "*", "answer"}))
    return engine_.far_answer(std::string(seg[2]));
  if (is("POST", {"_sim", "channels", "*", "hangup"}))
    return engine_.far_hangup(std::string(seg[2]),
                              static_cast<int>(json::get_int(body, "cause", 16)));
  if (is("PUT", {"_sim", "endpoints", "*", "*"}))
    return engine_.set_endpoint(std::string(seg[2]), std::string(seg[3]), body);
  if (is("GET", {"_sim", "state"})) return engine_.state_json();
  if (is("POST", {"_sim", "bench", "dtmf"})) return bench_start(body);
  if (is("GET", {"_sim", "bench"})) return bench_emitted(false);
  if (is("GET", {"_sim", "bench", "emitted"})) return bench_emitted(true);
  if (is("POST", {"_sim", "reset"})) {
    engine_.reset();
    return no_content();
  }
  if (is("POST", {"_sim", "faults"})) {
    bool any = false;
    if (json::get_bool(body, "dropEventSockets")) {
      any = true;
      if (hooks_.drop_event_sockets) hooks_.drop_event_sockets();
    }
    if (auto ms = json::get_int(body, "refuseConnectionsMs", 0); ms > 0) {
      any = true;
      if (hooks_.refuse_connections) hooks_.refuse_connections(ms);
    }
    if (json::find(body, "responseDelayMs")) {
      any = true;
      if (hooks_.set_response_delay)
        hooks_.set_response_delay(json::get_int(body, "responseDelayMs", 0));
    }
    if (json::get_bool(body, "restart")) {
      any = true;
      if (hooks_.restart) hooks_.restart();
    }
    if (!any)
      return error_reply(
          400, "Expected dropEventSockets, refuseConnectionsMs, restart or responseDelayMs");
    return no_content();
  }
  if (auto media = engine_.media_control(req, body)) return std::move(*media);
  if (is("POST", {"_sim", "timeScale"})) {
    const double s = json::get_double(body, "timeScale", 0);
    if (s <= 0) return error_reply(400, "timeScale must be > 0");
    engine_.set_time_scale(s);
    return no_content();
  }
  return error_reply(404, "Resource not found");
}

}  // namespace aa::sim
