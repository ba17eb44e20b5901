#include "app/service.hpp"

#include "ari/events.hpp"
#include "ari/rest_client.hpp"
#include "calls/allowlist.hpp"
#include "calls/call_manager.hpp"
#include "common/log.hpp"
#include "common/worker_pool.hpp"
#include "http/api.hpp"
#include "media/chan_websocket.hpp"
#include "media/media_store.hpp"
#include "metrics/service_metrics.hpp"
#include "net/http_server.hpp"
#include "sim/simulator.hpp"
#include "sinks/event_hub.hpp"
#include "sinks/fan_out.hpp"
#include "sinks/webhook_sender.hpp"
#include "speech/engines.hpp"
#include "speech/flite_tts.hpp"
#include "store/durable_log.hpp"
#include "store/event_store.hpp"
#include "stream/stream_manager.hpp"
#include "voice/voice_manager.hpp"

namespace aa::app {

Service::Service(asio::io_context& io, Config cfg) : io_(io), cfg_(std::move(cfg)) {}

Service::~Service() {
  *alive_ = false;
  if (events_) events_->stop();
  if (webhooks_) webhooks_->stop();
  if (sim_) sim_->stop();
  // The simulator's far-end voice works on our pool: it goes first.
  sim_.reset();
  // Nothing the io_context still runs below may reach a destroyed subscriber.
  if (calls_) {
    if (streams_) calls_->unsubscribe(*streams_);
    if (voice_) calls_->unsubscribe(*voice_);
  }
  streams_.reset();
  // Speech objects hold strands of the worker pool, and some are still in
  // handlers posted to the io_context (a cancelled session's last callback):
  // release them, stop the workers, then run what is posted while the pool
  // still exists (the io_context may be destroyed after us).
  voice_.reset();
  asr_.reset();
  tts_.reset();
  if (pool_) pool_->stop();
  try {
    io_.restart();
    io_.poll();
  } catch (const std::exception& e) {
    log::warn("shutdown: a pending handler threw: {}", e.what());
  }
}

std::string Service::simulator_url() const {
  return sim_ ? sim_->base_url() : std::string{};
}

uint16_t Service::start() {
  // Speech and DSP never run on the io thread: one bounded pool for all of it.
  pool_ = std::make_unique<WorkerPool>(0, 4096);
  open_store();
  // A broken allowlist file is a start-up error (never an open door).
  allowlist_ = std::make_unique<calls::AllowlistFile>(cfg_.allowlist_file);
  if (!cfg_.allowlist_file.empty()) {
    if (auto st = allowlist_->load(); !st) throw std::runtime_error(st.error().message);
  }
  if (cfg_.simulated()) {
    sim::SimulatorOptions so;
    so.port = cfg_.sim_port;
    so.credentials.user = cfg_.ari_username;
    so.credentials.password = cfg_.ari_password;
    so.engine.app_default = cfg_.ari_app;
    so.engine.time_scale = cfg_.sim_time_scale;
    // The simulated caller speaks (POST /_sim/channels/{id}/say {"text"}) with Flite.
    so.make_tts = [pool = pool_.get()](asio::any_io_executor ex) {
      return std::shared_ptr<speech::TtsEngine>(std::make_shared<speech::FliteTts>(ex, *pool));
    };
    try {
      sim_ = std::make_unique<sim::SimThread>(so);
    } catch (const std::exception& e) {
      if (cfg_.sim_port == 0) throw;
      log::warn("simulator port {} is busy ({}); using a free port", cfg_.sim_port, e.what());
      so.port = 0;
      sim_ = std::make_unique<sim::SimThread>(so);
    }
    cfg_.ari_url = sim_->base_url();
  }

  net::ServerOptions so;
  so.host = cfg_.api_host;
  so.port = cfg_.api_port;
  so.server_header = "asterisk-api";
  so.max_connections = cfg_.max_connections;
  // Body limits, JSON protocol errors and the access log come from the Api,
  // which is built after the server (its port goes into MEDIA_BASE_URL).
  http::Api::configure_deferred(so, api_);
  server_ = std::make_unique<net::HttpServer>(io_, so);
  port_ = server_->start();
  if (cfg_.media_base_url.empty())
    cfg_.media_base_url = "http://127.0.0.1:" + std::to_string(port_);

  ari::RestClientOptions ro;
  ro.base_url = cfg_.ari_url;
  ro.username = cfg_.ari_username;
  ro.password = cfg_.ari_password;
  ro.request_timeout = cfg_.ari_timeout;
  ari_ = std::make_unique<ari::RestClient>(io_.get_executor(), ro);
  metrics_ = std::make_unique<metrics::ServiceMetrics>();
  ari_->set_observer(
      [m = metrics_.get()](std::string_view op, int status, std::chrono::microseconds us) {
        m->observe_ari(op, status, us);
      });

  media_ = std::make_unique<media::MediaStore>();  // a private temp dir, removed on exit
  media_->start_sweeper(io_.get_executor());
  hub_ = std::make_unique<sinks::EventHub>(io_.get_executor());
  sinks::WebhookOptions wo;
  wo.url = cfg_.webhook_url;
  wo.secret = cfg_.webhook_secret;
  wo.timeout = cfg_.webhook_timeout;
  wo.max_attempts = cfg_.webhook_max_attempts;
  wo.max_age = cfg_.webhook_max_age;
  wo.max_pending = cfg_.webhook_max_pending;
  wo.retry_base = cfg_.webhook_retry_base;
  wo.retry_max = cfg_.webhook_retry_max;
  webhooks_ = std::make_unique<sinks::WebhookSender>(io_.get_executor(), wo, store_.get());
  webhooks_->load();
  fan_out_ = std::make_unique<sinks::FanOut>();
  fan_out_->add(*hub_);
  if (webhooks_->enabled()) fan_out_->add(*webhooks_);
  fan_out_->add(*metrics_);
  // Every event is stored (with its webhook delivery) before it reaches them.
  durable_ = std::make_unique<store::DurableLog>(io_.get_executor(), store_.get(), *fan_out_);
  if (webhooks_->enabled())
    durable_->set_delivery_maker(
        [w = webhooks_.get()](const calls::DomainEvent& e) { return w->make_delivery(e); });
  if (store_) {
    hub_->set_replay_source([st = store_.get(), pool = pool_.get(), ex = io_.get_executor()](
                                uint64_t after, size_t limit, std::string call_id,
                                std::function<void(sinks::EventHub::ReplayPage)> done) {
      auto job = [st, ex, after, limit, call_id, done] {
        sinks::EventHub::ReplayPage page;
        // Everything published so far is stored before its page is read (the
        // store may be behind after events went out unstored under overload).
        if (!st->flush(std::chrono::seconds(5))) {
          page.ok = false;
          page.error = "the event store is behind (disk trouble?)";
        } else if (auto r = st->read(after, limit, call_id); !r) {
          page.ok = false;
          page.error = r.error().message;
        } else {
          page.items.reserve(r->size());
          for (auto& e : *r) page.items.push_back({e.seq, std::move(e.type), std::move(e.body)});
          // Read after the rows: a prune that ran meanwhile shows as a gap.
          if (after < st->pruned_through()) page.gap_to = st->pruned_through();
        }
        asio::post(ex, [done, page = std::move(page)]() mutable { done(std::move(page)); });
      };
      if (!pool->post(job)) {
        sinks::EventHub::ReplayPage busy;
        busy.ok = false;
        busy.error = "the worker pool is saturated";
        asio::post(ex, [done, busy] { done(busy); });
      }
    });
  }

  hub_->set_snapshot_seq([d = durable_.get()] { return d->last_seq(); });
  if (store_) hub_->set_last_seq(store_->last_seq_at_open());

  calls::CallManagerOptions co;
  co.seq_after = store_ ? store_->last_seq_at_open() : 0;
  co.app = cfg_.ari_app;
  co.media_base_url = cfg_.media_base_url;
  co.untracked = cfg_.untracked_channels == "hangup" ? calls::UntrackedPolicy::hangup
                                                     : calls::UntrackedPolicy::adopt;
  calls_ = std::make_unique<calls::CallManager>(io_.get_executor(), *ari_, *durable_, *media_, co);
  hub_->set_snapshot_source([this] { return calls_->active_calls(); });
  calls_->set_allowlist(&allowlist_->list());
  start_speech();

  http::ApiOptions ao;
  ao.api_key = cfg_.api_key;
  ao.metrics_text = [this] { return metrics_text(); };
  ao.on_request_done = [m = metrics_.get()](const net::Request& req, const net::Response& res,
                                            std::chrono::microseconds us) {
    m->observe_http(req.method, req.route, res.status, us);
  };
  ao.voice = voice_.get();
  ao.streams = streams_.get();
  ao.allowlist = allowlist_.get();
  ao.store = store_.get();
  ao.pool = pool_.get();
  ao.webhooks = webhooks_.get();
  api_ = std::make_unique<http::Api>(*calls_, *media_, *hub_, ao);
  api_->attach(*server_);

  ari::EventStreamOptions eo;
  eo.url = *parse_url(cfg_.ari_url);
  eo.app = cfg_.ari_app;
  eo.username = cfg_.ari_username;
  eo.password = cfg_.ari_password;
  events_ = std::make_unique<ari::EventStream>(io_.get_executor(), eo);
  events_->on_event = [this](const ari::Event& e) {
    calls_->on_ari_event(e);
    voice_->on_ari_event(e);
  };
  events_->on_connection = [this](bool up) {
    if (up) {
      log::info("ARI events socket connected to {} (app {})", cfg_.ari_url, cfg_.ari_app);
    } else {
      log::warn("ARI events socket to {} is down; retrying", cfg_.ari_url);
    }
    calls_->on_ari_connection(up);
    if (up) probe_media_support();
  };
  events_->start();

  if (sim_) {
    log::warn("==============================================================");
    log::warn(" SIMULATED ASTERISK: no ARI_URL is set, so calls are simulated.");
    log::warn(" Embedded ARI simulator: {}/ari (user {})", sim_->base_url(), cfg_.ari_username);
    log::warn(" Drive it with its control API: {}/_sim/ (inbound calls, DTMF,", sim_->base_url());
    log::warn(" hang-ups, endpoint behaviour, faults). Set ARI_URL for a real PBX.");
    log::warn("==============================================================");
  }
  log::info("asterisk-api {} listening on http://{}:{} (auth {})", AA_VERSION, cfg_.api_host, port_,
            cfg_.api_key.empty() ? "off" : "on");
  return port_;
}

void Service::open_store() {
  if (cfg_.data_dir.empty()) {
    log::warn(
        "DATA_DIR=off: no event store; events, webhooks and call history do not survive "
        "a restart and /events?since= cannot replay");
    return;
  }
  store::EventStoreOptions so;
  so.dir = cfg_.data_dir;
  so.retention = cfg_.event_retention;
  so.call_retention = cfg_.call_retention;
  so.max_bytes = cfg_.store_max_bytes;
  auto st = store::EventStore::open(so);
  if (!st) throw std::runtime_error("DATA_DIR: " + st.error().message);
  store_ = std::move(*st);
  log::info("event store {} (last seq {}, events kept {} h, calls {} d)", store_->path(),
            store_->last_seq_at_open(), cfg_.event_retention.count(),
            cfg_.call_retention.count() / 24);
  // Retention runs in the background: now, then every 10 minutes.
  auto prune = [](asio::any_io_executor ex, store::EventStore* st, WorkerPool* pool,
                  std::weak_ptr<bool> alive) -> awaitable<void> {
    asio::steady_timer t(ex);
    for (;;) {
      if (alive.expired()) co_return;
      pool->post([st] {
        const size_t n = st->prune(now_epoch_ms());
        if (n > 0) log::info("event store: retention removed {} rows", n);
      });
      t.expires_after(std::chrono::minutes(10));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
    }
  };
  spawn(io_.get_executor(), prune(io_.get_executor(), store_.get(), pool_.get(), alive_),
        "store retention");
}

void Service::start_speech() {
  auto tts = speech::make_tts_engine(cfg_.speech, io_.get_executor(), *pool_);
  if (!tts) throw std::runtime_error(tts.error().message);
  tts_ = *tts;
  auto asr = speech::make_asr_engine(cfg_.speech, io_.get_executor(), *pool_);
  if (!asr) throw std::runtime_error(asr.error().message);
  asr_ = *asr;
  log::info("speech: TTS {}, ASR {}", tts_ ? speech::resolved_tts_engine(cfg_.speech) : "none",
            asr_ ? speech::resolved_asr_engine(cfg_.speech) : "none");

  voice::VoiceOptions vo;
  vo.media.app = cfg_.ari_app;
  vo.media.asterisk = *parse_url(cfg_.ari_url);
  vo.auto_start = cfg_.asr_auto_start == "all"   ? voice::AutoStart::all
                  : cfg_.asr_auto_start == "off" ? voice::AutoStart::off
                                                 : voice::AutoStart::inbound;
  vo.default_voice = cfg_.speech.tts_default_voice;
  vo.default_language = cfg_.speech.tts_default_language;
  vo.asr_language = cfg_.speech.asr_language;
  voice_ = std::make_unique<voice::VoiceManager>(io_.get_executor(), *ari_, *calls_, tts_.get(),
                                                 asr_.get(), vo);
  voice_->set_audio_frames_wanted([hub = hub_.get()] { return hub->audio_clients() > 0; });
  voice_->set_transcription_latency_observer(
      [m = metrics_.get()](std::chrono::microseconds us) { m->observe_transcription(us); });
  voice_->set_speak_start_observer(
      [m = metrics_.get()](std::chrono::microseconds us) { m->observe_speak_start(us); });
  calls_->set_internal_channel_filter(
      [v = voice_.get()](const ari::Channel& ch) { return v->owns_channel(ch.id); });
  // After the sinks: /events and webhooks see call.ready before the capture it starts.
  calls_->subscribe(*voice_);

  // Agent streams (Twilio Media Streams) on the same media sessions.
  stream::StreamManagerOptions sto;
  sto.stream.connect_timeout = cfg_.stream_connect_timeout;
  sto.stream.account_sid = cfg_.ari_app;
  if (!cfg_.stream_url.empty()) {
    stream::StreamRequest r;
    r.url = cfg_.stream_url;
    r.format = *stream::parse_format(cfg_.stream_format);
    r.tracks = *stream::parse_tracks(cfg_.stream_tracks);
    sto.inbound = r;
    log::info("every inbound call streams to {} ({}, {})", r.url, cfg_.stream_format,
              cfg_.stream_tracks);
  }
  streams_ = std::make_unique<stream::StreamManager>(io_.get_executor(), *calls_, *voice_, sto);
  streams_->set_mark_rtt_observer(
      [m = metrics_.get()](std::chrono::microseconds us) { m->observe_stream_mark(us); });
  calls_->subscribe(*streams_);

  // The allowlist file is re-read when it changes (every 5 s, as the original).
  auto poll = [](asio::any_io_executor ex, calls::AllowlistFile* file,
                 std::weak_ptr<bool> alive) -> awaitable<void> {
    asio::steady_timer t(ex);
    for (;;) {
      t.expires_after(std::chrono::seconds(5));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      if (alive.expired()) co_return;
      if (file->poll()) log::info("allowlist reloaded from {}", file->path());
    }
  };
  if (!cfg_.allowlist_file.empty())
    spawn(io_.get_executor(), poll(io_.get_executor(), allowlist_.get(), alive_), "allowlist poll");
}

void Service::probe_media_support() {
  // Once per (re)connection: voice routes answer 501 naming the requirement
  // when this Asterisk has no chan_websocket.
  auto task = [](ari::RestClient* ari, voice::VoiceManager* v,
                 std::weak_ptr<bool> alive) -> awaitable<void> {
    auto info = co_await ari->asterisk_info();
    if (alive.expired() || !info.ok()) co_return;
    std::string why;
    const bool ok = media::cws::supports_chan_websocket(info->version, &why);
    if (!ok) log::warn("{}: speak and audio capture answer 501", why);
    v->set_media_support(ok, why);
  };
  spawn(io_.get_executor(), task(ari_.get(), voice_.get(), alive_), "probe media support");
}

std::string Service::metrics_text() const {
  metrics::Gauges g;
  g.ari_connected = calls_->ari_connected();
  g.ari_reconnects = events_ ? events_->reconnects() : 0;
  g.active_calls = calls_->active_count();
  const auto untracked = calls_->untracked_stats();
  g.untracked_adopted = untracked.adopted;
  g.untracked_hung_up = untracked.hung_up;
  g.event_clients = hub_->clients();
  g.event_clients_dropped = hub_->dropped();
  g.events_published = hub_->events_published();
  g.webhooks_enabled = webhooks_->enabled();
  const auto ws = webhooks_->stats();
  g.webhook_delivered = ws.delivered;
  g.webhook_failed = ws.failed;
  g.webhook_dropped = ws.dropped;
  g.webhook_queued = ws.queued;
  g.webhook_in_flight = ws.in_flight;
  g.webhook_attempts = ws.attempts;
  g.webhook_retries = ws.retries;
  g.webhook_oldest_pending_seconds =
      ws.oldest_pending_ms > 0
          ? static_cast<double>(std::max<int64_t>(now_epoch_ms() - ws.oldest_pending_ms, 0)) /
                1000.0
          : 0.0;
  g.events_replayed = hub_->replayed();
  if (store_) {
    const auto ss = store_->stats();
    const auto ds = durable_->stats();
    g.store_enabled = true;
    g.store_healthy = store_->healthy();
    g.store_appended = ss.appended;
    g.store_committed = ss.committed;
    g.store_refused = ss.refused;
    g.store_write_errors = ss.write_errors;
    g.store_batches = ss.batches;
    g.store_commit_us_total = ss.commit_us_total;
    g.store_queued = ss.queued;
    g.store_last_commit_ms = ss.last_commit_ms;
    g.store_max_commit_ms = ss.max_commit_ms;
    g.store_unstored = ds.unstored;
    g.store_held = ds.held;
    g.store_bytes = store_->size_bytes();
  }
  const auto vs = voice_->stats();
  g.speaks = vs.speaks;
  g.speak_errors = vs.speak_errors;
  g.speaks_interrupted = vs.interrupted;
  g.media_sessions = vs.sessions_active;
  g.captures_active = vs.captures_active;
  g.captures_started = vs.captures_started;
  g.asr_sessions = vs.asr_sessions;
  g.transcriptions = vs.transcriptions;
  g.media_frames_in = vs.frames_in;
  g.media_bytes_out = vs.bytes_out;
  g.media_xoff = vs.xoff;
  const auto ss = streams_->stats();
  g.streams_active = ss.active;
  g.streams_started = ss.started;
  g.streams_failed = ss.failed;
  g.stream_frames_out = ss.frames_out;
  g.stream_frames_in = ss.frames_in;
  g.stream_late_frames = ss.late_frames;
  g.stream_clears = ss.clears;
  g.blocked_inbound = calls_->blocked_inbound();
  g.blocked_outbound = calls_->blocked_outbound();
  return metrics_->render(g, metrics::read_process_stats());
}

awaitable<void> Service::shutdown() {
  log::info("shutting down: no new connections, closing /events clients");
  server_->stop_accepting();
  hub_->close_all(1001);
  streams_->stop_all("shutdown");
  co_await server_->shutdown(cfg_.shutdown_grace);
  // Close frame 1001 to Asterisk, and a short wait for its answer.
  co_await events_->shutdown();
  webhooks_->stop();
  if (sim_) sim_->stop();
  log::info("shutdown complete");
}

}  // namespace aa::app
