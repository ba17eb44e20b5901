#include "metrics/service_metrics.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace aa::metrics {

namespace {

double seconds(std::chrono::microseconds us) {
  return static_cast<double>(us.count()) / 1e6;
}

// Every label value comes from a closed set: a value a client or Asterisk can
// invent (an HTTP method, a Q.850 number) would otherwise add series for ever.

std::string status_class(int status) {
  if (status <= 0) return "no_response";
  if (status < 100 || status > 599) return "other";
  return std::to_string(status / 100) + "xx";
}

std::string_view method_label(std::string_view method) {
  static constexpr std::string_view kKnown[] = {"GET",    "HEAD",  "POST",   "PUT",
                                                "DELETE", "PATCH", "OPTIONS"};
  for (auto k : kKnown)
    if (k == method) return k;
  return "other";
}

/// The hangup causes the domain reports (Q.850 names, Dial's statuses, our
/// own); anything else (e.g. `cause_<n>` for an unnamed Q.850 number) is "other".
std::string_view cause_label(std::string_view cause) {
  static constexpr std::string_view kKnown[] = {"normal",
                                                "unallocated",
                                                "no_route",
                                                "busy",
                                                "no_user_response",
                                                "no_answer",
                                                "subscriber_absent",
                                                "rejected",
                                                "destination_out_of_order",
                                                "invalid_number",
                                                "normal_unspecified",
                                                "congestion",
                                                "network_out_of_order",
                                                "temporary_failure",
                                                "switch_congestion",
                                                "bearer_capability_not_available",
                                                "interworking",
                                                "unavailable",
                                                "cancelled",
                                                "invalid_args",
                                                "timeout",
                                                "number_incomplete",
                                                "codec_mismatch",
                                                "failure",
                                                "answered_elsewhere",
                                                "originate_failed",
                                                "lost_during_ari_outage",
                                                "asterisk_restart",
                                                "transfer_failed"};
  if (cause.empty()) return "";
  for (auto k : kKnown)
    if (k == cause) return k;
  return "other";
}

/// ARI operations are names from the client's code (`originate`, `play`...);
/// still, at most kMaxAriOperations distinct ones, and only [a-z_] names.
constexpr size_t kMaxAriOperations = 64;
bool plausible_operation(std::string_view op) {
  if (op.empty() || op.size() > 48) return false;
  for (char c : op)
    if (!((c >= 'a' && c <= 'z') || c == '_')) return false;
  return true;
}

/// Boot time from /proc/stat, to turn the process's start tick into unix time.
double boot_time_seconds() {
  std::ifstream in("/proc/stat");
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double t = 0;
      in >> t;
      return t;
    }
    in.ignore(1 << 20, '\n');
  }
  return 0;
}

}  // namespace

ProcessStats read_process_stats() {
  ProcessStats p;
  const long page = sysconf(_SC_PAGESIZE);
  const long ticks = sysconf(_SC_CLK_TCK);
  // /proc/self/stat: fields after the parenthesised command name.
  if (std::ifstream in("/proc/self/stat"); in) {
    std::string line;
    std::getline(in, line);
    const auto close = line.rfind(')');
    if (close != std::string::npos) {
      std::istringstream rest(line.substr(close + 2));
      std::string f[22];
      for (auto& x : f) rest >> x;
      // Field numbers per proc(5), counted from 3 (state) = f[0].
      try {
        const double utime = std::stod(f[11]), stime = std::stod(f[12]);
        const double start_ticks = std::stod(f[19]);
        p.virtual_bytes = std::stoull(f[20]);
        p.resident_bytes = std::stoull(f[21]) * static_cast<uint64_t>(page);
        if (ticks > 0) {
          p.cpu_seconds = (utime + stime) / static_cast<double>(ticks);
          p.start_time_seconds = boot_time_seconds() + start_ticks / static_cast<double>(ticks);
        }
      } catch (const std::exception&) {
      }
    }
  }
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end;
       it.increment(ec))
    ++p.open_fds;
  if (p.open_fds > 0) --p.open_fds;  // the iterator's own descriptor
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0) p.max_fds = rl.rlim_cur;
  return p;
}

ServiceMetrics::ServiceMetrics() = default;

void ServiceMetrics::observe_http(std::string_view method, std::string_view route, int status,
                                  std::chrono::microseconds elapsed) {
  HttpKey key{std::string(method_label(method)),
              route.empty() ? std::string("unmatched") : std::string(route)};
  auto& s = http_[key];
  s.latency.observe(seconds(elapsed));
  ++s.by_status[status >= 100 && status <= 599 ? status : 0];
}

void ServiceMetrics::observe_ari(std::string_view operation, int status,
                                 std::chrono::microseconds elapsed) {
  auto it = ari_.find(operation);
  if (it == ari_.end()) {
    if (!plausible_operation(operation) || ari_.size() >= kMaxAriOperations - 1)
      operation = "other";
    it = ari_.find(operation);
    if (it == ari_.end()) it = ari_.emplace(std::string(operation), AriSeries{}).first;
  }
  it->second.latency.observe(seconds(elapsed));
  ++it->second.by_outcome[status_class(status)];
}

void ServiceMetrics::observe_speak_start(std::chrono::microseconds elapsed) {
  speak_start_.observe(seconds(elapsed));
}
void ServiceMetrics::observe_transcription(std::chrono::microseconds elapsed) {
  transcription_.observe(seconds(elapsed));
}
void ServiceMetrics::observe_stream_mark(std::chrono::microseconds elapsed) {
  stream_mark_.observe(seconds(elapsed));
}

void ServiceMetrics::publish(const calls::DomainEvent& e) {
  if (!e.call) return;
  const std::string direction(calls::to_string(e.call->direction));
  if (e.kind == calls::EventKind::call_created) {
    ++calls_started_[direction];
  } else if (e.kind == calls::EventKind::call_ended) {
    // "answered": the call was connected before it ended; "unanswered": it
    // never was (busy, no answer, failed originate, hung up while ringing).
    CallKey key{direction, e.call->answered_at_ms > 0 ? "answered" : "unanswered",
                std::string(cause_label(e.cause.empty() ? e.call->hangup_cause : e.cause))};
    ++calls_ended_[key];
  }
}

std::string ServiceMetrics::render(const Gauges& g, const ProcessStats& p) const {
  TextWriter w;
  w.family("asterisk_api_info", "gauge", "Version of the running service (value is always 1).")
      .sample("asterisk_api_info", {{"version", AA_VERSION}, {"git", AA_GIT_HASH}}, 1);

  // ---- ARI ----
  w.family("asterisk_api_ari_connected", "gauge",
           "1 while the ARI events WebSocket is connected, 0 otherwise.")
      .sample("asterisk_api_ari_connected", g.ari_connected ? 1 : 0);
  w.family("asterisk_api_ari_reconnects_total", "counter",
           "Times the ARI events WebSocket was re-established after a loss.")
      .sample("asterisk_api_ari_reconnects_total", static_cast<double>(g.ari_reconnects));
  w.family("asterisk_api_ari_requests_total", "counter",
           "ARI REST requests by operation and HTTP status class.");
  for (const auto& [op, s] : ari_)
    for (const auto& [outcome, n] : s.by_outcome)
      w.sample("asterisk_api_ari_requests_total", {{"operation", op}, {"status", outcome}},
               static_cast<double>(n));
  w.family("asterisk_api_ari_request_duration_seconds", "histogram",
           "ARI REST request latency by operation.");
  for (const auto& [op, s] : ari_)
    w.histogram("asterisk_api_ari_request_duration_seconds", {{"operation", op}}, s.latency);

  // ---- calls ----
  w.family("asterisk_api_active_calls", "gauge", "Calls not yet ended.")
      .sample("asterisk_api_active_calls", static_cast<double>(g.active_calls));
  w.family("asterisk_api_calls_started_total", "counter", "Calls tracked, by direction.");
  for (const auto& [dir, n] : calls_started_)
    w.sample("asterisk_api_calls_started_total", {{"direction", dir}}, static_cast<double>(n));
  w.family("asterisk_api_calls_ended_total", "counter",
           "Calls ended, by direction, outcome (answered/unanswered) and hangup cause.");
  for (const auto& [k, n] : calls_ended_)
    w.sample("asterisk_api_calls_ended_total",
             {{"direction", k.direction}, {"outcome", k.outcome}, {"cause", k.cause}},
             static_cast<double>(n));
  w.family("asterisk_api_untracked_channels_total", "counter",
           "Channels in our Stasis app that the service did not track (found at start-up or "
           "after an events-socket outage), by what was done: adopted as calls, or hung up.")
      .sample("asterisk_api_untracked_channels_total", {{"action", "adopted"}},
              static_cast<double>(g.untracked_adopted))
      .sample("asterisk_api_untracked_channels_total", {{"action", "hung_up"}},
              static_cast<double>(g.untracked_hung_up));

  // ---- voice ----
  auto counter = [&w](const char* name, const char* help, uint64_t v) {
    w.family(name, "counter", help).sample(name, static_cast<double>(v));
  };
  auto gauge = [&w](const char* name, const char* help, size_t v) {
    w.family(name, "gauge", help).sample(name, static_cast<double>(v));
  };
  counter("asterisk_api_speak_total", "Speak requests accepted (TTS started).", g.speaks);
  counter("asterisk_api_speak_errors_total", "Speak requests that failed (TTS or media).",
          g.speak_errors);
  counter("asterisk_api_speak_interrupted_total", "Utterances cut short (barge-in, interrupt).",
          g.speaks_interrupted);
  w.family("asterisk_api_speak_start_seconds", "histogram",
           "From a speak request to its first audio frame sent to Asterisk.");
  w.histogram("asterisk_api_speak_start_seconds", {}, speak_start_);
  gauge("asterisk_api_media_sessions", "Media sessions (chan_websocket) open.", g.media_sessions);
  gauge("asterisk_api_audio_captures", "Audio captures running.", g.captures_active);
  counter("asterisk_api_audio_captures_total", "Audio captures started.", g.captures_started);
  counter("asterisk_api_asr_sessions_total", "Speech recognition sessions opened.", g.asr_sessions);
  counter("asterisk_api_transcriptions_total", "call.transcription events (partial and final).",
          g.transcriptions);
  w.family("asterisk_api_transcription_latency_seconds", "histogram",
           "From the end of an utterance (its last sample in) to its final transcription.");
  w.histogram("asterisk_api_transcription_latency_seconds", {}, transcription_);
  counter("asterisk_api_media_frames_in_total", "Audio frames received from Asterisk (caller).",
          g.media_frames_in);
  counter("asterisk_api_media_bytes_out_total", "Audio bytes sent to Asterisk (speech).",
          g.media_bytes_out);
  counter("asterisk_api_media_xoff_total", "MEDIA_XOFF received (Asterisk's queue was full).",
          g.media_xoff);
  gauge("asterisk_api_streams", "Agent streams (Twilio Media Streams) open.", g.streams_active);
  // A counter family of two samples, one label with two values.
  auto counter2 = [&w](const char* name, const char* help, const char* label, const char* a,
                       uint64_t va, const char* b, uint64_t vb) {
    w.family(name, "counter", help)
        .sample(name, {{label, a}}, static_cast<double>(va))
        .sample(name, {{label, b}}, static_cast<double>(vb));
  };
  counter2("asterisk_api_streams_total", "Agent streams by outcome of their start.", "outcome",
           "started", g.streams_started, "failed", g.streams_failed);
  counter2("asterisk_api_stream_frames_total",
           "Agent stream media messages: to the agent (caller audio) and from it.", "direction",
           "to_agent", g.stream_frames_out, "from_agent", g.stream_frames_in);
  counter("asterisk_api_stream_late_frames_total",
          "Media messages to an agent queued behind unwritten media (the agent reads late).",
          g.stream_late_frames);
  counter("asterisk_api_stream_clears_total", "clear messages from agents (barge-in).",
          g.stream_clears);
  w.family("asterisk_api_stream_mark_seconds", "histogram",
           "From an agent's mark to its return: the audio before it has been heard.");
  w.histogram("asterisk_api_stream_mark_seconds", {}, stream_mark_);
  counter2("asterisk_api_allowlist_blocked_total", "Calls the allowlist refused, by direction.",
           "direction", "inbound", g.blocked_inbound, "outbound", g.blocked_outbound);

  // ---- HTTP ----
  w.family("asterisk_api_http_requests_total", "counter",
           "HTTP requests by method, route template and status.");
  for (const auto& [k, s] : http_)
    for (const auto& [status, n] : s.by_status) {
      const std::string code = status ? std::to_string(status) : std::string("other");
      w.sample("asterisk_api_http_requests_total",
               {{"method", k.method}, {"route", k.route}, {"status", code}},
               static_cast<double>(n));
    }
  w.family("asterisk_api_http_request_duration_seconds", "histogram",
           "HTTP request latency (headers read to response written) by method and route.");
  for (const auto& [k, s] : http_)
    w.histogram("asterisk_api_http_request_duration_seconds",
                {{"method", k.method}, {"route", k.route}}, s.latency);

  // ---- sinks ----
  w.family("asterisk_api_events_clients", "gauge", "Connected /events WebSocket clients.")
      .sample("asterisk_api_events_clients", static_cast<double>(g.event_clients));
  w.family("asterisk_api_events_dropped_clients_total", "counter",
           "/events clients closed (1008) because they did not keep up.")
      .sample("asterisk_api_events_dropped_clients_total",
              static_cast<double>(g.event_clients_dropped));
  w.family("asterisk_api_events_published_total", "counter", "Events published to the stream.")
      .sample("asterisk_api_events_published_total", static_cast<double>(g.events_published));
  w.family("asterisk_api_webhook_enabled", "gauge", "1 when WEBHOOK_URL is set.")
      .sample("asterisk_api_webhook_enabled", g.webhooks_enabled ? 1 : 0);
  w.family("asterisk_api_webhook_deliveries_total", "counter", "Webhook POSTs answered with 2xx.")
      .sample("asterisk_api_webhook_deliveries_total", static_cast<double>(g.webhook_delivered));
  w.family("asterisk_api_webhook_failures_total", "counter",
           "Webhook deliveries failed (WEBHOOK_MAX_ATTEMPTS, WEBHOOK_MAX_AGE, or 410 Gone).")
      .sample("asterisk_api_webhook_failures_total", static_cast<double>(g.webhook_failed));
  w.family("asterisk_api_webhook_dropped_total", "counter",
           "Webhook deliveries refused because the outbox was full (WEBHOOK_MAX_PENDING).")
      .sample("asterisk_api_webhook_dropped_total", static_cast<double>(g.webhook_dropped));
  w.family("asterisk_api_webhook_queue_depth", "gauge",
           "Webhook deliveries pending in the outbox (in flight included).")
      .sample("asterisk_api_webhook_queue_depth", static_cast<double>(g.webhook_queued));
  // One family with one sample (the issue-12 families below).
  auto one = [&w](const char* name, const char* type, const char* help, double value) {
    w.family(name, type, help).sample(name, value);
  };
  one("asterisk_api_webhook_in_flight", "gauge", "Webhook POSTs in flight.",
      static_cast<double>(g.webhook_in_flight));
  one("asterisk_api_webhook_attempts_total", "counter", "Webhook POSTs made (retries too).",
      static_cast<double>(g.webhook_attempts));
  one("asterisk_api_webhook_retries_total", "counter",
      "Webhook POSTs that retried a failed attempt.", static_cast<double>(g.webhook_retries));
  one("asterisk_api_webhook_oldest_pending_seconds", "gauge",
      "Age of the oldest pending webhook delivery (0: none).", g.webhook_oldest_pending_seconds);
  one("asterisk_api_events_replayed_total", "counter",
      "Stored events replayed to /events clients that reconnected with since.",
      static_cast<double>(g.events_replayed));
  if (g.store_enabled) {
    one("asterisk_api_store_healthy", "gauge", "0 while the event store cannot write.",
        g.store_healthy ? 1 : 0);
    one("asterisk_api_store_writes_total", "counter",
        "Writes (events, deliveries, call rows) queued for the event store.",
        static_cast<double>(g.store_appended));
    one("asterisk_api_store_committed_total", "counter", "Writes committed to disk.",
        static_cast<double>(g.store_committed));
    one("asterisk_api_store_refused_total", "counter",
        "Writes refused because the store's queue was full.", static_cast<double>(g.store_refused));
    one("asterisk_api_store_write_errors_total", "counter",
        "Batches that failed to commit (retried).", static_cast<double>(g.store_write_errors));
    one("asterisk_api_store_unstored_events_total", "counter",
        "Events that went out before they could be stored.", static_cast<double>(g.store_unstored));
    one("asterisk_api_store_queue_depth", "gauge", "Writes waiting for the store's writer.",
        static_cast<double>(g.store_queued));
    one("asterisk_api_store_held_events", "gauge",
        "Events waiting for their commit before they are published.",
        static_cast<double>(g.store_held));
    one("asterisk_api_store_commits_total", "counter", "Batches committed.",
        static_cast<double>(g.store_batches));
    one("asterisk_api_store_commit_seconds_total", "counter",
        "Time spent committing batches (write latency: divide by commits).",
        static_cast<double>(g.store_commit_us_total) / 1e6);
    one("asterisk_api_store_last_commit_seconds", "gauge", "The last batch's commit time.",
        g.store_last_commit_ms / 1000.0);
    one("asterisk_api_store_max_commit_seconds", "gauge", "The slowest batch's commit time.",
        g.store_max_commit_ms / 1000.0);
    one("asterisk_api_store_size_bytes", "gauge", "The event store's size on disk.",
        static_cast<double>(g.store_bytes));
  }

  // ---- process (the standard names) ----
  w.family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.")
      .sample("process_resident_memory_bytes", static_cast<double>(p.resident_bytes));
  w.family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.")
      .sample("process_virtual_memory_bytes", static_cast<double>(p.virtual_bytes));
  w.family("process_open_fds", "gauge", "Open file descriptors.")
      .sample("process_open_fds", static_cast<double>(p.open_fds));
  w.family("process_max_fds", "gauge", "Limit on open file descriptors.")
      .sample("process_max_fds", static_cast<double>(p.max_fds));
  w.family("process_cpu_seconds_total", "counter", "User and system CPU time spent.")
      .sample("process_cpu_seconds_total", p.cpu_seconds);
  w.family("process_start_time_seconds", "gauge", "Start time of the process (unix seconds).")
      .sample("process_start_time_seconds", p.start_time_seconds);
  return w.take();
}

}  // namespace aa::metrics
