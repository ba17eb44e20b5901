#pragma once
// Internal to src/net: the client side of a WebSocket over any Beast stream
// (TCP or TLS; the server side is ServerWsPeer). One reader loop, one writer
// loop, a queue of outgoing frames bounded in frames and bytes. Beast answers
// pings inside the read, so reading waits while a pong cannot be written: the
// control frames need no queue of their own. Includes Beast: only src/net uses it.
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <memory>
#include <string>

#include "common/asio.hpp"
#include "common/log.hpp"
#include "net/http_types.hpp"

namespace aa::net::detail {

namespace beast = boost::beast;
namespace websocket = beast::websocket;

template <typename NextLayer>
class WsPeer : public WsConnection, public std::enable_shared_from_this<WsPeer<NextLayer>> {
 public:
  using Stream = websocket::stream<NextLayer>;

  WsPeer(Stream stream, size_t max_queue, size_t max_queued_bytes, uint16_t overflow_code)
      : ws_(std::move(stream)),
        max_queue_(max_queue),
        max_queued_bytes_(max_queued_bytes),
        overflow_code_(overflow_code),
        grace_timer_(ws_.get_executor()) {}

  Stream& stream() { return ws_; }

  bool send(std::string_view text) override { return push(text, false); }
  bool send_binary(std::string_view data) override { return push(data, true); }

 private:
  bool push(std::string_view payload, bool binary) {
    if (!open_ || closing_) return false;
    if (queue_.size() >= max_queue_ ||
        (queued_bytes_ > 0 && queued_bytes_ + payload.size() > max_queued_bytes_)) {
      // The peer does not keep up: drop it rather than buffer without bound.
      log::warn("websocket peer too slow ({} frames, {} bytes queued): closing with {}",
                queue_.size(), queued_bytes_, overflow_code_);
      queue_.clear();
      queued_bytes_ = 0;
      overflowed_ = true;
      close(overflow_code_, "client too slow");
      return false;
    }
    queue_.push_back(Frame{std::string(payload), binary});
    queued_bytes_ += payload.size();
    start_writer();
    return true;
  }

 public:
  void close(uint16_t code, std::string reason) override {
    if (!open_ || closing_) return;
    closing_ = true;
    close_code_ = code;
    close_reason_ = std::move(reason);
    if (overflowed_) {
      queue_.clear();
      queued_bytes_ = 0;
    }
    start_writer();
    // A peer whose socket buffer is full never lets the close frame out: cut it.
    grace_timer_.expires_after(std::chrono::seconds(2));
    grace_timer_.async_wait([self = this->shared_from_this()](boost::system::error_code ec) {
      if (!ec && self->open_) self->hard_close();
    });
  }

  bool is_open() const override { return open_ && !closing_; }
  size_t queued() const override { return queue_.size(); }
  size_t queued_bytes() const override { return queued_bytes_; }
  void abort() override { hard_close(); }
  uint16_t peer_close_code() const override { return static_cast<uint16_t>(ws_.reason().code); }

  /// Reads until the connection ends; then fires on_close once.
  // `self` keeps the peer alive: coroutines start lazily, so it must be a parameter.
  awaitable<void> read_loop(std::shared_ptr<WsPeer> self) {
    (void)self;
    beast::flat_buffer buffer;
    for (;;) {
      boost::system::error_code ec;
      co_await ws_.async_read(buffer, asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      auto data = buffer.data();
      const std::string_view msg(static_cast<const char*>(data.data()), data.size());
      if (ws_.got_binary() && on_binary) {
        on_binary(msg);
      } else if (on_message) {
        on_message(msg);
      }
      buffer.consume(buffer.size());
    }
    finish();
  }

  void hard_close() {
    boost::system::error_code ec;
    beast::get_lowest_layer(ws_).socket().close(ec);
    finish();
  }

 private:
  void start_writer() {
    if (writing_) return;
    writing_ = true;
    spawn(ws_.get_executor(), write_loop(this->shared_from_this()), "websocket writer");
  }

  awaitable<void> write_loop(std::shared_ptr<WsPeer> self) {
    (void)self;
    while (open_ && !queue_.empty()) {
      Frame frame = std::move(queue_.front());
      queue_.pop_front();
      queued_bytes_ -= frame.payload.size();
      boost::system::error_code ec;
      ws_.binary(frame.binary);
      co_await ws_.async_write(asio::buffer(frame.payload),
                               asio::redirect_error(use_awaitable, ec));
      if (ec) {
        writing_ = false;
        hard_close();
        co_return;
      }
    }
    if (open_ && closing_ && !close_sent_) {
      close_sent_ = true;
      boost::system::error_code ec;
      websocket::close_reason cr(static_cast<websocket::close_code>(close_code_), close_reason_);
      co_await ws_.async_close(cr, asio::redirect_error(use_awaitable, ec));
      if (ec) hard_close();
    }
    writing_ = false;
  }

  void finish() {
    if (finished_) return;
    finished_ = true;
    open_ = false;
    queue_.clear();
    queued_bytes_ = 0;
    grace_timer_.cancel();
    auto cb = std::move(on_close);
    on_message = nullptr;
    on_binary = nullptr;
    on_close = nullptr;
    if (cb) cb();
  }

  struct Frame {
    std::string payload;
    bool binary = false;
  };
  Stream ws_;
  size_t max_queue_;
  size_t max_queued_bytes_;
  size_t queued_bytes_ = 0;
  uint16_t overflow_code_;
  asio::steady_timer grace_timer_;
  std::deque<Frame> queue_;
  bool open_ = true;
  bool closing_ = false;
  bool close_sent_ = false;
  bool writing_ = false;
  bool overflowed_ = false;
  bool finished_ = false;
  uint16_t close_code_ = 1000;
  std::string close_reason_;
};

}  // namespace aa::net::detail
