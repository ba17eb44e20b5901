// End to end: RestClient + EventStream against the in-process ARI simulator
// (same io_context, real sockets).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "ari/events.hpp"
#include "ari/rest_client.hpp"
#include "ari/test_support.hpp"
#include "sim/simulator.hpp"

namespace aa::ari {
namespace {

using namespace std::chrono_literals;
using test::await;
using test::run_for;
using test::run_until;

constexpr const char* kApp = "openclaw-voice";

class SimE2E : public ::testing::Test {
 protected:
  SimE2E() {
    sim::SimulatorOptions o;
    o.engine.time_scale = 0.02;
    o.engine.data_dir =
        (std::filesystem::temp_directory_path() /
         ("ari-e2e-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++)))
            .string();
    sim::EndpointConfig e1;
    e1.technology = "PJSIP";
    e1.resource = "1001";
    sim::EndpointConfig e2 = e1;
    e2.resource = "1002";
    e2.behavior = sim::Behavior::busy;
    o.engine.endpoints = {e1, e2};
    data_dir_ = o.engine.data_dir;
    simulator = std::make_unique<sim::Simulator>(io, o);
    simulator->start();

    RestClientOptions ro;
    ro.base_url = simulator->base_url();
    ro.username = "asterisk_ari";
    ro.password = "asterisk_ari_pass";
    ro.request_timeout = 2s;
    rest = std::make_unique<RestClient>(io.get_executor(), ro);

    EventStreamOptions eo;
    eo.url = *parse_url(simulator->base_url());
    eo.app = kApp;
    eo.username = ro.username;
    eo.password = ro.password;
    eo.backoff_initial = 20ms;
    eo.backoff_max = 200ms;
    stream = std::make_unique<EventStream>(io.get_executor(), eo);
    stream->on_event = [this](const Event& e) { events.push_back(e); };
    stream->on_connection = [this](bool up) { transitions.push_back(up); };
  }
  ~SimE2E() override {
    stream->stop();
    stream.reset();
    rest.reset();
    simulator->stop();
    run_for(io, 50ms);
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }

  void connect() {
    stream->start();
    ASSERT_TRUE(run_until(io, [&] { return stream->connected(); }));
    run_for(io, 20ms);  // the simulator registers the app
  }

  /// Event type names for channel `id`, in order.
  std::vector<std::string> types_for(const std::string& id) const {
    std::vector<std::string> out;
    for (const auto& e : events)
      if (e.channel_id() == id) out.push_back(e.type_name);
    return out;
  }
  bool saw(EventType t, const std::string& id) const {
    for (const auto& e : events)
      if (e.type == t &&
          (id.empty() || e.channel_id() == id || (e.playback && e.playback->id == id) ||
           (e.recording && e.recording->name == id) || (e.bridge && e.bridge->id == id)))
        return true;
    return false;
  }
  bool wait_for(EventType t, const std::string& id, std::chrono::milliseconds d = 5s) {
    return run_until(
        io, [&] { return saw(t, id); }, d);
  }

  Result<Channel> originate(const std::string& endpoint, const std::string& id) {
    return await(io, [&]() -> awaitable<Result<Channel>> {
      OriginateParams p;
      p.endpoint = endpoint;
      p.app = kApp;
      p.app_args = "outbound,e2e";
      p.channel_id = id;
      p.caller_id = "\"Alice\" <5551234>";
      p.variables.emplace_back("X_FOO", "bar");
      co_return co_await rest->originate(p);
    });
  }

  static inline int counter_ = 0;
  std::string data_dir_;
  asio::io_context io;
  std::unique_ptr<sim::Simulator> simulator;
  std::unique_ptr<RestClient> rest;
  std::unique_ptr<EventStream> stream;
  std::vector<Event> events;
  std::vector<bool> transitions;
};

TEST_F(SimE2E, OriginateAnsweredPlayHangup) {
  connect();
  auto ch = originate("PJSIP/1001", "e2e-1");
  ASSERT_TRUE(ch.ok()) << describe(ch.error);
  EXPECT_EQ(ch->id, "e2e-1");
  ASSERT_TRUE(wait_for(EventType::StasisStart, "e2e-1"));
  const Event* start = nullptr;
  for (const auto& e : events)
    if (e.type == EventType::StasisStart && e.channel_id() == "e2e-1") start = &e;
  ASSERT_NE(start, nullptr);
  EXPECT_EQ(start->args, (std::vector<std::string>{"outbound", "e2e"}));
  EXPECT_EQ(start->channel->state, "Up");
  EXPECT_EQ(start->application, kApp);

  auto got = await(io, [&] { return rest->get_channel("e2e-1"); });
  ASSERT_TRUE(got.ok()) << describe(got.error);
  EXPECT_EQ(got->state, "Up");
  auto var = await(io, [&] { return rest->get_variable("e2e-1", "X_FOO"); });
  ASSERT_TRUE(var.ok()) << describe(var.error);
  EXPECT_EQ(*var, "bar");

  auto pb = await(io, [&]() -> awaitable<Result<Playback>> {
    PlayParams p;
    p.media.push_back("sound:hello-world");
    p.playback_id = "pb-e2e-1";
    co_return co_await rest->play("e2e-1", p);
  });
  ASSERT_TRUE(pb.ok()) << describe(pb.error);
  EXPECT_EQ(pb->id, "pb-e2e-1");
  ASSERT_TRUE(wait_for(EventType::PlaybackFinished, "pb-e2e-1"));

  auto h = await(io, [&] { return rest->hangup("e2e-1", "normal"); });
  ASSERT_TRUE(h.ok()) << describe(h.error);
  ASSERT_TRUE(wait_for(EventType::ChannelDestroyed, "e2e-1"));
  auto seq = types_for("e2e-1");
  auto pos = [&](const std::string& t) {
    return std::find(seq.begin(), seq.end(), t) - seq.begin();
  };
  EXPECT_LT(pos("StasisStart"), pos("ChannelHangupRequest"));
  EXPECT_LT(pos("ChannelHangupRequest"), pos("StasisEnd"));
  EXPECT_LT(pos("StasisEnd"), pos("ChannelDestroyed"));

  auto gone = await(io, [&] { return rest->get_channel("e2e-1"); });
  EXPECT_EQ(gone.error.kind, AriError::Kind::http);
  EXPECT_EQ(gone.error.status, 404);
  EXPECT_EQ(gone.error.message, "Channel not found");
}

TEST_F(SimE2E, BusyOriginateGivesDialBusyAndNoStasis) {
  connect();
  auto ch = originate("PJSIP/1002", "e2e-busy");
  ASSERT_TRUE(ch.ok()) << describe(ch.error);
  ASSERT_TRUE(wait_for(EventType::ChannelDestroyed, "e2e-busy"));
  bool busy = false;
  for (const auto& e : events)
    if (e.type == EventType::Dial && e.channel_id() == "e2e-busy" && e.dialstatus == "BUSY")
      busy = true;
  EXPECT_TRUE(busy);
  EXPECT_FALSE(saw(EventType::StasisStart, "e2e-busy"));
}

TEST_F(SimE2E, ErrorsFromTheSimulator) {
  auto a = originate("PJSIP/9999", "e2e-x");
  EXPECT_EQ(a.error.kind, AriError::Kind::http);
  EXPECT_EQ(a.error.status, 500);
  EXPECT_EQ(a.error.message, "Allocation failed");
  auto b = await(io, [&] { return rest->destroy_bridge("no-such-bridge"); });
  EXPECT_EQ(b.error.status, 404);
  EXPECT_EQ(b.error.message, "Bridge not found");
  auto c = await(io, [&] { return rest->control_playback("no-such", "pause"); });
  EXPECT_EQ(c.error.status, 404);

  RestClient wrong(io.get_executor(), simulator->base_url(), "asterisk_ari", "nope", 2s);
  auto d = await(io, [&] { return wrong.list_channels(); });
  EXPECT_EQ(d.error.kind, AriError::Kind::http);
  EXPECT_EQ(d.error.status, 401);

  auto info = await(io, [&] { return rest->asterisk_info(); });
  ASSERT_TRUE(info.ok()) << describe(info.error);
  EXPECT_FALSE(info->version.empty());
  EXPECT_FALSE(info->startup_time.empty());
  auto eps = await(io, [&] { return rest->list_endpoints(); });
  ASSERT_TRUE(eps.ok());
  EXPECT_EQ(eps->size(), 2u);
}

TEST_F(SimE2E, BridgeRecordDownload) {
  connect();
  ASSERT_TRUE(originate("PJSIP/1001", "e2e-b1").ok());
  ASSERT_TRUE(wait_for(EventType::StasisStart, "e2e-b1"));
  auto br = await(io, [&] { return rest->create_bridge("mixing", "br-e2e", "e2e"); });
  ASSERT_TRUE(br.ok()) << describe(br.error);
  auto sub = await(io, [&] { return rest->subscribe(kApp, "bridge:br-e2e"); });
  EXPECT_TRUE(sub.ok()) << describe(sub.error);
  std::vector<std::string> ids{"e2e-b1"};
  auto add = await(io, [&] { return rest->add_channels("br-e2e", ids); });
  ASSERT_TRUE(add.ok()) << describe(add.error);
  ASSERT_TRUE(wait_for(EventType::ChannelEnteredBridge, "e2e-b1"));
  auto got = await(io, [&] { return rest->get_bridge("br-e2e"); });
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->channels, ids);

  auto rec = await(io, [&]() -> awaitable<Result<LiveRecording>> {
    RecordParams p;
    p.name = "e2e-rec";
    p.format = "wav";
    p.if_exists = "overwrite";
    p.beep = false;
    co_return co_await rest->record_bridge("br-e2e", p);
  });
  ASSERT_TRUE(rec.ok()) << describe(rec.error);
  ASSERT_TRUE(wait_for(EventType::RecordingStarted, "e2e-rec"));
  run_for(io, 100ms);
  auto stop = await(io, [&] { return rest->stop_live_recording("e2e-rec"); });
  ASSERT_TRUE(stop.ok()) << describe(stop.error);
  ASSERT_TRUE(wait_for(EventType::RecordingFinished, "e2e-rec"));

  auto stored = await(io, [&] { return rest->get_stored_recording("e2e-rec"); });
  ASSERT_TRUE(stored.ok()) << describe(stored.error);
  EXPECT_EQ(stored->format, "wav");
  const std::string file = data_dir_ + "-dl.wav";
  auto dl = await(io, [&] { return rest->download_stored_recording("e2e-rec", file); });
  ASSERT_TRUE(dl.ok()) << describe(dl.error);
  std::ifstream in(file, std::ios::binary);
  std::string head(4, '\0');
  in.read(head.data(), 4);
  EXPECT_EQ(head, "RIFF");
  std::filesystem::remove(file);
  auto copy = await(io, [&] { return rest->copy_stored_recording("e2e-rec", "e2e-rec-copy"); });
  ASSERT_TRUE(copy.ok()) << describe(copy.error);
  auto list = await(io, [&] { return rest->list_stored_recordings(); });
  ASSERT_TRUE(list.ok());
  EXPECT_GE(list->size(), 2u);
  EXPECT_TRUE(await(io, [&] { return rest->delete_stored_recording("e2e-rec-copy"); }).ok());

  auto destroy = await(io, [&] { return rest->destroy_bridge("br-e2e"); });
  ASSERT_TRUE(destroy.ok());
  ASSERT_TRUE(wait_for(EventType::BridgeDestroyed, "br-e2e"));
}

TEST_F(SimE2E, InboundCallWithArgs) {
  connect();
  auto reply = simulator->engine().inbound("5551234", "", "1001", {"inbound", "1001"}, "", "");
  ASSERT_EQ(reply.status, 201) << reply.body;
  auto doc = json::parse(reply.body);
  ASSERT_TRUE(doc);
  std::string id(json::get_string(*doc, "channelId"));
  ASSERT_TRUE(wait_for(EventType::StasisStart, id));
  EXPECT_TRUE(await(io, [&] { return rest->answer(id); }).ok());
  simulator->engine().far_dtmf(id, "12", 10);
  ASSERT_TRUE(run_until(io, [&] {
    int n = 0;
    for (const auto& e : events)
      if (e.type == EventType::ChannelDtmfReceived && e.channel_id() == id) ++n;
    return n == 2;
  }));
  EXPECT_TRUE(await(io, [&] { return rest->hangup(id); }).ok());
}

TEST_F(SimE2E, EventStreamSurvivesDropsRefusalsAndRestart) {
  connect();
  simulator->drop_event_sockets();
  ASSERT_TRUE(run_until(io, [&] { return stream->reconnects() == 1 && stream->connected(); }));
  EXPECT_EQ(transitions, (std::vector<bool>{true, false, true}));

  simulator->refuse_connections(300);
  simulator->drop_event_sockets();
  ASSERT_TRUE(run_until(io, [&] { return !stream->connected(); }));
  ASSERT_TRUE(run_until(io, [&] { return stream->reconnects() == 2 && stream->connected(); }));

  // Asterisk restart: calls are hung up, the socket drops, REST comes back.
  ASSERT_TRUE(originate("PJSIP/1001", "e2e-r").ok());
  ASSERT_TRUE(wait_for(EventType::StasisStart, "e2e-r"));
  simulator->restart();
  ASSERT_TRUE(run_until(
      io, [&] { return stream->reconnects() == 3 && stream->connected(); }, 10s));
  EXPECT_TRUE(saw(EventType::StasisEnd, "e2e-r"));
  rest->close_idle();
  auto chans = await(io, [&] { return rest->list_channels(); });
  ASSERT_TRUE(chans.ok()) << describe(chans.error);
  EXPECT_TRUE(chans->empty());
  // Still usable after all that.
  run_for(io, 20ms);
  ASSERT_TRUE(originate("PJSIP/1001", "e2e-r2").ok());
  ASSERT_TRUE(wait_for(EventType::StasisStart, "e2e-r2"));
}

// Issue 9 measured 0.18 s, 0.79 s and 2.68 s on a real Asterisk 22 between
// "Asterisk answers again" and "the service is ok" (exponential backoff). The
// stream now probes every 200 ms ±25 % while nothing answers.
TEST_F(SimE2E, EventStreamIsUpSoonAfterTheSimulatorAcceptsConnectionsAgain) {
  connect();
  std::vector<double> took_ms;
  for (int round = 0; round < 5; ++round) {
    const auto refuse = std::chrono::milliseconds(300 + 53 * round);
    const auto t0 = std::chrono::steady_clock::now();
    simulator->refuse_connections(refuse.count());
    simulator->drop_event_sockets();
    ASSERT_TRUE(run_until(io, [&] { return !stream->connected(); }));
    ASSERT_TRUE(run_until(
        io, [&] { return stream->connected(); }, 5s));
    took_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - (t0 + refuse))
            .count());
    // Generous for a loaded 2-core machine; by design ≤ 250 ms + a handshake.
    EXPECT_LT(took_ms.back(), 1500) << round;
  }
  std::printf("[ figures ] sim refused connections, then accepted: up after (ms):");
  for (double t : took_ms) std::printf(" %.0f", t);
  std::printf("\n");
}

// The simulator's restart at real speed: 200 ms of 503 "Shutdown in progress",
// sockets cut and connections refused for 300 ms, 100 ms of 503 "Asterisk not
// booted", then up. The stream must be up well within 0.5 s of that.
TEST_F(SimE2E, EventStreamIsUpSoonAfterARealSpeedRestart) {
  sim::SimulatorOptions o;
  o.engine.time_scale = 1.0;
  o.engine.data_dir = data_dir_ + "-restart";
  sim::Simulator sim(io, o);
  sim.start();
  EventStreamOptions eo;  // the service's defaults
  eo.url = *parse_url(sim.base_url());
  eo.app = kApp;
  eo.username = "asterisk_ari";
  eo.password = "asterisk_ari_pass";
  EventStream s(io.get_executor(), eo);
  s.start();
  ASSERT_TRUE(run_until(io, [&] { return s.connected(); }));
  std::vector<double> took_ms;
  for (int round = 0; round < 3; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    sim.restart();
    ASSERT_TRUE(run_until(
        io, [&] { return !s.connected(); }, 5s));
    ASSERT_TRUE(run_until(
        io, [&] { return s.connected(); }, 5s));
    took_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - (t0 + 600ms))
            .count());
    EXPECT_LT(took_ms.back(), 1500) << round;
    // Up for min_stable before the next restart: one lost sooner is a flap,
    // and flaps back off (1 s, 2 s, ...), which is not what this measures.
    run_for(io, eo.min_stable + 100ms);
  }
  std::printf("[ figures ] sim restart (up at +600 ms): stream up after (ms):");
  for (double t : took_ms) std::printf(" %.0f", t);
  std::printf("\n");
  s.stop();
  sim.stop();
  run_for(io, 20ms);
  std::error_code ec;
  std::filesystem::remove_all(o.engine.data_dir, ec);
}

}  // namespace
}  // namespace aa::ari
