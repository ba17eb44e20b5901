// The whole service through real sockets against the in-process ARI simulator:
// every route with its success and error statuses, auth on HTTP and WebSocket,
// inbound call → auto-answer → DTMF → hangup with the WS events and webhooks.
#include <gtest/gtest.h>

#include <algorithm>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>

#include "http/harness.hpp"
#include "sinks/webhook_sender.hpp"

using namespace aa;
using aa::test::body_of;
using aa::test::Service;
using aa::test::wav_bytes;

namespace {

std::vector<std::string> details(const net::ClientResponse& r) {
  std::vector<std::string> out;
  auto d = body_of(r);
  if (const auto* a = json::find(d, "details"); a && a->IsArray())
    for (const auto& x : a->GetArray()) out.emplace_back(json::as_view(x));
  return out;
}

bool has_prefix(const std::vector<std::string>& v, std::string_view p) {
  return std::any_of(v.begin(), v.end(), [&](const auto& s) { return s.rfind(p, 0) == 0; });
}

std::string header(const net::ClientResponse& r, std::string_view name) {
  return std::string(r.header(name));
}

/// Index of the first message of `type` (and `callId` when given) at or after `from`; -1 if none.
int find_event(const test::WsLog& log, std::string_view type, std::string_view call_id,
               size_t from = 0) {
  for (size_t i = from; i < log.raw.size(); ++i) {
    auto d = json::parse(log.raw[i]);
    if (!d) continue;
    if (json::get_string(*d, "type") == type &&
        (call_id.empty() || json::get_string(*d, "callId") == call_id))
      return static_cast<int>(i);
  }
  return -1;
}

/// Send `request` on a fresh connection and return what comes back until the peer closes.
awaitable<std::string> raw_exchange(uint16_t port, std::string request) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::socket sock(ex);
  const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  co_await sock.async_connect(ep, use_awaitable);
  co_await asio::async_write(sock, asio::buffer(request), use_awaitable);
  std::string out;
  char buf[4096];
  for (;;) {
    boost::system::error_code ec;
    size_t n =
        co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    out.append(buf, n);
    if (ec) break;
  }
  co_return out;
}

}  // namespace

TEST(ApiE2E, IndexIsOpenAndListsEveryRoute) {
  test::HarnessOptions o;
  o.api_key = "k3y";
  Service s(o);
  s.run([&]() -> awaitable<void> {
    auto r = co_await s.call("GET", "/", {}, {}, {});
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "application/json");
    auto d = body_of(r);
    EXPECT_EQ(json::get_string(d, "name"), "asterisk-api");
    EXPECT_FALSE(json::get_string(d, "version").empty());
    EXPECT_FALSE(json::get_string(d, "description").empty());
    const auto* eps = json::find(d, "endpoints");
    EXPECT_TRUE(eps && eps->IsObject());
    if (!eps) co_return;
    for (const char* k : {"GET  /",
                          "GET  /health",
                          "GET  /endpoints",
                          "GET  /calls",
                          "GET  /calls/:id",
                          "POST /calls",
                          "DELETE /calls/:id",
                          "POST /calls/:id/play",
                          "POST /calls/:id/play/file",
                          "POST /calls/:id/record",
                          "POST /calls/:id/dtmf",
                          "POST /calls/:id/transfer",
                          "POST /bridges",
                          "GET  /bridges",
                          "GET  /bridges/:id",
                          "DELETE /bridges/:id",
                          "POST /bridges/:id/addChannel",
                          "POST /bridges/:id/removeChannel",
                          "GET  /recordings",
                          "GET  /recordings/:name",
                          "GET  /recordings/:name/file",
                          "POST /recordings/:name/copy",
                          "DELETE /recordings/:name",
                          "GET  /events"})
      EXPECT_TRUE(json::find(*eps, k)) << k;
  });
}

TEST(ApiE2E, AuthOnHttpAndWebSocket) {
  test::HarnessOptions o;
  o.api_key = "k3y";
  Service s(o);
  s.run([&]() -> awaitable<void> {
    auto none = co_await s.call("GET", "/health", {}, {}, {});
    EXPECT_EQ(none.status, 401);
    EXPECT_EQ(none.content_type, "application/json");
    EXPECT_EQ(json::get_string(body_of(none), "code"), "UNAUTHORIZED");
    std::vector<net::Header> arg1 = {{"X-API-Key", "nope"}};
    auto wrong = co_await s.call("GET", "/calls", {}, {}, arg1);
    EXPECT_EQ(wrong.status, 401);
    // Media files are fetched by Asterisk without a key: the long token is their secret.
    auto media =
        co_await s.call("GET", "/media/0123456789abcdef0123456789abcdef/x.wav", {}, {}, {});
    EXPECT_EQ(media.status, 404);
    auto media_post =
        co_await s.call("POST", "/media/0123456789abcdef0123456789abcdef/x.wav", {}, {}, {});
    EXPECT_EQ(media_post.status, 401);
    auto unknown = co_await s.call("GET", "/no-such-route", {}, {}, {});
    EXPECT_EQ(unknown.status, 401);  // auth first: routes are not revealed
    std::vector<net::Header> arg2 = {{"X-API-Key", "k3y"}};
    auto h = co_await s.call("GET", "/health", {}, {}, arg2);
    EXPECT_EQ(h.status, 200);
    auto q = co_await s.call("GET", "/calls?api_key=k3y", {}, {}, {});
    EXPECT_EQ(q.status, 200);
    std::vector<net::Header> arg3 = {{"Authorization", "Bearer k3y"}};
    auto b = co_await s.call("GET", "/calls", {}, {}, arg3);
    EXPECT_EQ(b.status, 200);

    int status = 0;
    std::string t1 = "/events";
    auto refused = co_await s.connect_events(std::move(t1), {}, &status);
    EXPECT_FALSE(refused->ws);
    EXPECT_EQ(status, 401);
    std::string t2 = "/events?api_key=wrong";
    auto refused2 = co_await s.connect_events(std::move(t2), {}, &status);
    EXPECT_FALSE(refused2->ws);
    EXPECT_EQ(status, 401);
    std::string t3 = "/events?api_key=k3y";
    auto ok = co_await s.connect_events(std::move(t3), {}, &status);
    EXPECT_TRUE(ok->ws);
    std::string t4 = "/events";
    std::vector<net::Header> arg4 = {{"Authorization", "Bearer k3y"}};
    auto ok2 = co_await s.connect_events(std::move(t4), arg4, &status);
    EXPECT_TRUE(ok2->ws);
    const bool snap = co_await test::until([&] { return !ok->raw.empty() && !ok2->raw.empty(); });
    EXPECT_TRUE(snap);
    if (snap) {
      EXPECT_EQ(ok->types().front(), "snapshot");
    }
    std::string t5 = "/other";
    std::vector<net::Header> arg5 = {{"X-API-Key", "k3y"}};
    auto nowhere = co_await s.connect_events(std::move(t5), arg5, &status);
    EXPECT_FALSE(nowhere->ws);
    EXPECT_EQ(status, 404);
  });
}

TEST(ApiE2E, HealthAndEndpoints) {
  Service s;
  s.run([&]() -> awaitable<void> {
    const bool up = co_await s.ready();
    EXPECT_TRUE(up);
    auto h = co_await s.get("/health");
    EXPECT_EQ(h.status, 200);
    auto d = body_of(h);
    EXPECT_EQ(json::get_string(d, "status"), "ok");
    EXPECT_TRUE(json::get_bool(d, "ari"));
    EXPECT_EQ(json::get_int(d, "activeCalls", -1), 0);
    EXPECT_GE(json::get_int(d, "uptimeSeconds", -1), 0);
    auto e = co_await s.get("/endpoints");
    EXPECT_EQ(e.status, 200);
    auto ed = body_of(e);
    const auto* list = json::find(ed, "endpoints");
    EXPECT_TRUE(list && list->IsArray() && list->Size() >= 1);
    if (list && list->IsArray() && list->Size() > 0) {
      const auto& first = (*list)[0];
      EXPECT_FALSE(json::get_string(first, "technology").empty());
      EXPECT_FALSE(json::get_string(first, "resource").empty());
      EXPECT_TRUE(json::find(first, "state"));
      EXPECT_TRUE(json::find(first, "channel_ids"));
    }
  });
}

TEST(ApiE2E, BadInputGetsClear4xx) {
  Service s;
  s.run([&]() -> awaitable<void> {
    auto bad_json = co_await s.post("/calls", "{\"endpoint\": ");
    EXPECT_EQ(bad_json.status, 400);
    EXPECT_EQ(bad_json.content_type, "application/json");
    EXPECT_FALSE(json::get_string(body_of(bad_json), "error").empty());

    auto types = co_await s.post("/calls", R"({"endpoint":1,"timeout":"x","variables":{"a":2}})");
    EXPECT_EQ(types.status, 400);
    auto d = details(types);
    EXPECT_TRUE(has_prefix(d, "endpoint:"));
    EXPECT_TRUE(has_prefix(d, "timeout:"));
    EXPECT_TRUE(has_prefix(d, "variables.a:"));

    auto missing = co_await s.post("/calls", "");
    EXPECT_EQ(missing.status, 400);
    EXPECT_TRUE(has_prefix(details(missing), "endpoint: is required"));

    auto ct = co_await s.call("POST", "/calls", "endpoint=PJSIP/1001",
                              "application/x-www-form-urlencoded", {});
    EXPECT_EQ(ct.status, 415);
    EXPECT_EQ(ct.content_type, "application/json");

    std::string arg6 = "{\"endpoint\":\"" + std::string(100 * 1024, 'a') + "\"}";
    auto huge = co_await s.post("/calls", arg6);
    EXPECT_EQ(huge.status, 413);
    EXPECT_EQ(huge.content_type, "application/json");

    auto nf = co_await s.get("/nope");
    EXPECT_EQ(nf.status, 404);
    EXPECT_EQ(nf.content_type, "application/json");
    auto na = co_await s.call("PUT", "/calls", "{}", "application/json", {});
    EXPECT_EQ(na.status, 405);
    EXPECT_EQ(header(na, "Allow"), "GET, POST, HEAD");

    auto gone = co_await s.get("/calls/does-not-exist");
    EXPECT_EQ(gone.status, 404);
    auto play_gone = co_await s.post("/calls/does-not-exist/play", R"({"media":"sound:x"})");
    EXPECT_EQ(play_gone.status, 404);
    auto dtmf_bad = co_await s.post("/calls/x/dtmf", R"({"dtmf":"12E"})");
    EXPECT_EQ(dtmf_bad.status, 400);
    auto rec_bad = co_await s.post("/calls/x/record", R"({"format":"mp3","maxDurationSeconds":0})");
    EXPECT_EQ(rec_bad.status, 400);
    EXPECT_EQ(details(rec_bad).size(), 2u);
    auto ev = co_await s.get("/events");
    EXPECT_EQ(ev.status, 426);
    auto media = co_await s.get("/media/0123456789abcdef0123456789abcdef/x.wav");
    EXPECT_EQ(media.status, 404);

    // Bad upload: wrong type, empty, not a WAV, too large.
    auto up_ct = co_await s.call("POST", "/calls/x/play/file", "RIFF", "text/plain", {});
    EXPECT_EQ(up_ct.status, 415);
    auto up_empty = co_await s.call("POST", "/calls/x/play/file", "", "audio/wav", {});
    EXPECT_EQ(up_empty.status, 400);
    auto up_bad =
        co_await s.call("POST", "/calls/x/play/file", "not a wav at all", "audio/wav", {});
    EXPECT_EQ(up_bad.status, 400);
    // Just under the upload limit is read (and judged as a WAV); just over is 413 on the
    // headers. A raw socket, so the 413 can be read without sending 10 MB first.
    std::string arg7 = std::string(10 * 1024 * 1024, 'a');
    auto up_max = co_await s.call("POST", "/calls/x/play/file", arg7, "audio/wav", {});
    EXPECT_EQ(up_max.status, 400);
    std::string big_head = co_await raw_exchange(
        s.port,
        "POST /calls/x/play/file HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
        "Content-Length: 10485761\r\n\r\n");
    EXPECT_EQ(big_head.substr(0, 12), "HTTP/1.1 413") << big_head;
    EXPECT_NE(big_head.find("application/json"), std::string::npos);
    // A JSON route has a 64 KiB limit.
    std::string json_head = co_await raw_exchange(
        s.port,
        "POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 65537\r\n\r\n");
    EXPECT_EQ(json_head.substr(0, 12), "HTTP/1.1 413") << json_head;
  });
}

TEST(ApiE2E, InboundCallAnswerDtmfHangupEventsAndWebhooks) {
  test::HarnessOptions o;
  o.webhook_secret = "whsec";
  Service s(o);
  s.run([&]() -> awaitable<void> {
    const bool up = co_await s.ready();
    EXPECT_TRUE(up);
    auto ws = co_await s.connect_events();
    EXPECT_TRUE(ws->ws);
    co_await test::until([&] { return !ws->raw.empty(); });

    auto in = co_await s.sim("POST", "/inbound", R"({"from":"5551234","to":"100"})");
    EXPECT_EQ(in.status, 201) << in.body;
    const std::string channel(json::get_string(body_of(in), "channelId"));

    const bool created =
        co_await test::until([&] { return find_event(*ws, "call.created", "") >= 0; });
    EXPECT_TRUE(created);
    if (!created) co_return;
    auto cd = json::parse(ws->raw[static_cast<size_t>(find_event(*ws, "call.created", ""))]);
    const std::string call_id(json::get_string(*cd, "callId"));
    EXPECT_EQ(json::get_string(*json::find(*cd, "data"), "direction"), "inbound");
    EXPECT_EQ(json::get_string(*json::find(*cd, "data"), "callerNumber"), "5551234");

    auto answered_seen = [&] {
      for (const auto& m : ws->raw)
        if (auto d = json::parse(m);
            d && json::get_string(*d, "type") == "call.state_changed" &&
            json::get_string(*json::find(*d, "data"), "state") == "answered")
          return true;
      return false;
    };
    const bool answered = co_await test::until(answered_seen);
    EXPECT_TRUE(answered);

    std::string arg8 = "/calls/" + call_id;
    auto got = co_await s.get(arg8);
    EXPECT_EQ(got.status, 200);
    auto gd = body_of(got);
    EXPECT_EQ(json::get_string(*json::find(gd, "call"), "channelId"), channel);
    auto list = co_await s.get("/calls");
    EXPECT_EQ(json::find(body_of(list), "calls")->Size(), 1u);

    std::string arg9 = "/channels/" + channel + "/dtmf";
    auto dt = co_await s.sim("POST", arg9, R"({"digits":"1#","betweenMs":50})");
    EXPECT_EQ(dt.status, 204) << dt.body;
    auto two_digits = [&] {
      int a = find_event(*ws, "call.dtmf", call_id);
      return a >= 0 && find_event(*ws, "call.dtmf", call_id, static_cast<size_t>(a) + 1) >= 0;
    };
    const bool digits = co_await test::until(two_digits);
    EXPECT_TRUE(digits);

    std::string arg10 = "/channels/" + channel + "/hangup";
    auto hup = co_await s.sim("POST", arg10, "{}");
    EXPECT_EQ(hup.status, 204) << hup.body;
    const bool ended =
        co_await test::until([&] { return find_event(*ws, "call.ended", call_id) >= 0; });
    EXPECT_TRUE(ended);

    // The sequence: snapshot, then the call's life in order with a strictly increasing seq.
    std::vector<std::string> seq_types;
    int64_t last_seq = 0;
    std::vector<std::string> digits_seen;
    for (size_t i = 1; i < ws->raw.size(); ++i) {
      auto d = json::parse(ws->raw[i]);
      EXPECT_TRUE(d);
      if (!d) continue;
      const int64_t seq = json::get_int(*d, "seq");
      EXPECT_GT(seq, last_seq);
      last_seq = seq;
      EXPECT_FALSE(json::get_string(*d, "timestamp").empty());
      seq_types.emplace_back(json::get_string(*d, "type"));
      if (seq_types.back() == "call.dtmf")
        digits_seen.emplace_back(json::get_string(*json::find(*d, "data"), "digit"));
    }
    EXPECT_EQ(ws->types().front(), "snapshot");
    EXPECT_EQ(digits_seen, (std::vector<std::string>{"1", "#"}));
    std::string joined;
    for (const auto& t : seq_types) joined += t + " ";
    std::vector<std::string> expected_order = {"call.created", "call.state_changed", "call.dtmf",
                                               "call.dtmf", "call.ended"};
    size_t at = 0;
    for (const auto& t : seq_types)
      if (at < expected_order.size() && t == expected_order[at]) ++at;
    EXPECT_EQ(at, expected_order.size()) << joined;
    // Exactly, as the domain emits it today (the last state change is to "ended").
    EXPECT_EQ(joined,
              "call.created call.inbound call.state_changed call.answered call.ready call.dtmf "
              "call.dtmf call.state_changed call.ended ");
    EXPECT_EQ(seq_types.back(), "call.ended") << joined;

    // Ended calls stay readable.
    std::string arg11 = "/calls/" + call_id;
    auto after = co_await s.get(arg11);
    EXPECT_EQ(after.status, 200);
    EXPECT_EQ(json::get_string(*json::find(body_of(after), "call"), "state"), "ended");

    // Webhooks: the contract's names, in order, signed.
    auto wh_done = [&] {
      for (const auto& w : s.webhooks)
        if (w.event == "call.ended") return true;
      return false;
    };
    const bool whs = co_await test::until(wh_done);
    EXPECT_TRUE(whs);
    std::vector<std::string> names;
    for (const auto& w : s.webhooks) {
      names.push_back(w.event);
      // t=<unix>,v1=<HMAC of "t.body">,sha256=<HMAC of the body>
      const std::string t = w.signature.substr(2, w.signature.find(',') - 2);
      EXPECT_EQ(w.signature, sinks::webhook_signature("whsec", std::stoll(t), w.body));
      auto d = json::parse(w.body);
      EXPECT_TRUE(d);
      if (!d) continue;
      EXPECT_EQ(json::get_string(*d, "event"), w.event);
      EXPECT_EQ(json::get_string(*json::find(*d, "data"), "id"), call_id);
      if (w.event == "call.dtmf") {
        EXPECT_FALSE(json::get_string(*json::find(*d, "data"), "digit").empty());
      }
    }
    std::string wj;
    for (const auto& n : names) wj += n + " ";
    std::vector<std::string> want = {"call.inbound", "call.answered", "call.dtmf", "call.dtmf",
                                     "call.ended"};
    at = 0;
    for (const auto& n : names)
      if (at < want.size() && n == want[at]) ++at;
    EXPECT_EQ(at, want.size()) << wj;
    // call.ready for an inbound call too, once answered (as the original sends it).
    EXPECT_EQ(wj,
              "call.inbound call.answered call.ready call.dtmf call.dtmf call.state_changed "
              "call.ended ");
  });
}

TEST(ApiE2E, OutboundCallMediaRecordingAndHangup) {
  const std::string tmp_dir =
      (std::filesystem::temp_directory_path() / ("aa-http-test-" + random_hex(6))).string();
  std::filesystem::create_directories(tmp_dir);
  test::HarnessOptions o;
  o.temp_dir = tmp_dir;
  Service s(o);
  s.run(
      [&]() -> awaitable<void> {
        const bool up = co_await s.ready();
        EXPECT_TRUE(up);
        auto ws = co_await s.connect_events();
        auto created = co_await s.post(
            "/calls", R"({"endpoint":"PJSIP/1001","callerId":"5550000","timeout":10})");
        EXPECT_EQ(created.status, 201) << created.body;
        auto cd = body_of(created);
        const auto* call = json::find(cd, "call");
        EXPECT_TRUE(call);
        if (!call) co_return;
        const std::string id(json::get_string(*call, "id"));
        EXPECT_EQ(json::get_string(cd, "callId"), id);
        EXPECT_EQ(json::get_string(*call, "callId"), id);
        EXPECT_EQ(json::get_string(*call, "direction"), "outbound");

        const bool ready =
            co_await test::until([&] { return find_event(*ws, "call.ready", id) >= 0; });
        EXPECT_TRUE(ready);

        std::string arg12 = "/calls/" + id + "/play";
        auto play = co_await s.post(arg12, R"({"media":["sound:hello-world","sound:goodbye"]})");
        EXPECT_EQ(play.status, 200) << play.body;
        auto pd = body_of(play);
        EXPECT_EQ(json::get_string(pd, "status"), "ok");
        EXPECT_EQ(json::find(pd, "playbackIds")->Size(), 2u);

        std::string arg13 = "/calls/" + id + "/play";
        auto nowait = co_await s.post(arg13, R"({"media":"sound:hello-world","wait":false})");
        EXPECT_EQ(nowait.status, 202) << nowait.body;
        EXPECT_EQ(json::find(body_of(nowait), "playbackIds")->Size(), 1u);

        std::string arg14 = "/calls/" + id + "/dtmf";
        auto dt = co_await s.post(arg14, R"({"dtmf":"12ab#"})");
        EXPECT_EQ(dt.status, 200) << dt.body;
        auto dd = body_of(dt);
        EXPECT_EQ(json::get_string(dd, "status"), "ok");
        EXPECT_EQ(json::get_string(dd, "callId"), id);
        EXPECT_EQ(json::get_string(dd, "digits"), "12AB#");

        auto wav = wav_bytes(8000);
        std::string arg15 = "/calls/" + id + "/play/file";
        std::vector<net::Header> arg16 = {
            {"Content-Disposition", "attachment; filename=\"greet.wav\""}};
        auto up_file = co_await s.call("POST", arg15, wav, "audio/wav", arg16);
        EXPECT_EQ(up_file.status, 200) << up_file.body;
        EXPECT_EQ(json::get_string(body_of(up_file), "status"), "ok");
        EXPECT_FALSE(json::get_string(body_of(up_file), "soundName").empty());
        // The simulator fetched our /media URL and played it (a failed fetch ends "failed").
        auto media_played = [&] {
          for (const auto& m : ws->raw) {
            auto d = json::parse(m);
            if (!d || json::get_string(*d, "type") != "call.playback_finished") continue;
            const auto* data = json::find(*d, "data");
            if (data && json::get_string(*data, "media").find("/media/") != std::string_view::npos)
              return true;
          }
          return false;
        };
        const bool fetched = co_await test::until(media_played);
        EXPECT_TRUE(fetched);
        for (const auto& m : ws->raw) {
          if (m.find("call.playback_finished") != std::string::npos &&
              m.find("/media/") != std::string::npos) {
            EXPECT_EQ(m.find("\"failed\""), std::string::npos) << m;
          }
        }

        std::string arg17 = "/calls/" + id + "/record";
        auto rec =
            co_await s.post(arg17, R"({"name":"e2e-rec","format":"wav","maxDurationSeconds":300})");
        EXPECT_EQ(rec.status, 201) << rec.body;
        EXPECT_EQ(json::get_string(body_of(rec), "recordingName"), "e2e-rec");
        std::string arg18 = "/calls/" + id + "/record";
        auto dup = co_await s.post(arg18, R"({"name":"e2e-rec"})");
        EXPECT_EQ(dup.status, 409) << dup.body;
        co_await sleep_for(std::chrono::milliseconds(100));
        auto stop = co_await s.del("/recordings/e2e-rec");
        EXPECT_EQ(stop.status, 200) << stop.body;
        EXPECT_EQ(json::get_string(body_of(stop), "status"), "stopped");

        auto stored = [&]() -> bool { return find_event(*ws, "call.recording_finished", id) >= 0; };
        const bool fin = co_await test::until(stored);
        EXPECT_TRUE(fin);

        auto list = co_await s.get("/recordings");
        EXPECT_EQ(list.status, 200);
        EXPECT_NE(list.body.find("\"e2e-rec\""), std::string::npos) << list.body;
        auto one = co_await s.get("/recordings/e2e-rec");
        EXPECT_EQ(one.status, 200);
        EXPECT_EQ(json::get_string(*json::find(body_of(one), "recording"), "format"), "wav");
        auto file = co_await s.get("/recordings/e2e-rec/file");
        EXPECT_EQ(file.status, 200);
        EXPECT_EQ(file.content_type, "audio/wav");
        EXPECT_EQ(file.body.substr(0, 4), "RIFF");
        // The download's temporary file is gone once the response was written.
        const bool cleaned =
            co_await test::until([&] { return std::filesystem::is_empty(tmp_dir); });
        EXPECT_TRUE(cleaned);
        auto copy =
            co_await s.post("/recordings/e2e-rec/copy", R"({"destinationName":"e2e-copy"})");
        EXPECT_EQ(copy.status, 201) << copy.body;
        EXPECT_EQ(json::get_string(*json::find(body_of(copy), "recording"), "name"), "e2e-copy");
        auto del = co_await s.del("/recordings/e2e-copy?stored=true");
        EXPECT_EQ(del.status, 200);
        EXPECT_EQ(json::get_string(body_of(del), "status"), "deleted");
        auto del_again = co_await s.del("/recordings/e2e-copy?stored=true");
        EXPECT_EQ(del_again.status, 404);
        auto missing = co_await s.get("/recordings/nope-nope");
        EXPECT_EQ(missing.status, 404);
        auto missing_file = co_await s.get("/recordings/nope-nope/file");
        EXPECT_EQ(missing_file.status, 404);

        std::string arg19 = "/calls/" + id;
        auto hup = co_await s.del(arg19);
        EXPECT_EQ(hup.status, 200) << hup.body;
        auto hd = body_of(hup);
        EXPECT_EQ(json::get_string(hd, "status"), "hungup");
        EXPECT_EQ(json::get_string(hd, "callId"), id);
        const bool ended =
            co_await test::until([&] { return find_event(*ws, "call.ended", id) >= 0; });
        EXPECT_TRUE(ended);
        std::string arg20 = "/calls/" + id + "/play";
        auto late = co_await s.post(arg20, R"({"media":"sound:x"})");
        EXPECT_EQ(late.status, 409) << late.body;
      },
      std::chrono::seconds(60));
  std::error_code ec;
  std::filesystem::remove_all(tmp_dir, ec);
}

TEST(ApiE2E, OriginateUnknownEndpointIs404) {
  Service s;
  s.run([&]() -> awaitable<void> {
    co_await s.ready();
    auto r = co_await s.post("/calls", R"({"endpoint":"PJSIP/9999"})");
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_EQ(r.content_type, "application/json");
  });
}

TEST(ApiE2E, BridgeLifecycle) {
  Service s;
  s.run([&]() -> awaitable<void> {
    co_await s.ready();
    auto ws = co_await s.connect_events();
    auto c = co_await s.post("/calls", R"({"endpoint":"PJSIP/1001"})");
    EXPECT_EQ(c.status, 201);
    const std::string id(json::get_string(*json::find(body_of(c), "call"), "id"));
    co_await test::until([&] { return find_event(*ws, "call.ready", id) >= 0; });

    auto b = co_await s.post("/bridges", R"({"name":"conf"})");
    EXPECT_EQ(b.status, 201) << b.body;
    auto bd = body_of(b);
    const auto* bridge = json::find(bd, "bridge");
    EXPECT_TRUE(bridge);
    if (!bridge) co_return;
    const std::string bid(json::get_string(*bridge, "id"));
    EXPECT_EQ(json::get_string(*bridge, "name"), "conf");
    EXPECT_EQ(json::get_string(*bridge, "type"), "mixing");

    auto all = co_await s.get("/bridges");
    EXPECT_EQ(all.status, 200);
    auto ad = body_of(all);
    EXPECT_TRUE(json::find(ad, "bridges") && json::find(ad, "bridges")->IsArray());
    EXPECT_TRUE(json::find(ad, "tracked") && json::find(ad, "tracked")->Size() == 1u);

    std::string arg21 = "/bridges/" + bid + "/addChannel";
    std::string arg22 = "{\"callId\":\"" + id + "\"}";
    auto add = co_await s.post(arg21, arg22);
    EXPECT_EQ(add.status, 200) << add.body;
    EXPECT_EQ(json::get_string(body_of(add), "status"), "ok");
    std::string arg23 = "/bridges/" + bid;
    auto one = co_await s.get(arg23);
    EXPECT_EQ(one.status, 200);
    auto od = body_of(one);
    EXPECT_TRUE(json::find(od, "bridge"));
    EXPECT_TRUE(json::find(od, "tracked"));
    std::string arg24 = "/bridges/" + bid + "/addChannel";
    auto add_bad = co_await s.post(arg24, R"({"callId":"no-such-call"})");
    EXPECT_EQ(add_bad.status, 404);
    std::string arg25 = "/bridges/" + bid + "/removeChannel";
    std::string arg26 = "{\"callId\":\"" + id + "\"}";
    auto rm = co_await s.post(arg25, arg26);
    EXPECT_EQ(rm.status, 200) << rm.body;
    std::string arg27 = "/bridges/" + bid;
    auto del = co_await s.del(arg27);
    EXPECT_EQ(del.status, 200);
    EXPECT_EQ(json::get_string(body_of(del), "status"), "destroyed");
    std::string arg28 = "/bridges/" + bid;
    auto gone = co_await s.get(arg28);
    EXPECT_EQ(gone.status, 404);
    std::string arg29 = "/bridges/" + bid;
    auto gone_del = co_await s.del(arg29);
    EXPECT_EQ(gone_del.status, 404);
    std::string arg30 = "/calls/" + id;
    co_await s.del(arg30);
  });
}

TEST(ApiE2E, TransferAnswersAndTimesOut) {
  std::vector<sim::EndpointConfig> eps;
  sim::EndpointConfig a;
  a.technology = "PJSIP";
  a.resource = "1001";
  eps.push_back(a);
  sim::EndpointConfig b = a;
  b.resource = "1002";
  eps.push_back(b);
  sim::EndpointConfig never = a;
  never.resource = "1003";
  never.behavior = sim::Behavior::noanswer;
  eps.push_back(never);
  test::HarnessOptions o;
  o.endpoints = eps;
  Service s(o);
  s.run(
      [&]() -> awaitable<void> {
        co_await s.ready();
        auto ws = co_await s.connect_events();
        auto c = co_await s.post("/calls", R"({"endpoint":"PJSIP/1001"})");
        EXPECT_EQ(c.status, 201) << c.body;
        const std::string id(json::get_string(*json::find(body_of(c), "call"), "id"));
        co_await test::until([&] { return find_event(*ws, "call.ready", id) >= 0; });

        std::string arg31 = "/calls/" + id + "/transfer";
        auto bad = co_await s.post(arg31, R"({"timeout":0})");
        EXPECT_EQ(bad.status, 400);
        EXPECT_EQ(details(bad).size(), 2u);

        std::string arg32 = "/calls/" + id + "/transfer";
        auto t = co_await s.post(arg32, R"({"endpoint":"PJSIP/1002","timeout":5})");
        EXPECT_EQ(t.status, 201) << t.body;
        auto td = body_of(t);
        EXPECT_FALSE(json::get_string(td, "bridgeId").empty());
        EXPECT_FALSE(json::get_string(td, "newCallId").empty());

        auto c2 = co_await s.post("/calls", R"({"endpoint":"PJSIP/1002"})");
        const std::string id2(json::get_string(*json::find(body_of(c2), "call"), "id"));
        co_await test::until([&] { return find_event(*ws, "call.ready", id2) >= 0; });
        std::string arg33 = "/calls/" + id2 + "/transfer";
        auto late = co_await s.post(arg33, R"({"endpoint":"PJSIP/1003","timeout":1})");
        EXPECT_EQ(late.status, 408) << late.body;
        EXPECT_EQ(late.content_type, "application/json");
      },
      std::chrono::seconds(60));
}

TEST(ApiE2E, AriOutageDegradesHealthAndCallRoutesAnswer503) {
  Service s;
  s.run([&]() -> awaitable<void> {
    const bool up = co_await s.ready();
    EXPECT_TRUE(up);
    auto fault =
        co_await s.sim("POST", "/faults", R"({"dropEventSockets":true,"refuseConnectionsMs":400})");
    EXPECT_LT(fault.status, 300) << fault.body;
    const bool down = co_await test::until([&] { return !s.manager->ari_connected(); });
    EXPECT_TRUE(down);
    auto h = co_await s.get("/health");
    EXPECT_EQ(h.status, 200);
    auto hd = body_of(h);
    EXPECT_EQ(json::get_string(hd, "status"), "degraded");
    EXPECT_FALSE(json::get_bool(hd, "ari", true));
    auto c = co_await s.post("/calls", R"({"endpoint":"PJSIP/1001"})");
    EXPECT_EQ(c.status, 503) << c.body;
    EXPECT_EQ(c.content_type, "application/json");
    // Validation still comes first: bad input is a 400 even during an outage.
    auto bad = co_await s.post("/calls", R"({"endpoint":7})");
    EXPECT_EQ(bad.status, 400);
    const bool back = co_await test::until([&] { return s.manager->ari_connected(); }, 10000);
    EXPECT_TRUE(back);
    auto h2 = co_await s.get("/health");
    EXPECT_EQ(json::get_string(body_of(h2), "status"), "ok");
  });
}
