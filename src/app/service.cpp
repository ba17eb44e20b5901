#include "app/service.hpp"

#include "ari/events.hpp"
#include "ari/rest_client.hpp"
#include "calls/call_manager.hpp"
#include "common/log.hpp"
#include "http/api.hpp"
#include "media/media_store.hpp"
#include "metrics/service_metrics.hpp"
#include "net/http_server.hpp"
#include "sim/simulator.hpp"
#include "sinks/event_hub.hpp"
#include "sinks/fan_out.hpp"
#include "sinks/webhook_sender.hpp"

namespace aa::app {

Service::Service(asio::io_context& io, Config cfg) : io_(io), cfg_(std::move(cfg)) {}

Service::~Service() {
  if (events_) events_->stop();
  if (webhooks_) webhooks_->stop();
  if (sim_) sim_->stop();
}

std::string Service::simulator_url() const { return sim_ ? sim_->base_url() : std::string{}; }

uint16_t Service::start() {
  if (cfg_.simulated()) {
    sim::SimulatorOptions so;
    so.port = cfg_.sim_port;
    so.credentials.user = cfg_.ari_username;
    so.credentials.password = cfg_.ari_password;
    so.engine.app_default = cfg_.ari_app;
    so.engine.time_scale = cfg_.sim_time_scale;
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
  // Body limits, JSON protocol errors and the access log come from the Api,
  // which is built after the server (its port goes into MEDIA_BASE_URL).
  http::Api::configure_deferred(so, api_);
  server_ = std::make_unique<net::HttpServer>(io_, so);
  port_ = server_->start();
  if (cfg_.media_base_url.empty()) cfg_.media_base_url = "http://127.0.0.1:" + std::to_string(port_);

  ari::RestClientOptions ro;
  ro.base_url = cfg_.ari_url;
  ro.username = cfg_.ari_username;
  ro.password = cfg_.ari_password;
  ro.request_timeout = cfg_.ari_timeout;
  ari_ = std::make_unique<ari::RestClient>(io_.get_executor(), ro);
  metrics_ = std::make_unique<metrics::ServiceMetrics>();
  ari_->set_observer([m = metrics_.get()](std::string_view op, int status,
                                          std::chrono::microseconds us) {
    m->observe_ari(op, status, us);
  });

  media_ = std::make_unique<media::MediaStore>();  // a private temp dir, removed on exit
  media_->start_sweeper(io_.get_executor());
  hub_ = std::make_unique<sinks::EventHub>(io_.get_executor());
  sinks::WebhookOptions wo;
  wo.url = cfg_.webhook_url;
  wo.secret = cfg_.webhook_secret;
  wo.timeout = cfg_.webhook_timeout;
  webhooks_ = std::make_unique<sinks::WebhookSender>(io_.get_executor(), wo);
  fan_out_ = std::make_unique<sinks::FanOut>();
  fan_out_->add(*hub_);
  if (webhooks_->enabled()) fan_out_->add(*webhooks_);
  fan_out_->add(*metrics_);

  calls::CallManagerOptions co;
  co.app = cfg_.ari_app;
  co.media_base_url = cfg_.media_base_url;
  calls_ = std::make_unique<calls::CallManager>(io_.get_executor(), *ari_, *fan_out_, *media_, co);
  hub_->set_snapshot_source([this] { return calls_->active_calls(); });

  http::ApiOptions ao;
  ao.api_key = cfg_.api_key;
  ao.metrics_text = [this] { return metrics_text(); };
  ao.on_request_done = [m = metrics_.get()](const net::Request& req, const net::Response& res,
                                            std::chrono::microseconds us) {
    m->observe_http(req.method, req.route, res.status, us);
  };
  api_ = std::make_unique<http::Api>(*calls_, *media_, *hub_, ao);
  api_->attach(*server_);

  ari::EventStreamOptions eo;
  eo.url = *parse_url(cfg_.ari_url);
  eo.app = cfg_.ari_app;
  eo.username = cfg_.ari_username;
  eo.password = cfg_.ari_password;
  events_ = std::make_unique<ari::EventStream>(io_.get_executor(), eo);
  events_->on_event = [this](const ari::Event& e) { calls_->on_ari_event(e); };
  events_->on_connection = [this](bool up) {
    if (up) {
      log::info("ARI events socket connected to {} (app {})", cfg_.ari_url, cfg_.ari_app);
    } else {
      log::warn("ARI events socket to {} is down; retrying", cfg_.ari_url);
    }
    calls_->on_ari_connection(up);
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

std::string Service::metrics_text() const {
  metrics::Gauges g;
  g.ari_connected = calls_->ari_connected();
  g.ari_reconnects = events_ ? events_->reconnects() : 0;
  g.active_calls = calls_->active_count();
  g.event_clients = hub_->clients();
  g.event_clients_dropped = hub_->dropped();
  g.events_published = hub_->events_published();
  g.webhooks_enabled = webhooks_->enabled();
  const auto ws = webhooks_->stats();
  g.webhook_delivered = ws.delivered;
  g.webhook_failed = ws.failed;
  g.webhook_dropped = ws.dropped;
  g.webhook_queued = ws.queued;
  return metrics_->render(g, metrics::read_process_stats());
}

awaitable<void> Service::shutdown() {
  log::info("shutting down: no new connections, closing /events clients");
  server_->stop_accepting();
  hub_->close_all(1001);
  co_await server_->shutdown(cfg_.shutdown_grace);
  events_->stop();
  webhooks_->stop();
  if (sim_) sim_->stop();
  log::info("shutdown complete");
}

}  // namespace aa::app
