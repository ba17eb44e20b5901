#include "sim/simulator.hpp"

#include <future>

#include "common/log.hpp"
#include "sim/reply.hpp"

namespace aa::sim {

Simulator::Simulator(asio::io_context& io, SimulatorOptions opts)
    : io_(io),
      opts_(std::move(opts)),
      engine_(io.get_executor(), opts_.engine),
      rest_(engine_, opts_.credentials),
      control_(engine_,
               FaultHooks{[this] { drop_event_sockets(); },
                          [this](int64_t ms) { refuse_connections(ms); }, [this] { restart(); },
                          [this](int64_t ms) { set_response_delay(ms); }}) {
  if (opts_.make_tts && !opts_.engine.tts) engine_.set_tts(opts_.make_tts(io.get_executor()));
}

Simulator::~Simulator() {
  *alive_ = false;
  engine_.drop_sockets(1001);
}

std::string Simulator::base_url() const {
  return "http://" + opts_.host + ":" + std::to_string(port_);
}

void Simulator::make_server() {
  net::ServerOptions so;
  so.host = opts_.host;
  so.port = port_ ? port_ : opts_.port;
  so.server_header = "Asterisk/" + engine_.options().version;
  so.default_body_limit = 4 * 1024 * 1024;
  // chan_websocket closes a media socket with 1009 itself (over 65535 bytes);
  // the server only refuses what no client of the simulator should send.
  so.ws_max_message = 1024 * 1024;
  so.error_response = [](int status, std::string_view msg) { return error_reply(status, msg); };
  server_ = std::make_unique<net::HttpServer>(io_, so);
  server_->on_request([this](net::Request& req) { return serve(req); });
  server_->on_websocket(
      [this](const net::Request& req) -> std::optional<net::Response> {
        if (phase_ == Phase::shutting_down) {
          net::Response r;
          r.status = 503;
          r.content_type = "text/html";
          r.body = asterisk_html_error(503, "Service Unavailable", "Shutdown in progress");
          return r;
        }
        if (phase_ == Phase::booting) return error_reply(503, "Asterisk not booted");
        if (req.path.rfind("/media/", 0) == 0) return engine_.media_upgrade(req);
        return rest_.check_events_upgrade(req);
      },
      [this](std::shared_ptr<net::WsConnection> ws, const net::Request& req) {
        if (req.path.rfind("/media/", 0) == 0)
          engine_.media_open(std::move(ws), req);
        else
          rest_.open_events(std::move(ws), req);
      });
}

uint16_t Simulator::start() {
  make_server();
  port_ = server_->start();
  rest_.set_self_host(opts_.host + ":" + std::to_string(port_));
  log::info("ari-sim listening on {}:{} (data dir {})", opts_.host, port_,
            engine_.options().data_dir);
  return port_;
}

void Simulator::stop() {
  *alive_ = false;
  engine_.drop_sockets(1001);
  if (server_) {
    server_->stop_accepting();
    server_->close_websockets(1001);
  }
}

void Simulator::after_real(std::chrono::milliseconds d, std::function<void()> fn) {
  auto t = std::make_shared<asio::steady_timer>(io_, d);
  std::weak_ptr<bool> alive = alive_;
  t->async_wait([t, alive, fn = std::move(fn)](const boost::system::error_code& ec) {
    if (!ec && !alive.expired()) fn();
  });
}

awaitable<net::Response> Simulator::serve(net::Request& req) {
  if (response_delay_ms_ > 0) co_await sleep_for(std::chrono::milliseconds(response_delay_ms_));
  const bool is_control = req.path == "/_sim" || req.path.rfind("/_sim/", 0) == 0;
  if (is_control && req.method == "POST" && req.path.starts_with("/_sim/channels/") &&
      req.path.ends_with("/say")) {
    std::string id = req.path.substr(15, req.path.size() - 15 - 4);
    std::string body = req.body;
    Reply said = co_await engine_.far_say(std::move(id), std::move(body));
    co_return said;
  }
  if (is_control) co_return control_.handle(req);
  if (phase_ == Phase::shutting_down) {
    net::Response r;
    r.status = 503;
    r.content_type = "text/html";
    r.body = asterisk_html_error(503, "Service Unavailable", "Shutdown in progress");
    co_return r;
  }
  if (phase_ == Phase::booting) co_return error_reply(503, "Asterisk not booted");
  if (req.path == "/ari" || req.path.rfind("/ari/", 0) == 0) co_return rest_.handle(req);
  net::Response r;
  r.status = 404;
  r.content_type = "text/html";
  r.body = asterisk_html_error(404, "Not Found", "The requested URL was not found on this server.");
  co_return r;
}

void Simulator::drop_event_sockets() {
  engine_.drop_sockets(1001);
}

void Simulator::refuse_connections(int64_t ms) {
  if (!server_) return;
  const uint64_t gen = ++fault_generation_;
  server_->stop_accepting();
  retired_.push_back(std::move(server_));
  after_real(std::chrono::milliseconds(ms), [this, gen] {
    if (gen != fault_generation_ || server_) return;
    try {
      make_server();
      server_->start();
    } catch (const std::exception& e) {
      log::error("ari-sim: cannot listen again on port {}: {}", port_, e.what());
    }
  });
}

void Simulator::restart() {
  // Timeline of asterisk-restart.jsonl, scaled: hang up everything, answer 503
  // "Shutdown in progress" for a moment, then vanish (sockets cut without a
  // close frame, connections refused), then 503 "Asterisk not booted", then up
  // with a new startup_time and no state at all.
  const double scale = engine_.options().time_scale;
  auto scaled = [scale](int ms) {
    return std::chrono::milliseconds(static_cast<int64_t>(ms * scale));
  };
  const uint64_t gen = ++fault_generation_;
  engine_.restart_hangup_all();
  phase_ = Phase::shutting_down;
  after_real(scaled(200), [this, gen, scaled] {
    if (gen != fault_generation_) return;
    phase_ = Phase::down;
    if (server_) {
      auto old = server_.get();
      retired_.push_back(std::move(server_));
      spawn(io_, old->shutdown(std::chrono::milliseconds(0)), "sim restart shutdown");
    }
    engine_.drop_sockets(1001);  // already cut by the shutdown; forget them
    after_real(scaled(300), [this, gen, scaled] {
      if (gen != fault_generation_) return;
      phase_ = Phase::booting;
      try {
        make_server();
        server_->start();
      } catch (const std::exception& e) {
        log::error("ari-sim: cannot listen again on port {}: {}", port_, e.what());
      }
      after_real(scaled(100), [this, gen] {
        if (gen == fault_generation_) phase_ = Phase::up;
      });
    });
  });
}

// ---- SimThread ----

SimThread::SimThread(SimulatorOptions opts) : host_(opts.host) {
  sim_ = std::make_unique<Simulator>(io_, std::move(opts));
  std::promise<uint16_t> started;
  auto fut = started.get_future();
  thread_ = std::thread([this, &started] {
    auto guard = asio::make_work_guard(io_);
    try {
      started.set_value(sim_->start());
    } catch (...) {
      started.set_exception(std::current_exception());
      return;
    }
    io_.run();
  });
  try {
    port_ = fut.get();
  } catch (...) {
    thread_.join();
    throw;
  }
}

SimThread::~SimThread() {
  stop();
}

std::string SimThread::base_url() const {
  return "http://" + host_ + ":" + std::to_string(port_);
}

void SimThread::run(const std::function<void(Simulator&)>& fn) {
  if (stopped_) return;
  std::promise<void> done;
  asio::post(io_, [&] {
    try {
      fn(*sim_);
      done.set_value();
    } catch (...) {
      done.set_exception(std::current_exception());
    }
  });
  done.get_future().get();
}

void SimThread::stop() {
  if (stopped_.exchange(true)) return;
  std::promise<void> done;
  asio::post(io_, [&] {
    sim_->stop();
    done.set_value();
  });
  done.get_future().wait();
  // Give closing sockets a moment, then stop the loop.
  asio::post(io_, [this] { io_.stop(); });
  if (thread_.joinable()) thread_.join();
  sim_.reset();
}

}  // namespace aa::sim
