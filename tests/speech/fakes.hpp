#pragma once
// Fakes of the remote speech protocols, for the engine tests here and for
// end-to-end tests of the voice loop:
//  - FakeTtsServer: an OpenAI-style `POST /v1/audio/speech` server answering a
//    WAV (24 kHz by default), whole, trickled in timed pieces, held at a gate
//    the test opens, stalled after its first piece, or a 500, or no answer.
//    Plain asio, not net::HttpServer: it must write a body in pieces over time.
//  - FakeAsrServer: a qwen3-asr-compatible WebSocket server (net::HttpServer):
//    status connected/configured replies, a cumulative partial per N bytes of
//    audio ("one", "one two", ...), a final on flush; can drop the connection
//    once after some audio, ignore flush, or repeat a final.
// Everything runs on the test's io_context; observations are plain fields.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/asio.hpp"  // first: Boost 1.74's awaitable.hpp needs <utility>
//
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "common/json.hpp"
#include "common/worker_pool.hpp"
#include "net/http_server.hpp"

namespace aa::test {

// ---------------------------------------------------------------- audio

/// A PCM WAV of a 440 Hz tone: `bits` 8 (unsigned) or 16, `channels` 1 or 2.
inline std::string tone_wav(uint32_t rate, uint16_t channels, uint16_t bits, double seconds,
                            uint32_t data_size_field = 0 /* 0: the real size */) {
  auto le32 = [](std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  auto le16 = [](std::string& s, uint16_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>(v >> 8);
  };
  const size_t frames = static_cast<size_t>(std::lround(seconds * rate));
  const uint16_t bytes = bits / 8;
  std::string data;
  data.reserve(frames * channels * bytes);
  for (size_t i = 0; i < frames; ++i) {
    const double v = 0.5 * std::sin(2 * M_PI * 440.0 * static_cast<double>(i) / rate);
    for (uint16_t c = 0; c < channels; ++c) {
      if (bits == 8) {
        data += static_cast<char>(static_cast<uint8_t>(128 + std::lround(v * 127)));
      } else {
        le16(data, static_cast<uint16_t>(static_cast<int16_t>(std::lround(v * 32767))));
      }
    }
  }
  std::string w = "RIFF";
  le32(w, static_cast<uint32_t>(36 + data.size()));
  w += "WAVEfmt ";
  le32(w, 16);
  le16(w, 1);  // PCM
  le16(w, channels);
  le32(w, rate);
  le32(w, rate * channels * bytes);
  le16(w, static_cast<uint16_t>(channels * bytes));
  le16(w, bits);
  w += "data";
  le32(w, data_size_field ? data_size_field : static_cast<uint32_t>(data.size()));
  return w + data;
}

// ---------------------------------------------------------------- TTS

class FakeTtsServer {
 public:
  enum class Mode {
    wav,       // 200 + the WAV (see first_piece / after_first / trickle)
    error500,  // 500 with a short text body
    silent,    // reads the request, never answers (until the client goes away)
    not_wav,   // 200 with an MP3-like body
  };
  enum class After { rest, gate, stall };
  struct Options {
    Mode mode = Mode::wav;
    uint32_t rate = 24000;
    uint16_t channels = 1;
    uint16_t bits = 16;
    double seconds = 1.0;
    bool chunked = false;  // Transfer-Encoding: chunked instead of Content-Length
    /// Bytes written first (header included in the count: 0 = all at once).
    size_t first_piece = 0;
    /// After the first piece: the rest at once, wait for open_gate(), or stall
    /// until the client closes.
    After after_first = After::rest;
    /// Trickle: the rest in pieces of this many bytes, one per interval.
    size_t trickle_bytes = 0;
    std::chrono::milliseconds trickle_interval{50};
  };

  FakeTtsServer(asio::io_context& io, Options o)
      : io_(io), opts_(std::move(o)), acceptor_(io), gate_(io) {
    wav = tone_wav(opts_.rate, opts_.channels, opts_.bits, opts_.seconds);
    using tcp = asio::ip::tcp;
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), 0);
    acceptor_.open(ep.protocol());
    acceptor_.set_option(tcp::acceptor::reuse_address(true));
    acceptor_.bind(ep);
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    gate_.expires_at(std::chrono::steady_clock::time_point::max());
    spawn(io_, accept_loop(), "fake tts accept");
  }
  ~FakeTtsServer() {
    boost::system::error_code ec;
    acceptor_.close(ec);
    gate_.cancel();
    for (auto& s : sockets_)
      if (auto p = s.lock()) p->close(ec);
  }

  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  void open_gate() {
    gate_open = true;
    gate_.cancel();
  }

  // Observations.
  std::string wav;                   // the file served in wav mode
  std::vector<std::string> targets;  // request targets
  std::vector<std::string> bodies;   // request bodies
  std::vector<std::string> content_types;
  int requests = 0;
  bool first_piece_sent = false;
  bool gate_open = false;
  bool finished_sending = false;
  bool client_closed = false;  // seen while stalled / silent

 private:
  using tcp = asio::ip::tcp;

  awaitable<void> accept_loop() {
    for (;;) {
      boost::system::error_code ec;
      auto sock = std::make_shared<tcp::socket>(io_);
      co_await acceptor_.async_accept(*sock, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      sockets_.push_back(sock);
      spawn(io_, serve(sock), "fake tts connection");
    }
  }

  static std::string header_value(const std::string& head, std::string name) {
    std::string lower = head;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    size_t p = lower.find("\r\n" + name + ":");
    if (p == std::string::npos) return {};
    p += name.size() + 3;
    size_t e = head.find("\r\n", p);
    std::string v = head.substr(p, e - p);
    while (!v.empty() && v.front() == ' ') v.erase(0, 1);
    return v;
  }

  awaitable<void> write(tcp::socket& s, std::string data, boost::system::error_code& ec) {
    co_await asio::async_write(s, asio::buffer(data), asio::redirect_error(use_awaitable, ec));
  }

  awaitable<void> wait_for_close(tcp::socket& s) {
    char b[512];
    boost::system::error_code ec;
    for (;;) {
      co_await s.async_read_some(asio::buffer(b), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
    }
    client_closed = true;
  }

  awaitable<void> serve(std::shared_ptr<tcp::socket> sock) {
    auto& s = *sock;
    boost::system::error_code ec;
    std::string in;
    co_await asio::async_read_until(s, asio::dynamic_buffer(in), "\r\n\r\n",
                                    asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    const size_t head_end = in.find("\r\n\r\n") + 4;
    const std::string head = in.substr(0, head_end);
    const size_t len = std::stoul("0" + header_value(head, "Content-Length"));
    while (in.size() < head_end + len) {
      char b[4096];
      size_t n =
          co_await s.async_read_some(asio::buffer(b), asio::redirect_error(use_awaitable, ec));
      if (ec) co_return;
      in.append(b, n);
    }
    ++requests;
    targets.push_back(
        head.substr(head.find(' ') + 1, head.find(' ', head.find(' ') + 1) - head.find(' ') - 1));
    bodies.push_back(in.substr(head_end, len));
    content_types.push_back(header_value(head, "Content-Type"));

    if (opts_.mode == Mode::silent) {
      co_await wait_for_close(s);
      co_return;
    }
    if (opts_.mode == Mode::error500) {
      const std::string body = "model crashed: CUDA out of memory\n";
      co_await write(s,
                     "HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n"
                     "Content-Length: " +
                         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body,
                     ec);
      finished_sending = true;
      co_return;
    }
    const std::string payload =
        opts_.mode == Mode::not_wav
            ? std::string("ID3\x03\x00\x00\x00\x00\x00\x21", 10) + std::string(4000, '\x55')
            : wav;
    std::string out = "HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nConnection: close\r\n";
    if (opts_.chunked) {
      out += "Transfer-Encoding: chunked\r\n\r\n";
    } else {
      out += "Content-Length: " + std::to_string(payload.size()) + "\r\n\r\n";
    }
    const size_t header_bytes = out.size();
    // Body pieces, framed for chunked encoding when asked.
    auto frame = [&](std::string_view piece) {
      if (!opts_.chunked || piece.empty()) return std::string(piece);
      char hex[32];
      std::snprintf(hex, sizeof hex, "%zx\r\n", piece.size());
      return std::string(hex) + std::string(piece) + "\r\n";
    };
    size_t sent = 0;
    if (opts_.first_piece) {
      const size_t body_first =
          opts_.first_piece > header_bytes ? opts_.first_piece - header_bytes : 0;
      sent = std::min(body_first, payload.size());
      co_await write(s, out + frame(std::string_view(payload).substr(0, sent)), ec);
      if (ec) co_return;
      first_piece_sent = true;
      if (opts_.after_first == After::stall) {
        co_await wait_for_close(s);
        co_return;
      }
      if (opts_.after_first == After::gate && !gate_open) {
        co_await gate_.async_wait(asio::redirect_error(use_awaitable, ec));
        if (!gate_open) co_return;  // server destroyed
      }
      out.clear();
    }
    if (opts_.trickle_bytes) {
      if (!out.empty()) {
        co_await write(s, out, ec);
        if (ec) co_return;
      }
      asio::steady_timer t(io_);
      while (sent < payload.size()) {
        const size_t n = std::min(opts_.trickle_bytes, payload.size() - sent);
        co_await write(s, frame(std::string_view(payload).substr(sent, n)), ec);
        if (ec) co_return;
        sent += n;
        if (sent < payload.size()) {
          t.expires_after(opts_.trickle_interval);
          co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        }
      }
      out.clear();
    } else {
      out += frame(std::string_view(payload).substr(sent));
      sent = payload.size();
    }
    if (opts_.chunked) out += "0\r\n\r\n";
    if (!out.empty()) co_await write(s, out, ec);
    finished_sending = true;
    s.shutdown(tcp::socket::shutdown_send, ec);
    co_await wait_for_close(s);
  }

  asio::io_context& io_;
  Options opts_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer gate_;
  uint16_t port_ = 0;
  std::vector<std::weak_ptr<tcp::socket>> sockets_;
};

// ---------------------------------------------------------------- ASR

class FakeAsrServer {
 public:
  struct Options {
    size_t partial_every_bytes = 16000;  // 0.5 s of slin16
    bool answer_flush = true;
    bool duplicate_final = false;  // send the flush's final twice
    size_t drop_after_bytes = 0;   // close the first connection after this much audio
    bool refuse_all = false;       // answer the upgrade with 503
  };

  FakeAsrServer(asio::io_context& io, Options o) : opts_(o), server_(io, net::ServerOptions{}) {
    server_.on_request([](net::Request&) -> awaitable<net::Response> {
      co_return net::Response::json(404, "{}");
    });
    server_.on_websocket(
        [this](const net::Request&) -> std::optional<net::Response> {
          if (opts_.refuse_all) return net::Response::json(503, R"({"error":"busy"})");
          return std::nullopt;
        },
        [this](std::shared_ptr<net::WsConnection> ws, const net::Request& req) {
          on_open(std::move(ws), req);
        });
    port_ = server_.start();
  }

  std::string url() const { return "ws://127.0.0.1:" + std::to_string(port_) + "/ws/transcribe"; }
  uint16_t port() const { return port_; }
  /// Close every open connection (as a crash or restart would).
  void drop_all() {
    for (auto& c : conns_)
      if (auto ws = c.lock()) ws->close(1011, "server restart");
  }

  // Observations.
  int connections = 0;
  int closed = 0;
  std::vector<std::string> paths;
  std::vector<std::string> configs;  // languages, in order
  std::vector<std::string> texts;    // every text message received
  int flushes = 0;
  size_t bytes_total = 0;
  std::vector<size_t> bytes_per_connection;
  std::vector<std::string> first_audio;  // first 640 bytes of audio per connection

 private:
  static std::string words(size_t n) {
    static const char* kWords[] = {"one", "two",   "three", "four", "five",
                                   "six", "seven", "eight", "nine", "ten"};
    std::string out;
    for (size_t i = 0; i < n; ++i) {
      if (i) out += ' ';
      out += kWords[i % 10];
    }
    return out;
  }
  static std::string transcript(const std::string& text, bool final) {
    json::Writer w;
    w.begin_object()
        .field("text", text)
        .field_bool("is_partial", !final)
        .field_bool("is_final", final)
        .end_object();
    return w.str();
  }

  void on_open(std::shared_ptr<net::WsConnection> ws, const net::Request& req) {
    const size_t index = static_cast<size_t>(connections++);
    paths.push_back(req.path);
    bytes_per_connection.push_back(0);
    first_audio.emplace_back();
    conns_.push_back(ws);
    auto utter = std::make_shared<size_t>(0);  // bytes in the current utterance
    std::weak_ptr<net::WsConnection> weak = ws;
    ws->send(
        R"({"status":"connected","sample_rate":16000,"format":"pcm_s16le","buffer_size":14400,"window_max_s":6.0})");
    ws->on_message = [this, weak, utter](std::string_view msg) {
      auto c = weak.lock();
      if (!c) return;
      texts.emplace_back(msg);
      auto d = json::parse(msg);
      if (!d) return;
      const auto action = json::get_string(*d, "action");
      if (action == "config") {
        configs.emplace_back(json::get_string(*d, "language"));
        json::Writer w;
        w.begin_object()
            .field("status", "configured")
            .field("language", json::get_string(*d, "language"))
            .end_object();
        c->send(w.view());
      } else if (action == "flush") {
        ++flushes;
        if (!opts_.answer_flush) return;
        const std::string t = words(*utter / opts_.partial_every_bytes);
        c->send(transcript(t, true));
        if (opts_.duplicate_final) c->send(transcript(t, true));
        *utter = 0;
      } else if (action == "reset") {
        *utter = 0;
        c->send(R"({"status":"buffer_reset"})");
      } else {
        c->send(R"({"code":"BAD_ACTION","message":"unknown action","statusCode":400})");
      }
    };
    ws->on_binary = [this, weak, utter, index](std::string_view data) {
      auto c = weak.lock();
      if (!c) return;
      if (first_audio[index].size() < 640)
        first_audio[index].append(data.substr(0, 640 - first_audio[index].size()));
      const size_t before = *utter / opts_.partial_every_bytes;
      *utter += data.size();
      bytes_total += data.size();
      bytes_per_connection[index] += data.size();
      const size_t after = *utter / opts_.partial_every_bytes;
      if (after > before) c->send(transcript(words(after), false));
      if (opts_.drop_after_bytes && index == 0 &&
          bytes_per_connection[0] >= opts_.drop_after_bytes && !dropped_) {
        dropped_ = true;
        c->close(1011, "server restart");
      }
    };
    ws->on_close = [this] { ++closed; };
  }

  Options opts_;
  net::HttpServer server_;
  uint16_t port_ = 0;
  bool dropped_ = false;
  std::vector<std::weak_ptr<net::WsConnection>> conns_;
};

// ---------------------------------------------------------------- helpers

/// A test's worker pool and io_context, torn down in the one safe order: the
/// workers stop (nothing more is posted to io), then io's pending handlers are
/// destroyed (they may hold jobs with strands of the pool), then the pool.
struct SpeechRig {
  WorkerPool pool;
  asio::io_context io;
  explicit SpeechRig(size_t threads, size_t max_queued = 1024) : pool(threads, max_queued) {}
  ~SpeechRig() { pool.stop(); }
};

/// Run `io` until `pred()` or `limit`; true when pred() became true. Worker
/// threads post results to `io`, so it idles on a work guard meanwhile.
template <typename Pred>
bool run_until(asio::io_context& io, Pred pred,
               std::chrono::milliseconds limit = std::chrono::seconds(20)) {
  if (io.stopped()) io.restart();  // the previous guard's end stopped it
  auto guard = asio::make_work_guard(io);
  const auto until = std::chrono::steady_clock::now() + limit;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > until) return false;
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

/// Run the handlers that are ready now (and those they post) without waiting.
inline void drain(asio::io_context& io) {
  io.restart();
  io.poll();
}

/// Word error rate of `hyp` against `ref`: word-level Levenshtein distance
/// (substitutions + deletions + insertions) over the reference's word count.
/// Case and punctuation other than apostrophes are ignored.
inline std::vector<std::string> wer_words(std::string_view s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '\'') {
      cur += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    } else if (!cur.empty()) {
      out.push_back(std::move(cur));
      cur.clear();
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}
struct WerCount {
  size_t errors = 0;
  size_t words = 0;
  double rate() const {
    return words ? static_cast<double>(errors) / static_cast<double>(words) : 0;
  }
};
inline WerCount word_errors(std::string_view ref, std::string_view hyp) {
  const auto r = wer_words(ref), h = wer_words(hyp);
  std::vector<size_t> prev(h.size() + 1), cur(h.size() + 1);
  for (size_t j = 0; j <= h.size(); ++j) prev[j] = j;  // insertions
  for (size_t i = 1; i <= r.size(); ++i) {
    cur[0] = i;  // deletions
    for (size_t j = 1; j <= h.size(); ++j) {
      const size_t sub = prev[j - 1] + (r[i - 1] == h[j - 1] ? 0 : 1);
      cur[j] = std::min({sub, prev[j] + 1, cur[j - 1] + 1});
    }
    std::swap(prev, cur);
  }
  return WerCount{prev[h.size()], r.size()};
}

}  // namespace aa::test
