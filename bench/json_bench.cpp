// JSON path benchmark: parse an ARI StasisStart event into our typed model, build
// the domain event and serialize the /events envelope — per event — next to
// Node's JSON.parse + JSON.stringify of the same payload (when node is on PATH).
// Prints a table and one JSON line for bench/results.json.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

#include "api/wire.hpp"
#include "ari/models.hpp"
#include "calls/model.hpp"

using namespace aa;

namespace {

const char* kStasisStart =
    R"json({"type":"StasisStart","timestamp":"2026-11-26T02:37:01.169+0000","args":[],"channel":{"id":"1795660619.105","name":"Local/101@test-answer-0000002a;1","state":"Up","protocol_id":"","caller":{"name":"","number":""},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"test-answer","exten":"101","priority":1,"app_name":"AppDial2","app_data":"(Outgoing Line)"},"creationtime":"2026-11-26T02:36:59.864+0000","language":"en"},"asterisk_id":"02:fc:00:00:00:01","application":"openclaw-voice"})json";

double ours_ns_per_event(int iterations, size_t& sink) {
  calls::CallRecord rec;
  rec.id = "8a4c2f0e-1b2c-4d5e-8f90-123456789abc";
  rec.direction = calls::Direction::outbound;
  rec.callee_number = "Local/101@test-answer";
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < iterations; ++i) {
    auto e = ari::parse_event(kStasisStart);
    calls::DomainEvent d;
    d.kind = calls::EventKind::call_ready;
    d.seq = static_cast<uint64_t>(i);
    d.timestamp_ms = 1795660619105;
    d.call_id = rec.id;
    d.state = calls::CallState::answered;
    rec.channel_id = e->channel->id;
    d.call = std::make_shared<const calls::CallRecord>(rec);
    std::string out = api::event_envelope(d);
    sink += out.size();
  }
  auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::nano>(t1 - t0).count() / iterations;
}

double node_ns_per_event(int iterations) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) return -1;
  std::string script = "/tmp/aa_json_bench.js";
  std::ofstream js(script);
  js << "const s = "
     << "'" << kStasisStart << "';\n"
     << "let n = 0; const N = " << iterations << ";\n"
     << "for (let i = 0; i < 20000; i++) { const o = JSON.parse(s); o.seq = i; n += "
        "JSON.stringify(o).length; }\n"
     << "const t0 = process.hrtime.bigint();\n"
     << "for (let i = 0; i < N; i++) { const o = JSON.parse(s); o.seq = i; n += "
        "JSON.stringify(o).length; }\n"
     << "const t1 = process.hrtime.bigint();\n"
     << "console.log(Number(t1 - t0) / N, n);\n";
  js.close();
  FILE* p = popen(("node " + script).c_str(), "r");
  if (!p) return -1;
  double ns = -1;
  if (std::fscanf(p, "%lf", &ns) != 1) ns = -1;
  pclose(p);
  return ns;
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::atoi(argv[1]) : 200000;
  size_t sink = 0;
  ours_ns_per_event(iterations / 10, sink);  // warm-up
  double ours = ours_ns_per_event(iterations, sink);
  double node = node_ns_per_event(iterations);
  std::printf("JSON path per ARI StasisStart event (parse + envelope + serialize)\n");
  std::printf("  %-40s %10.2f us\n", "asterisk-api (RapidJSON, typed model)", ours / 1000);
  if (node > 0) {
    std::printf("  %-40s %10.2f us\n", "node JSON.parse + JSON.stringify", node / 1000);
    std::printf("  %-40s %10.2fx\n", "node / ours", node / ours);
  } else {
    std::printf("  node not found: comparison skipped\n");
  }
  std::printf(
      "{\"json_path\":{\"ours_us\":%.3f,\"node_us\":%s,\"iterations\":%d,\"checksum\":%zu}}\n",
      ours / 1000, node > 0 ? std::to_string(node / 1000).c_str() : "null", iterations, sink);
  return 0;
}
