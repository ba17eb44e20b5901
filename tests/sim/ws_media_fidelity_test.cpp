// Fidelity of chan_websocket: replays the scenarios of
// ../shared/ari-traces/chan-websocket-*.jsonl against the simulator with the
// same channel ids, and compares, per channel, the significant events (as
// tests/sim/fidelity_test.cpp writes them), the control texts exchanged on the
// media socket (connection ids and channel names mapped to the simulator's),
// the handshake statuses and the close codes.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "raw_ws.hpp"
#include "sim_harness.hpp"

using namespace aa;
using simtest::EventLog;
using simtest::Harness;
using simtest::RawWs;
namespace fs = std::filesystem;

namespace {

std::optional<fs::path> traces_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("AA_SHARED_DIR")) candidates.emplace_back(env);
  candidates.emplace_back("../shared");
  candidates.emplace_back("../../shared");
  for (const auto& c : candidates)
    if (fs::exists(c / "ari-traces" / "chan-websocket-basic.jsonl")) return c / "ari-traces";
  return std::nullopt;
}

struct Trace {
  std::vector<json::Document> lines;
  /// Significant events of channel `id`.
  std::vector<std::string> channel(const std::string& id) const;
  /// Texts of `direction` ("in" / "out") on `socket` in steps starting with `step`.
  std::vector<std::string> texts(const std::string& socket, const std::string& direction,
                                 const std::string& step) const;
  /// (connection id, channel name) that externalMedia gave channel `id`.
  std::pair<std::string, std::string> ids(const std::string& id) const {
    for (const auto& line : lines) {
      if (json::get_string(line, "kind") != "rest") continue;
      const json::Value* body = json::find(line, "body");
      if (!body || !body->IsObject() || json::get_string(*body, "id") != id) continue;
      if (const json::Value* vars = json::find(*body, "channelvars"))
        return {std::string(json::get_string(*vars, "MEDIA_WEBSOCKET_CONNECTION_ID")),
                std::string(json::get_string(*body, "name"))};
    }
    return {};
  }
};

const std::set<std::string> kSignificant = {"Dial",
                                            "ChannelStateChange",
                                            "StasisStart",
                                            "StasisEnd",
                                            "ChannelHangupRequest",
                                            "ChannelDestroyed",
                                            "ChannelDtmfReceived",
                                            "ChannelEnteredBridge",
                                            "ChannelLeftBridge"};

std::string signature(const json::Value& ev) {
  const std::string type(json::get_string(ev, "type"));
  if (type == "Dial") return type + "|" + std::string(json::get_string(ev, "dialstatus"));
  std::string s = type;
  if (const json::Value* ch = json::find(ev, "channel"))
    s += "|" + std::string(json::get_string(*ch, "state"));
  if (type == "ChannelHangupRequest" || type == "ChannelDestroyed") {
    if (auto* c = json::find(ev, "cause")) s += "|cause=" + std::to_string(c->GetInt64());
    if (json::get_bool(ev, "soft")) s += "|soft";
  }
  if (type == "ChannelDtmfReceived") s += "|" + std::string(json::get_string(ev, "digit"));
  return s;
}

std::string channel_of(const json::Value& ev) {
  if (const json::Value* ch = json::find(ev, "channel"))
    return std::string(json::get_string(*ch, "id"));
  if (const json::Value* p = json::find(ev, "peer")) return std::string(json::get_string(*p, "id"));
  return {};
}

std::vector<std::string> Trace::channel(const std::string& id) const {
  std::vector<std::string> out;
  for (const auto& line : lines) {
    if (json::get_string(line, "kind") != "event") continue;
    const json::Value* ev = json::find(line, "event");
    if (ev && kSignificant.count(std::string(json::get_string(*ev, "type"))) &&
        channel_of(*ev) == id)
      out.push_back(signature(*ev));
  }
  return out;
}

std::vector<std::string> Trace::texts(const std::string& socket, const std::string& direction,
                                      const std::string& step) const {
  std::vector<std::string> out;
  for (const auto& line : lines)
    if (json::get_string(line, "kind") == "media-text" &&
        json::get_string(line, "socket") == socket &&
        json::get_string(line, "direction") == direction &&
        std::string(json::get_string(line, "step")).rfind(step, 0) == 0)
      out.emplace_back(json::get_string(line, "text"));
  return out;
}

std::vector<std::string> sim_channel(const EventLog& log, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& e : log.events) {
    auto doc = json::parse(e.raw);
    if (doc && kSignificant.count(e.type) && channel_of(*doc) == id) out.push_back(signature(*doc));
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "  " + x + "\n";
  return s;
}

/// Replace every `from` by `to` in `s`.
std::string mapped(std::string s, const std::map<std::string, std::string>& ids) {
  for (const auto& [from, to] : ids)
    for (size_t pos = s.find(from); pos != std::string::npos; pos = s.find(from, pos + to.size()))
      s.replace(pos, from.size(), to);
  return s;
}

class WsFidelity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = traces_dir();
    if (!dir_) GTEST_SKIP() << "../shared/ari-traces not found; set AA_SHARED_DIR";
  }
  Trace trace(const std::string& name) {
    Trace t;
    std::ifstream f(*dir_ / name);
    std::string line;
    while (std::getline(f, line))
      if (auto d = json::parse(line)) t.lines.push_back(std::move(*d));
    return t;
  }
  void expect_same(const std::vector<std::string>& want, const std::vector<std::string>& got,
                   const std::string& what) {
    EXPECT_FALSE(want.empty()) << what << ": nothing in the trace";
    EXPECT_EQ(want, got) << what << "\ntrace:\n" << join(want) << "simulator:\n" << join(got);
  }
  std::optional<fs::path> dir_;
};

/// externalMedia with the trace's ids; returns (connection id, channel name).
awaitable<std::pair<std::string, std::string>> create(Harness& h, std::string id,
                                                      std::string extra = {}) {
  auto r = co_await h.ari("POST",
                          "/channels/externalMedia?app=openclaw-voice&transport=websocket&"
                          "encapsulation=none&connection_type=server&format=slin16&channelId=" +
                              id + extra);
  EXPECT_EQ(r.status, 200) << r.body;
  auto d = simtest::parse_body(r);
  const json::Value* vars = json::find(d, "channelvars");
  co_return std::make_pair(
      vars ? std::string(json::get_string(*vars, "MEDIA_WEBSOCKET_CONNECTION_ID")) : "",
      std::string(json::get_string(d, "name")));
}

awaitable<std::shared_ptr<RawWs>> connect(Harness& h, std::string conn,
                                          std::string protocol = "media") {
  auto ws = std::make_shared<RawWs>(h.io.get_executor());
  co_await ws->open(h.port, "/media/" + conn, protocol);
  co_return ws;
}

/// Send the trace's texts of one step in order, pacing like the recorder: after
/// each, wait until as many replies came as the trace had by then (or 300 ms).
awaitable<void> replay_texts(const Trace& t, std::shared_ptr<RawWs> ws, std::string socket,
                             std::string step, std::map<std::string, std::string> ids) {
  size_t replies = 0;
  const size_t before = ws->texts().size();
  bool in_step = false;
  for (const auto& line : t.lines) {
    const bool match = std::string(json::get_string(line, "step")).rfind(step, 0) == 0;
    if (in_step && !match) break;
    in_step = in_step || match;
    if (!match || json::get_string(line, "kind") != "media-text" ||
        json::get_string(line, "socket") != socket)
      continue;
    if (json::get_string(line, "direction") == "in") {
      ++replies;
      continue;
    }
    if (replies > 0)
      co_await Harness::until([&] { return ws->texts().size() >= before + replies; }, 300);
    co_await ws->send_text(mapped(std::string(json::get_string(line, "text")), ids));
  }
  co_await Harness::until([&] { return ws->texts().size() >= before + replies; }, 2000);
  co_await sleep_for(std::chrono::milliseconds(100));
}

}  // namespace

TEST_F(WsFidelity, ErrorsAndLifecycle) {
  const Trace t = trace("chan-websocket-errors-and-lifecycle.jsonl");
  Harness h(1.0);
  h.run(
      [&]() -> awaitable<void> {
        auto ev = co_await h.events();
        // a: unknown id.
        auto unknown = co_await connect(h, "00000000-0000-0000-0000-000000000000");
        EXPECT_EQ(unknown->status, 404);
        // b, c: subprotocol foo (400), none (101), a second connection (409); we close (1000).
        auto [conn_a, name_a] = co_await create(h, "cw-err-a-zj4h6");
        EXPECT_EQ((co_await connect(h, conn_a, "foo"))->status, 400);
        auto a = co_await connect(h, conn_a, "");
        EXPECT_EQ(a->status, 101);
        EXPECT_EQ((co_await connect(h, conn_a))->status, 409);
        EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-err-a-zj4h6"));
        co_await a->send_close(1000, "client done");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-err-a-zj4h6"));
        EXPECT_TRUE(co_await Harness::until([&] { return a->closed; }));
        EXPECT_EQ(a->close_code, 1000);
        // c2: TCP dropped.
        auto [conn_g, name_g] = co_await create(h, "cw-err-g-zj4h6");
        auto g = co_await connect(h, conn_g);
        EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-err-g-zj4h6"));
        g->drop();
        EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-err-g-zj4h6"));
        // d: DELETE while connected.
        auto [conn_b, name_b] = co_await create(h, "cw-err-b-zj4h6");
        auto b = co_await connect(h, conn_b);
        EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-err-b-zj4h6"));
        co_await h.ari("DELETE", "/channels/cw-err-b-zj4h6");
        EXPECT_TRUE(co_await Harness::until([&] { return b->closed; }));
        EXPECT_EQ(b->close_code, 1000);
        // e: DELETE before any connection, then its id is unknown.
        auto [conn_f, name_f] = co_await create(h, "cw-err-f-zj4h6");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "Dial", "cw-err-f-zj4h6"));
        co_await h.ari("DELETE", "/channels/cw-err-f-zj4h6");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-err-f-zj4h6"));
        EXPECT_EQ((co_await connect(h, conn_f))->status, 404);
        // f: HANGUP.
        auto [conn_h, name_h] = co_await create(h, "cw-err-h-zj4h6");
        auto hs = co_await connect(h, conn_h);
        EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-err-h-zj4h6"));
        co_await hs->send_text("HANGUP");
        EXPECT_TRUE(co_await Harness::until([&] { return hs->closed; }));
        EXPECT_EQ(hs->close_code, 1000);
        // g: bridged with a Local leg whose far end hangs up; then GET_STATUS, DELETE.
        auto [conn_c, name_c] = co_await create(h, "cw-err-c-zj4h6");
        auto c = co_await connect(h, conn_c);
        EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-err-c-zj4h6"));
        co_await h.ari("POST",
                       "/channels?endpoint=Local/"
                       "106@test-answer&app=openclaw-voice&channelId=cw-err-l106-zj4h6");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-err-l106-zj4h6"));
        co_await h.ari("POST", "/bridges?type=mixing&bridgeId=cw-err-brc-zj4h6");
        co_await h.ari(
            "POST",
            "/bridges/cw-err-brc-zj4h6/addChannel?channel=cw-err-c-zj4h6,cw-err-l106-zj4h6");
        co_await h.control("POST", "/channels/cw-err-l106-zj4h6/hangup", R"({"cause":16})");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-err-l106-zj4h6"));
        co_await replay_texts(t, c, "C", "g:", std::map<std::string, std::string>());
        EXPECT_EQ(c->texts().size(), 2u);  // MEDIA_START and STATUS: nothing else arrived
        EXPECT_EQ(c->count_binary(), 0u);
        co_await h.ari("DELETE", "/channels/cw-err-c-zj4h6");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-err-c-zj4h6"));
        // h: DTMF from the bridged far end.
        auto [conn_d, name_d] = co_await create(h, "cw-err-d-zj4h6");
        auto d = co_await connect(h, conn_d);
        EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-err-d-zj4h6"));
        co_await h.ari("POST",
                       "/channels?endpoint=Local/"
                       "104@test-answer&app=openclaw-voice&channelId=cw-err-l104-zj4h6");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-err-l104-zj4h6"));
        co_await h.ari("POST", "/bridges?type=mixing&bridgeId=cw-err-brd-zj4h6");
        co_await h.ari(
            "POST",
            "/bridges/cw-err-brd-zj4h6/addChannel?channel=cw-err-d-zj4h6,cw-err-l104-zj4h6");
        co_await h.control("POST", "/channels/cw-err-l104-zj4h6/dtmf", R"({"digits":"123"})");
        EXPECT_TRUE(co_await Harness::until([&] { return d->texts().size() >= 4; }, 5000));
        const auto [trace_conn_d, trace_name_d] = t.ids("cw-err-d-zj4h6");
        std::map<std::string, std::string> to_sim_d;
        to_sim_d[trace_conn_d] = conn_d;
        to_sim_d[trace_name_d] = name_d;
        std::vector<std::string> want_d;
        for (const auto& x : t.texts("D", "in", "h:")) want_d.push_back(mapped(x, to_sim_d));
        expect_same(want_d, d->texts(), "MEDIA_START and DTMF_END texts");
        co_await h.ari("DELETE", "/channels/cw-err-l104-zj4h6");
        co_await h.ari("DELETE", "/channels/cw-err-d-zj4h6");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-err-d-zj4h6"));
        // i: no auto answer until ANSWER.
        auto [conn_n, name_n] = co_await create(h, "cw-err-n-zj4h6", "&transport_data=n");
        auto n = co_await connect(h, conn_n);
        co_await sleep_for(std::chrono::milliseconds(300));
        EXPECT_FALSE(Harness::has_event(*ev, "StasisStart", "cw-err-n-zj4h6"));
        co_await n->send_text("ANSWER");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-err-n-zj4h6"));
        co_await h.ari("DELETE", "/channels/cw-err-n-zj4h6");
        EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-err-n-zj4h6"));
        EXPECT_TRUE(co_await Harness::until([&] { return n->closed; }));
        EXPECT_EQ(n->close_code, 1000);

        const std::vector<std::string> replayed = {
            "cw-err-a-zj4h6", "cw-err-g-zj4h6", "cw-err-b-zj4h6", "cw-err-f-zj4h6",
            "cw-err-h-zj4h6", "cw-err-c-zj4h6", "cw-err-d-zj4h6", "cw-err-n-zj4h6"};
        for (const auto& id : replayed) expect_same(t.channel(id), sim_channel(*ev, id), id);
        // MEDIA_START, mapped to the simulator's connection id and channel name.
        const auto trace_ids = t.ids("cw-err-n-zj4h6");
        std::map<std::string, std::string> to_sim;
        to_sim[trace_ids.first] = conn_n;
        to_sim[trace_ids.second] = name_n;
        std::vector<std::string> want(1, mapped(t.texts("N", "in", "i:").at(0), to_sim));
        std::vector<std::string> got_start(1, n->texts().at(0));
        expect_same(want, got_start, "MEDIA_START (plain)");
      },
      std::chrono::seconds(60));
}

TEST_F(WsFidelity, NeverConnectedChannel) {
  const Trace t = trace("chan-websocket-errors-and-lifecycle.jsonl");
  Harness h(0.01);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    co_await create(h, "cw-err-u-zj4h6");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-err-u-zj4h6", 10000));
    expect_same(t.channel("cw-err-u-zj4h6"), sim_channel(*ev, "cw-err-u-zj4h6"), "never connected");
  });
}

TEST_F(WsFidelity, JsonControlDialogue) {
  const Trace t = trace("chan-websocket-json-control.jsonl");
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [conn, name] = co_await create(h, "cw-json-zlpdm", "&transport_data=f(json)");
    auto ws = co_await connect(h, conn);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-json-zlpdm"));
    const auto trace_ids = t.ids("cw-json-zlpdm");
    std::map<std::string, std::string> ids;
    ids[trace_ids.first] = conn;
    ids[trace_ids.second] = name;
    EXPECT_TRUE(co_await Harness::until([&] { return !ws->messages.empty(); }));
    std::vector<std::string> want_start(
        1, mapped(t.texts("media", "in", "connect media socket").at(0), ids));
    std::vector<std::string> got_start(1, ws->texts().at(0));
    expect_same(want_start, got_start, "JSON MEDIA_START");
    co_await replay_texts(t, ws, "media", "commands while alone", ids);
    auto got = ws->texts();
    got.erase(got.begin());
    std::vector<std::string> want;
    for (const auto& x : t.texts("media", "in", "commands while alone"))
      want.push_back(mapped(x, ids));
    expect_same(want, got, "commands while alone");
    // Bad and missing directions.
    const size_t before = ws->texts().size();
    co_await replay_texts(t, ws, "media", "SET_MEDIA_DIRECTION both", ids);
    got = ws->texts();
    got.erase(got.begin(), got.begin() + static_cast<std::ptrdiff_t>(before));
    expect_same(t.texts("media", "in", "SET_MEDIA_DIRECTION both"), got, "direction errors");
    // HANGUP while bridged.
    co_await h.ari(
        "POST",
        "/channels?endpoint=Local/105@test-answer&app=openclaw-voice&channelId=cw-json-loc-zlpdm");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-json-loc-zlpdm"));
    co_await h.ari("POST", "/bridges?type=mixing&bridgeId=cw-json-br-zlpdm");
    co_await h.ari("POST",
                   "/bridges/cw-json-br-zlpdm/addChannel?channel=cw-json-zlpdm,cw-json-loc-zlpdm");
    co_await ws->send_text(R"({"command":"HANGUP"})");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-json-zlpdm"));
    EXPECT_TRUE(co_await Harness::until([&] { return ws->closed; }));
    EXPECT_EQ(ws->close_code, 1000);
    expect_same(t.channel("cw-json-zlpdm"), sim_channel(*ev, "cw-json-zlpdm"), "JSON channel");
  });
}

TEST_F(WsFidelity, PlainErrorsAndXoffOversizedMessage) {
  const Trace buf = trace("chan-websocket-buffering-mark-flush.jsonl");
  const Trace xoff = trace("chan-websocket-xoff.jsonl");
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [conn, name] = co_await create(h, "cw-buf-zkla4");
    auto ws = co_await connect(h, conn);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-buf-zkla4"));
    const size_t before = 1;
    EXPECT_TRUE(co_await Harness::until([&] { return ws->texts().size() >= before; }));
    co_await replay_texts(buf, ws, "media", "j:", std::map<std::string, std::string>());
    auto got = ws->texts();
    got.erase(got.begin());
    expect_same(buf.texts("media", "in", "j:"), got, "plain-text errors and silences");

    // 70000 bytes while bridged: 1009 and cause 38 all the way.
    auto [xconn, xname] = co_await create(h, "cw-xoff-zl88g");
    auto x = co_await connect(h, xconn);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-xoff-zl88g"));
    co_await h.ari(
        "POST",
        "/channels?endpoint=Local/105@test-answer&app=openclaw-voice&channelId=cw-xoff-loc-zl88g");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cw-xoff-loc-zl88g"));
    co_await h.ari("POST", "/bridges?type=mixing&bridgeId=cw-xoff-br-zl88g");
    co_await h.ari("POST",
                   "/bridges/cw-xoff-br-zl88g/addChannel?channel=cw-xoff-zl88g,cw-xoff-loc-zl88g");
    co_await x->send_binary(std::string(70000, '\0'));
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cw-xoff-zl88g"));
    EXPECT_TRUE(co_await Harness::until([&] { return x->closed; }));
    int code = -1;
    for (const auto& line : xoff.lines)
      if (json::get_string(line, "kind") == "media-close")
        code = static_cast<int>(json::get_int(line, "code"));
    EXPECT_EQ(x->close_code, code);
    expect_same(xoff.channel("cw-xoff-zl88g"), sim_channel(*ev, "cw-xoff-zl88g"),
                "oversized message");
  });
}
