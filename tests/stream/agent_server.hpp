#pragma once
// An agent server for the stream tests: a WebSocket server (the service
// dials it, as Twilio dials yours) that records every message with its arrival
// time, and the same recording for a socket the agent opened itself. Helpers
// decode Twilio `media` payloads back to PCM and build the agent's messages.
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "audio/g711.hpp"
#include "audio/resampler.hpp"
#include "common/json.hpp"
#include "common/util.hpp"
#include "net/http_server.hpp"
#include "net/ws_client.hpp"

namespace aa::test::agent {

using Clock = std::chrono::steady_clock;

/// One agent connection: what it received, when, and how it ended.
struct Peer {
  std::shared_ptr<net::WsConnection> ws;
  std::vector<std::string> raw;
  std::vector<Clock::time_point> at;
  bool closed = false;
  uint16_t close_code = 0;  // the service's close frame (0: none seen)

  void attach(std::shared_ptr<net::WsConnection> c, bool server_side) {
    ws = std::move(c);
    ws->on_message = [this](std::string_view m) {
      raw.emplace_back(m);
      at.push_back(Clock::now());
    };
    if (server_side) ws->on_close_frame = [this](uint16_t code) { close_code = code; };
    ws->on_close = [this, server_side] {
      closed = true;
      if (!server_side && ws) close_code = ws->peer_close_code();
    };
  }
  /// Messages whose "event" is `event`.
  std::vector<json::Document> of(std::string_view event) const {
    std::vector<json::Document> out;
    for (const auto& m : raw) {
      auto d = json::parse(m);
      if (d && json::get_string(*d, "event") == event) out.push_back(std::move(*d));
    }
    return out;
  }
  size_t count(std::string_view event) const { return of(event).size(); }
  /// Index of the first message with `event` and (if given) mark name.
  std::optional<size_t> find(std::string_view event, std::string_view mark = {}) const {
    for (size_t i = 0; i < raw.size(); ++i) {
      auto d = json::parse(raw[i]);
      if (!d || json::get_string(*d, "event") != event) continue;
      if (!mark.empty()) {
        const json::Value* m = json::find(*d, "mark");
        if (!m || json::get_string(*m, "name") != mark) continue;
      }
      return i;
    }
    return std::nullopt;
  }
  /// Raw payload bytes of every media message of `track`, in order.
  std::string payload(std::string_view track = "inbound", size_t from = 0) const {
    std::string out, b;
    for (size_t i = from; i < raw.size(); ++i) {
      auto d = json::parse(raw[i]);
      if (!d || json::get_string(*d, "event") != "media") continue;
      const json::Value* m = json::find(*d, "media");
      if (!m || json::get_string(*m, "track") != track) continue;
      if (base64_decode(json::get_string(*m, "payload"), b)) out += b;
    }
    return out;
  }
  bool send(const std::string& m) const { return ws && ws->send(m); }
};

/// WebSocket server on the test's io_context: every upgrade becomes a Peer.
/// `refuse_with` > 0 answers upgrades with that HTTP status instead.
struct Server {
  net::HttpServer http;
  std::vector<std::shared_ptr<Peer>> peers;
  int refuse_with = 0;
  uint16_t port = 0;

  explicit Server(asio::io_context& io) : http(io, options()) {
    http.on_request([](net::Request&) -> awaitable<net::Response> {
      co_return net::Response::json(404, R"({"error":"not here"})");
    });
    http.on_websocket(
        [this](const net::Request&) -> std::optional<net::Response> {
          if (refuse_with) return net::Response::json(refuse_with, R"({"error":"refused"})");
          return std::nullopt;
        },
        [this](std::shared_ptr<net::WsConnection> c, const net::Request&) {
          auto p = std::make_shared<Peer>();
          p->attach(std::move(c), true);
          peers.push_back(p);
        });
    port = http.start();
  }
  static net::ServerOptions options() {
    net::ServerOptions o;
    o.ws_max_message = 4 * 1024 * 1024;
    return o;
  }
  std::string url(std::string_view path = "/agent") const {
    return "ws://127.0.0.1:" + std::to_string(port) + std::string(path);
  }
};

/// μ-law 8 kHz bytes → 16-bit PCM at 16 kHz (what PocketSphinx hears).
inline std::vector<int16_t> mulaw_to_pcm16k(std::string_view ulaw) {
  std::vector<int16_t> lin;
  audio::ulaw_decode(ulaw, lin);
  return audio::resample(lin, 8000, 16000);
}
/// s16le bytes → samples.
inline std::vector<int16_t> slin_to_pcm(std::string_view bytes) {
  std::vector<int16_t> out(bytes.size() / 2);
  std::memcpy(out.data(), bytes.data(), out.size() * 2);
  return out;
}

/// Twilio `media` from the agent: one message per `chunk` bytes of `audio`.
inline std::vector<std::string> media_messages(std::string_view audio, std::string_view sid,
                                               size_t chunk) {
  std::vector<std::string> out;
  for (size_t off = 0; off < audio.size(); off += chunk) {
    json::Writer w;
    w.begin_object().field("event", "media").field("streamSid", sid);
    w.key("media").begin_object().field("payload", base64_encode(audio.substr(off, chunk)));
    w.end_object().end_object();
    out.push_back(w.str());
  }
  return out;
}
inline std::string mark_message(std::string_view sid, std::string_view name) {
  json::Writer w;
  w.begin_object().field("event", "mark").field("streamSid", sid);
  w.key("mark").begin_object().field("name", name).end_object().end_object();
  return w.str();
}
inline std::string clear_message(std::string_view sid) {
  json::Writer w;
  w.begin_object().field("event", "clear").field("streamSid", sid).end_object();
  return w.str();
}

/// How alike two recordings of the same sound are (same rate): the best
/// normalised cross-correlation over every alignment, 1 = identical. A coarse
/// search on 10 ms energy envelopes finds the alignment, a fine one refines it.
inline double similarity(const std::vector<int16_t>& a, const std::vector<int16_t>& b,
                         uint32_t rate_hz) {
  const size_t f = rate_hz / 100;
  auto envelope = [f](const std::vector<int16_t>& x) {
    std::vector<double> e(x.size() / f);
    for (size_t i = 0; i < e.size(); ++i) {
      double s = 0;
      for (size_t j = 0; j < f; ++j) s += std::abs(static_cast<double>(x[i * f + j]));
      e[i] = s / static_cast<double>(f);
    }
    return e;
  };
  // Correlation of x against y shifted by `lag` (y[i + lag] ~ x[i]), on their overlap.
  auto corr = [](const auto& x, const auto& y, long lag) {
    double xy = 0, xx = 0, yy = 0;
    for (long i = 0; i < static_cast<long>(x.size()); ++i) {
      const long j = i + lag;
      if (j < 0 || j >= static_cast<long>(y.size())) continue;
      const double p = static_cast<double>(x[i]), q = static_cast<double>(y[j]);
      xy += p * q;
      xx += p * p;
      yy += q * q;
    }
    return xx > 0 && yy > 0 ? xy / std::sqrt(xx * yy) : 0.0;
  };
  const auto ea = envelope(a), eb = envelope(b);
  if (ea.empty() || eb.empty()) return 0;
  long best_lag = 0;
  double best = -2;
  for (long lag = -static_cast<long>(ea.size()); lag < static_cast<long>(eb.size()); ++lag) {
    const double c = corr(ea, eb, lag);
    if (c > best) {
      best = c;
      best_lag = lag;
    }
  }
  double fine = -1;
  for (long d = -2 * static_cast<long>(f); d <= 2 * static_cast<long>(f); ++d)
    fine = std::max(fine, corr(a, b, best_lag * static_cast<long>(f) + d));
  return fine;
}

}  // namespace aa::test::agent
