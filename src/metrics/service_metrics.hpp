#pragma once
/// What `GET /metrics` reports. Counters and histograms are fed as things
/// happen (HTTP requests, ARI requests, domain events); gauges are read from
/// their owners at scrape time (`Gauges`), so nothing is counted twice.
/// Single-threaded: every call is made on the service's io thread.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <tuple>

#include "calls/model.hpp"
#include "metrics/prometheus.hpp"

namespace aa::metrics {

/// Values owned elsewhere, read when /metrics is scraped.
struct Gauges {
  bool ari_connected = false;
  uint64_t ari_reconnects = 0;
  size_t active_calls = 0;
  uint64_t untracked_adopted = 0;  // channels in our app we did not track, adopted
  uint64_t untracked_hung_up = 0;  // ... or hung up
  size_t event_clients = 0;
  uint64_t event_clients_dropped = 0;
  uint64_t events_published = 0;
  bool webhooks_enabled = false;
  uint64_t webhook_delivered = 0;
  uint64_t webhook_failed = 0;
  uint64_t webhook_dropped = 0;
  size_t webhook_queued = 0;
  size_t webhook_in_flight = 0;
  uint64_t webhook_attempts = 0, webhook_retries = 0;
  double webhook_oldest_pending_seconds = 0;
  // the event store (DATA_DIR)
  bool store_enabled = false, store_healthy = true;
  uint64_t store_appended = 0, store_committed = 0, store_refused = 0, store_write_errors = 0;
  uint64_t store_batches = 0, store_commit_us_total = 0, store_unstored = 0;
  size_t store_queued = 0, store_held = 0;
  double store_last_commit_ms = 0, store_max_commit_ms = 0;
  uint64_t store_bytes = 0;
  uint64_t events_replayed = 0;
  // voice (VoiceManager::stats, CallManager::blocked_inbound)
  uint64_t speaks = 0, speak_errors = 0, speaks_interrupted = 0;
  size_t media_sessions = 0, captures_active = 0;
  uint64_t captures_started = 0, asr_sessions = 0, transcriptions = 0;
  uint64_t media_frames_in = 0, media_bytes_out = 0, media_xoff = 0;
  uint64_t blocked_inbound = 0, blocked_outbound = 0;
  // agent streams (StreamManager::stats)
  size_t streams_active = 0;
  uint64_t streams_started = 0, streams_failed = 0;
  uint64_t stream_frames_out = 0, stream_frames_in = 0, stream_late_frames = 0;
  uint64_t stream_clears = 0;
};

/// The process's own figures from /proc (Linux); zero where unavailable.
struct ProcessStats {
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;
  double cpu_seconds = 0;
  double start_time_seconds = 0;  // unix time
};
ProcessStats read_process_stats();

class ServiceMetrics final : public calls::EventSink {
 public:
  ServiceMetrics();

  /// One HTTP request answered. `route` is the matched pattern ("/calls/:id"),
  /// empty when nothing matched (reported as "unmatched" to bound the label set).
  void observe_http(std::string_view method, std::string_view route, int status,
                    std::chrono::microseconds elapsed);
  /// One ARI REST operation finished (status 0: no answer).
  void observe_ari(std::string_view operation, int status, std::chrono::microseconds elapsed);
  /// A speak request until its first audio frame went to Asterisk.
  void observe_speak_start(std::chrono::microseconds elapsed);
  /// The end of an utterance (its last sample in) until its final transcription.
  void observe_transcription(std::chrono::microseconds elapsed);
  /// An agent stream's mark: from the agent's mark to its return (audio heard).
  void observe_stream_mark(std::chrono::microseconds elapsed);
  /// Domain events: calls started / ended by direction and outcome.
  void publish(const calls::DomainEvent& e) override;

  /// The exposition text, with the gauges and process figures given.
  std::string render(const Gauges& g, const ProcessStats& p) const;

 private:
  struct HttpKey {
    std::string method, route;
    bool operator<(const HttpKey& o) const {
      return std::tie(method, route) < std::tie(o.method, o.route);
    }
  };
  struct HttpSeries {
    Histogram latency{latency_buckets()};
    std::map<int, uint64_t> by_status;
  };
  struct AriSeries {
    Histogram latency{latency_buckets()};
    std::map<std::string, uint64_t> by_outcome;  // "2xx", "4xx", "5xx", "no_response"
  };
  struct CallKey {
    std::string direction, outcome, cause;
    bool operator<(const CallKey& o) const {
      return std::tie(direction, outcome, cause) < std::tie(o.direction, o.outcome, o.cause);
    }
  };

  std::map<HttpKey, HttpSeries> http_;
  std::map<std::string, AriSeries, std::less<>> ari_;
  std::map<std::string, uint64_t, std::less<>> calls_started_;  // by direction
  std::map<CallKey, uint64_t> calls_ended_;
  Histogram speak_start_{latency_buckets()};
  Histogram transcription_{latency_buckets()};
  Histogram stream_mark_{latency_buckets()};
};

}  // namespace aa::metrics
