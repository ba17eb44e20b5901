// Every label value of /metrics comes from a closed set: what a client or
// Asterisk can invent (HTTP methods, hangup cause numbers, odd statuses) must
// not add series for ever.
#include <gtest/gtest.h>

#include <sstream>

#include "metrics/service_metrics.hpp"

namespace aa::metrics {
namespace {

/// Sample lines (not comments) of a scrape.
size_t series_count(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') ++n;
  return n;
}

calls::DomainEvent ended(std::string cause) {
  auto rec = std::make_shared<calls::CallRecord>();
  rec->id = "c1";
  rec->direction = calls::Direction::inbound;
  rec->answered_at_ms = 1000;
  rec->hangup_cause = cause;
  calls::DomainEvent e;
  e.kind = calls::EventKind::call_ended;
  e.call = rec;
  e.cause = cause;
  return e;
}

TEST(MetricLabels, InventedHttpMethodsAddNoSeries) {
  ServiceMetrics m;
  m.observe_http("GET", "/calls", 200, std::chrono::microseconds(10));
  m.observe_http("INVENTED", "", 404, std::chrono::microseconds(10));
  const size_t before = series_count(m.render({}, {}));
  for (int i = 0; i < 1000; ++i)
    m.observe_http("X" + std::string(200, 'M') + std::to_string(i), i % 2 ? "" : "/calls", 404,
                   std::chrono::microseconds(10));
  const std::string text = m.render({}, {});
  // One more route for "other" (/calls), nothing per method.
  EXPECT_LE(series_count(text), before + 20);
  EXPECT_EQ(text.find("MMMM"), std::string::npos);
  EXPECT_NE(text.find("method=\"other\",route=\"unmatched\",status=\"404\"} 501"),
            std::string::npos)
      << text;
  for (const char* known : {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"}) {
    ServiceMetrics k;
    k.observe_http(known, "/calls", 200, std::chrono::microseconds(10));
    EXPECT_NE(k.render({}, {}).find(std::string("method=\"") + known + "\""), std::string::npos);
  }
}

TEST(MetricLabels, UnnamedHangupCausesAreOther) {
  ServiceMetrics m;
  m.publish(ended("normal"));
  for (int i = 0; i < 500; ++i) m.publish(ended("cause_" + std::to_string(i)));
  m.publish(ended("something an attacker chose"));
  const std::string text = m.render({}, {});
  EXPECT_NE(text.find("cause=\"normal\"} 1"), std::string::npos);
  EXPECT_NE(text.find("cause=\"other\"} 501"), std::string::npos) << text;
  EXPECT_EQ(text.find("cause_1"), std::string::npos);
}

TEST(MetricLabels, AriOperationsAndStatusClassesAreBounded) {
  ServiceMetrics m;
  m.observe_ari("originate", 200, std::chrono::microseconds(10));
  m.observe_ari("originate", 999, std::chrono::microseconds(10));
  m.observe_ari("Bad Name!", 200, std::chrono::microseconds(10));
  for (int i = 0; i < 500; ++i)
    m.observe_ari("op_" + std::string(1, static_cast<char>('a' + i % 26)) + std::to_string(i), 200,
                  std::chrono::microseconds(10));
  const std::string text = m.render({}, {});
  EXPECT_NE(text.find("operation=\"originate\",status=\"other\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("operation=\"other\""), std::string::npos);
  size_t ops = 0;
  for (size_t p = 0;
       (p = text.find("asterisk_api_ari_request_duration_seconds_count{", p)) != std::string::npos;
       ++p)
    ++ops;
  EXPECT_LE(ops, 64u);
  // Odd HTTP statuses are one "other" status.
  m.observe_http("GET", "/calls", 1234, std::chrono::microseconds(10));
  EXPECT_NE(m.render({}, {}).find("status=\"other\"} 1"), std::string::npos);
}

}  // namespace
}  // namespace aa::metrics
