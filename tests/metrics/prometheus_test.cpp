#include "metrics/prometheus.hpp"

#include <gtest/gtest.h>

#include <memory>

#include "metrics/service_metrics.hpp"

using namespace aa;
using namespace aa::metrics;

TEST(Histogram, CountsEachValueInTheFirstBucketItFits) {
  Histogram h({0.1, 1, 10});
  h.observe(0.05);
  h.observe(0.1);  // le="0.1" includes the bound
  h.observe(5);
  h.observe(50);
  EXPECT_EQ(h.counts(), (std::vector<uint64_t>{2, 0, 1, 1}));
  EXPECT_EQ(h.count(), 4u);
  EXPECT_DOUBLE_EQ(h.sum(), 55.15);
}

TEST(TextWriter, WritesFamiliesSamplesAndCumulativeBuckets) {
  Histogram h({0.5, 1});
  h.observe(0.25);
  h.observe(0.75);
  h.observe(3);
  TextWriter w;
  w.family("x_total", "counter", "Things.\nCounted \\ here.")
      .sample("x_total", {{"a", "1"}, {"b", "q\"uo\\te\n"}}, 3);
  w.family("lat_seconds", "histogram", "Latency.").histogram("lat_seconds", {{"op", "get"}}, h);
  EXPECT_EQ(w.str(),
            "# HELP x_total Things.\\nCounted \\\\ here.\n"
            "# TYPE x_total counter\n"
            "x_total{a=\"1\",b=\"q\\\"uo\\\\te\\n\"} 3\n"
            "# HELP lat_seconds Latency.\n"
            "# TYPE lat_seconds histogram\n"
            "lat_seconds_bucket{op=\"get\",le=\"0.5\"} 1\n"
            "lat_seconds_bucket{op=\"get\",le=\"1\"} 2\n"
            "lat_seconds_bucket{op=\"get\",le=\"+Inf\"} 3\n"
            "lat_seconds_sum{op=\"get\"} 4\n"
            "lat_seconds_count{op=\"get\"} 3\n");
}

TEST(TextWriter, WritesFractionsAndUnlabelledSamples) {
  TextWriter w;
  w.sample("a", 0.25).sample("b", 12345678901.0);
  EXPECT_EQ(w.str(), "a 0.25\nb 12345678901\n");
}

namespace {

calls::DomainEvent call_event(calls::EventKind kind, calls::Direction dir, bool answered,
                              std::string cause = {}) {
  auto rec = std::make_shared<calls::CallRecord>();
  rec->id = "c1";
  rec->direction = dir;
  rec->answered_at_ms = answered ? 1000 : 0;
  rec->hangup_cause = cause;
  calls::DomainEvent e;
  e.kind = kind;
  e.call = rec;
  e.cause = cause;
  return e;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

}  // namespace

TEST(ServiceMetrics, CountsCallsByDirectionOutcomeAndCause) {
  using calls::Direction;
  using calls::EventKind;
  ServiceMetrics m;
  m.publish(call_event(EventKind::call_created, Direction::outbound, false));
  m.publish(call_event(EventKind::call_created, Direction::outbound, false));
  m.publish(call_event(EventKind::call_created, Direction::inbound, false));
  m.publish(call_event(EventKind::call_ended, Direction::outbound, true, "normal"));
  m.publish(call_event(EventKind::call_ended, Direction::outbound, false, "busy"));
  m.publish(call_event(EventKind::call_state_changed, Direction::inbound, true));  // not counted
  const std::string text = m.render({}, {});
  EXPECT_TRUE(has_line(text, "asterisk_api_calls_started_total{direction=\"outbound\"} 2")) << text;
  EXPECT_TRUE(has_line(text, "asterisk_api_calls_started_total{direction=\"inbound\"} 1"));
  EXPECT_TRUE(has_line(text,
                       "asterisk_api_calls_ended_total{direction=\"outbound\",outcome=\"answered\","
                       "cause=\"normal\"} 1"));
  EXPECT_TRUE(has_line(text,
                       "asterisk_api_calls_ended_total{direction=\"outbound\",outcome="
                       "\"unanswered\",cause=\"busy\"} 1"));
}

TEST(ServiceMetrics, HttpAndAriSeriesUseTemplatesAndStatusClasses) {
  ServiceMetrics m;
  m.observe_http("GET", "/calls/:id", 200, std::chrono::microseconds(150));
  m.observe_http("GET", "/calls/:id", 404, std::chrono::microseconds(80));
  m.observe_http("GET", "", 404, std::chrono::microseconds(50));
  m.observe_ari("originate", 200, std::chrono::microseconds(400));
  m.observe_ari("originate", 0, std::chrono::seconds(10));
  metrics::Gauges g;
  g.ari_connected = true;
  g.active_calls = 7;
  const std::string text = m.render(g, {});
  EXPECT_TRUE(has_line(
      text,
      "asterisk_api_http_requests_total{method=\"GET\",route=\"/calls/:id\",status=\"200\"} 1"))
      << text;
  EXPECT_TRUE(has_line(
      text,
      "asterisk_api_http_requests_total{method=\"GET\",route=\"/calls/:id\",status=\"404\"} 1"));
  EXPECT_TRUE(has_line(
      text,
      "asterisk_api_http_requests_total{method=\"GET\",route=\"unmatched\",status=\"404\"} 1"));
  EXPECT_TRUE(has_line(text,
                       "asterisk_api_http_request_duration_seconds_bucket{method=\"GET\",route=\"/"
                       "calls/:id\",le=\"0.0001\"} 1"));
  EXPECT_TRUE(has_line(text,
                       "asterisk_api_http_request_duration_seconds_count{method=\"GET\",route=\"/"
                       "calls/:id\"} 2"));
  EXPECT_TRUE(
      has_line(text, "asterisk_api_ari_requests_total{operation=\"originate\",status=\"2xx\"} 1"));
  EXPECT_TRUE(has_line(
      text, "asterisk_api_ari_requests_total{operation=\"originate\",status=\"no_response\"} 1"));
  EXPECT_TRUE(has_line(text,
                       "asterisk_api_ari_request_duration_seconds_bucket{operation=\"originate\","
                       "le=\"10\"} 2"));
  EXPECT_TRUE(has_line(text, "asterisk_api_ari_connected 1"));
  EXPECT_TRUE(has_line(text, "asterisk_api_active_calls 7"));
}

TEST(ProcessStats, ReadsThisProcess) {
  const auto p = read_process_stats();
  EXPECT_GT(p.resident_bytes, 1024u * 1024u);
  EXPECT_GT(p.open_fds, 0u);
  EXPECT_GT(p.start_time_seconds, 1.6e9);
  EXPECT_GT(p.max_fds, 0u);
}
