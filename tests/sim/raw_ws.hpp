#pragma once
// A deliberately small WebSocket client on a raw TCP socket, for tests that
// must see what a library client hides: the handshake's status, headers and
// body, the close code and reason the server sent, and a connection that
// ends without a close frame (drop()). Server frames are unmasked; ours are
// masked (RFC 6455).
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/util.hpp"

namespace aa::simtest {

class RawWs : public std::enable_shared_from_this<RawWs> {
 public:
  using Clock = std::chrono::steady_clock;
  struct Message {
    bool text = false;
    std::string data;
    Clock::time_point at;
  };

  explicit RawWs(asio::any_io_executor ex) : sock_(std::move(ex)) {}

  /// Connect and upgrade; true on 101. `protocol` empty: no Sec-WebSocket-Protocol.
  awaitable<bool> open(uint16_t port, std::string target, std::string protocol) {
    boost::system::error_code ec;
    const asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    co_await sock_.async_connect(ep, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
    std::string req = "GET " + target +
                      " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: "
                      "Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      "Sec-WebSocket-Version: 13\r\n";
    if (!protocol.empty()) req += "Sec-WebSocket-Protocol: " + protocol + "\r\n";
    req += "\r\n";
    co_await asio::async_write(sock_, asio::buffer(req), asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
    char buf[4096];
    while (head_end() == std::string::npos) {
      const size_t n = co_await sock_.async_read_some(asio::buffer(buf),
                                                      asio::redirect_error(use_awaitable, ec));
      if (ec) co_return false;
      in_.append(buf, n);
    }
    const size_t end = head_end();
    head = in_.substr(0, end);
    in_.erase(0, end + 4);
    status = head.size() > 12 ? std::stoi(head.substr(9, 3)) : 0;
    if (status != 101) {
      // The refusal's body (Content-Length, else until the server closes).
      const auto len = header("Content-Length");
      const size_t want = len ? static_cast<size_t>(std::stoul(*len)) : SIZE_MAX;
      while (in_.size() < want) {
        const size_t n = co_await sock_.async_read_some(asio::buffer(buf),
                                                        asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        in_.append(buf, n);
      }
      body = in_.substr(0, std::min(want, in_.size()));
      sock_.close(ec);
      co_return false;
    }
    asio::co_spawn(sock_.get_executor(), read_loop(shared_from_this()), asio::detached);
    co_return true;
  }

  /// A response header (case-insensitive name), from the handshake.
  std::optional<std::string> header(std::string_view name) const {
    size_t pos = head.find("\r\n");
    while (pos != std::string::npos && pos < head.size()) {
      const size_t next = head.find("\r\n", pos + 2);
      const std::string line =
          head.substr(pos + 2, (next == std::string::npos ? head.size() : next) - pos - 2);
      const auto colon = line.find(':');
      if (colon != std::string::npos && iequals(line.substr(0, colon), name)) {
        std::string v = line.substr(colon + 1);
        while (!v.empty() && v.front() == ' ') v.erase(0, 1);
        return v;
      }
      pos = next;
    }
    return std::nullopt;
  }

  awaitable<void> send_text(std::string s) { co_await send(0x1, std::move(s)); }
  awaitable<void> send_binary(std::string s) { co_await send(0x2, std::move(s)); }
  /// Send a close frame; the server's answer ends the connection.
  awaitable<void> send_close(uint16_t code, std::string reason = {}) {
    std::string p;
    p.push_back(static_cast<char>(code >> 8));
    p.push_back(static_cast<char>(code & 0xFF));
    p += reason;
    close_sent_ = true;
    co_await send(0x8, std::move(p));
  }
  /// End the TCP connection without a close frame.
  void drop() {
    boost::system::error_code ec;
    sock_.shutdown(asio::ip::tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }

  size_t count_binary() const {
    size_t n = 0;
    for (const auto& m : messages) n += !m.text;
    return n;
  }
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& m : messages)
      if (m.text) out.push_back(m.data);
    return out;
  }
  bool has_text(std::string_view t) const {
    for (const auto& m : messages)
      if (m.text && m.data == t) return true;
    return false;
  }
  /// Index in `messages` of the first text equal to `t`, or -1.
  int index_of_text(std::string_view t) const {
    for (size_t i = 0; i < messages.size(); ++i)
      if (messages[i].text && messages[i].data == t) return static_cast<int>(i);
    return -1;
  }

  int status = 0;
  std::string head, body;
  std::vector<Message> messages;
  bool closed = false;
  int close_code = -1;  // -1: no close frame from the server
  std::string close_reason;

 private:
  size_t head_end() const { return in_.find("\r\n\r\n"); }

  awaitable<void> send(int opcode, std::string payload) {
    std::string f;
    f.push_back(static_cast<char>(0x80 | opcode));
    const size_t n = payload.size();
    if (n < 126) {
      f.push_back(static_cast<char>(0x80 | n));
    } else if (n < 65536) {
      f.push_back(static_cast<char>(0x80 | 126));
      f.push_back(static_cast<char>(n >> 8));
      f.push_back(static_cast<char>(n & 0xFF));
    } else {
      f.push_back(static_cast<char>(0x80 | 127));
      for (int i = 7; i >= 0; --i)
        f.push_back(static_cast<char>((static_cast<uint64_t>(n) >> (8 * i)) & 0xFF));
    }
    const char mask[4] = {0x12, 0x34, 0x56, 0x78};
    f.append(mask, 4);
    for (size_t i = 0; i < n; ++i) f.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    boost::system::error_code ec;
    co_await asio::async_write(sock_, asio::buffer(f), asio::redirect_error(use_awaitable, ec));
  }

  awaitable<void> read_loop(std::shared_ptr<RawWs> self) {
    (void)self;
    char buf[16384];
    for (;;) {
      while (parse_one()) {
      }
      if (closed) break;
      boost::system::error_code ec;
      const size_t n = co_await sock_.async_read_some(asio::buffer(buf),
                                                      asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      in_.append(buf, n);
    }
    closed = true;
    boost::system::error_code ec;
    sock_.close(ec);
  }

  bool parse_one() {
    if (in_.size() < 2) return false;
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data());
    const int opcode = p[0] & 0x0F;
    uint64_t len = p[1] & 0x7F;
    size_t at = 2;
    if (len == 126) {
      if (in_.size() < 4) return false;
      len = (static_cast<uint64_t>(p[2]) << 8) | p[3];
      at = 4;
    } else if (len == 127) {
      if (in_.size() < 10) return false;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      at = 10;
    }
    if (in_.size() < at + len) return false;
    std::string payload = in_.substr(at, len);
    in_.erase(0, at + len);
    if (opcode == 0x1 || opcode == 0x2) {
      messages.push_back({opcode == 0x1, std::move(payload), Clock::now()});
    } else if (opcode == 0x8) {
      if (payload.size() >= 2) {
        close_code =
            (static_cast<unsigned char>(payload[0]) << 8) | static_cast<unsigned char>(payload[1]);
        close_reason = payload.substr(2);
      } else {
        close_code = 1005;
      }
      if (!close_sent_) {
        // Answer the server's close; the server then ends the connection.
        close_sent_ = true;
        std::string p2 = payload.substr(0, 2);
        asio::co_spawn(sock_.get_executor(), send(0x8, std::move(p2)), asio::detached);
      }
    }
    return true;
  }

  asio::ip::tcp::socket sock_;
  std::string in_;
  bool close_sent_ = false;
};

}  // namespace aa::simtest
