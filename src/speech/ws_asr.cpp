#include "speech/ws_asr.hpp"

#include <deque>

#include "common/json.hpp"
#include "common/log.hpp"
#include "net/ws_client.hpp"

namespace aa::speech {

namespace {

constexpr size_t kBytesPerSecond = 16000 * 2;

// One session; everything runs on the io thread.
struct WsState : std::enable_shared_from_this<WsState> {
  asio::any_io_executor io;
  WsAsrOptions opts;
  std::string language;
  std::string call_id;
  Url url;
  std::string target;
  AsrCallbacks cb;
  std::shared_ptr<size_t> active;
  bool slot_held = true;

  std::shared_ptr<net::WsConnection> conn;
  uint64_t generation = 0;  // which connection callbacks belong to
  bool connecting = false;
  bool closed = false;     // no callback any more
  bool finishing = false;  // finish() called
  int failures = 0;        // consecutive failed connection attempts
  asio::steady_timer retry_timer;
  asio::steady_timer flush_timer;
  std::function<void()> done;

  std::deque<std::string> backlog;  // audio waiting for a connection
  size_t backlog_bytes = 0;
  size_t max_backlog_bytes = 0;
  bool drop_logged = false;

  std::string last_partial;
  std::string last_final;
  bool partial_since_final = false;

  explicit WsState(asio::any_io_executor ex) : io(ex), retry_timer(ex), flush_timer(ex) {}

  void release_slot() {
    if (!slot_held) return;
    slot_held = false;
    --*active;
  }

  void shut(uint16_t code) {
    closed = true;
    release_slot();
    retry_timer.cancel();
    flush_timer.cancel();
    ++generation;
    if (conn) {
      // Its callbacks stay (they may be running now) but see a newer generation.
      conn->close(code, "session ended");
      conn.reset();
    }
    backlog.clear();
    backlog_bytes = 0;
  }

  void fail(Error e) {
    if (closed) return;
    shut(1000);
    auto c = std::move(cb);
    cb = {};
    log::warn("call {}: remote speech recognition stopped: {}", call_id, e.internal_detail);
    if (c.on_error) c.on_error(e);
  }

  void complete_finish() {
    if (closed) return;
    shut(1000);
    cb = {};
    auto d = std::move(done);
    done = nullptr;
    if (d) d();
  }

  void start_connect() {
    if (closed || connecting || conn) return;
    connecting = true;
    spawn(io, connect_task(shared_from_this()), "asr websocket connect");
  }

  awaitable<void> connect_task(std::shared_ptr<WsState> self) {
    net::WsClientOptions wo;
    wo.connect_timeout = opts.connect_timeout;
    wo.verify_tls = opts.verify_tls;
    auto r = co_await net::ws_connect(url, target, wo);
    connecting = false;
    if (closed) {
      if (r.connection) r.connection->close(1000, "session ended");
      co_return;
    }
    if (!r.connection) {
      log::warn("call {}: ASR server {} not reachable: {}{}", call_id, opts.url, r.error,
                r.http_status ? " (HTTP " + std::to_string(r.http_status) + ")" : std::string{});
      on_disconnected();
      co_return;
    }
    on_connected(std::move(r.connection));
    (void)self;
  }

  void on_connected(std::shared_ptr<net::WsConnection> c) {
    conn = std::move(c);
    failures = 0;
    const uint64_t gen = ++generation;
    std::weak_ptr<WsState> weak = weak_from_this();
    conn->on_message = [weak, gen](std::string_view msg) {
      if (auto s = weak.lock(); s && s->generation == gen) s->on_text(msg);
    };
    conn->on_binary = [](std::string_view) {};  // the protocol sends none
    conn->on_close = [weak, gen] {
      if (auto s = weak.lock(); s && s->generation == gen) {
        s->conn.reset();
        s->on_disconnected();
      }
    };
    if (!language.empty() && language != "auto") {
      json::Writer w;
      w.begin_object().field("action", "config").field("language", language).end_object();
      conn->send(w.view());
    }
    if (drop_logged) log::info("call {}: ASR server reachable again", call_id);
    drop_logged = false;
    for (auto& frame : backlog) conn->send_binary(frame);
    backlog.clear();
    backlog_bytes = 0;
    if (finishing) send_flush();
  }

  void on_disconnected() {
    if (closed) return;
    if (finishing) return complete_finish();  // no final can come any more
    ++failures;
    if (failures > opts.max_reconnects) {
      return fail(Error(ErrorCode::asr_unavailable, "Speech recognition server unreachable",
                        "ASR server " + opts.url + " unreachable after " +
                            std::to_string(opts.max_reconnects) + " attempts"));
    }
    log::info("call {}: ASR connection lost; reconnecting in {} ms (attempt {} of {})", call_id,
              opts.reconnect_delay.count(), failures, opts.max_reconnects);
    retry_timer.expires_after(opts.reconnect_delay);
    retry_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec) self->start_connect();
    });
  }

  void on_text(std::string_view msg) {
    if (closed) return;
    auto doc = json::parse(msg);
    if (!doc || !doc->IsObject()) {
      log::debug("call {}: ASR sent a non-JSON message", call_id);
      return;
    }
    if (const auto* t = json::find(*doc, "text"); t && t->IsString()) {
      const bool is_final = json::get_bool(*doc, "is_final");
      std::string text(json::as_view(*t));
      if (is_final) {
        const bool repeat = text == last_final && !partial_since_final;
        if (!text.empty() && !repeat) {
          last_final = text;
          last_partial.clear();
          partial_since_final = false;
          if (cb.on_transcript) cb.on_transcript(Transcript{text, true, 0});
        }
        if (finishing && !closed) complete_finish();
      } else if (!text.empty() && text != last_partial) {
        last_partial = text;
        partial_since_final = true;
        if (cb.on_transcript) cb.on_transcript(Transcript{text, false, 0});
      }
      return;
    }
    if (json::find(*doc, "status")) {
      log::debug("call {}: ASR status {}", call_id, msg.substr(0, 200));
    } else if (json::find(*doc, "error") || json::find(*doc, "message")) {
      log::warn("call {}: ASR server error: {}", call_id, msg.substr(0, 300));
    }
  }

  void feed(std::span<const int16_t> pcm) {
    if (closed || finishing || pcm.empty()) return;
    std::string bytes(reinterpret_cast<const char*>(pcm.data()), pcm.size() * sizeof(int16_t));
    if (conn && conn->is_open() && conn->send_binary(bytes)) return;
    backlog_bytes += bytes.size();
    backlog.push_back(std::move(bytes));
    size_t dropped = 0;
    while (backlog_bytes > max_backlog_bytes && !backlog.empty()) {
      dropped += backlog.front().size();
      backlog_bytes -= backlog.front().size();
      backlog.pop_front();
    }
    if (dropped && !drop_logged) {
      drop_logged = true;
      log::warn(
          "call {}: ASR server not connected: keeping the last {} ms of audio, dropping older",
          call_id, opts.connect_buffer.count());
    }
  }

  void send_flush() {
    json::Writer w;
    w.begin_object().field("action", "flush").end_object();
    conn->send(w.view());
  }

  void finish(std::function<void()> d) {
    if (closed) {
      if (d) asio::post(io, std::move(d));
      return;
    }
    if (finishing) {  // a second finish(): answer it when the first completes
      auto first = std::move(done);
      done = [first = std::move(first), d = std::move(d)] {
        if (first) first();
        if (d) d();
      };
      return;
    }
    finishing = true;
    done = std::move(d);
    flush_timer.expires_after(opts.flush_timeout);
    flush_timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->closed) return;
      log::info("call {}: no final transcript within {} ms of flush", self->call_id,
                self->opts.flush_timeout.count());
      self->complete_finish();
    });
    if (conn && conn->is_open()) {
      send_flush();
    } else if (!connecting) {
      // Waiting to reconnect: no server to flush. Answer from a handler, never inline.
      asio::post(io, [self = shared_from_this()] { self->complete_finish(); });
    }  // connecting: on_connected() sends the flush
  }
};

class WsSession final : public AsrSession {
 public:
  explicit WsSession(std::shared_ptr<WsState> s) : s_(std::move(s)) {}
  ~WsSession() override { cancel(); }
  void feed(std::span<const int16_t> pcm) override { s_->feed(pcm); }
  void finish(std::function<void()> done) override { s_->finish(std::move(done)); }
  void cancel() override {
    if (s_->closed) return;
    s_->shut(1000);
    // Released later: cancel() may run inside one of the callbacks.
    asio::post(s_->io, [s = s_] {
      s->cb = {};
      s->done = nullptr;
    });
  }

 private:
  std::shared_ptr<WsState> s_;
};

}  // namespace

WsAsr::WsAsr(asio::any_io_executor io, WsAsrOptions opts)
    : io_(std::move(io)), opts_(std::move(opts)) {
  if (opts_.max_sessions == 0) opts_.max_sessions = 1;
}

Outcome<std::unique_ptr<AsrSession>> WsAsr::open(AsrSessionOptions o, AsrCallbacks cb) {
  auto url = parse_url(opts_.url);
  if (!url)
    return Error(ErrorCode::asr_unavailable, "Speech recognition is not available",
                 "ASR_URL is not a ws(s):// URL: " + opts_.url);
  if (*active_ >= opts_.max_sessions)
    return Error(ErrorCode::asr_unavailable, "Speech recognition is at capacity",
                 std::to_string(opts_.max_sessions) + " sessions open (ASR_MAX_SESSIONS)");
  auto s = std::make_shared<WsState>(io_);
  s->opts = opts_;
  s->language = o.language.empty() ? opts_.language : o.language;
  s->call_id = std::move(o.call_id);
  s->url = *url;
  s->target = url->path.empty() ? "/" : url->path;
  s->cb = std::move(cb);
  s->active = active_;
  s->max_backlog_bytes = std::max<size_t>(
      640, static_cast<size_t>(opts_.connect_buffer.count()) * kBytesPerSecond / 1000);
  ++*active_;
  s->start_connect();
  return std::unique_ptr<AsrSession>(std::make_unique<WsSession>(std::move(s)));
}

}  // namespace aa::speech
