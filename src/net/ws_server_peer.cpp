#include "net/ws_server_peer.hpp"

#include <array>

#include "common/log.hpp"

namespace aa::net::detail {

ServerWsPeer::ServerWsPeer(asio::ip::tcp::socket sock, size_t max_queue, size_t max_queued_bytes,
                           uint16_t overflow_code, size_t max_message)
    : sock_(std::move(sock)),
      max_queue_(max_queue),
      max_queued_bytes_(max_queued_bytes),
      overflow_code_(overflow_code),
      max_message_(max_message),
      grace_timer_(sock_.get_executor()) {}

bool ServerWsPeer::overflowing(size_t more, size_t more_bytes) {
  const size_t bytes = queued_bytes();
  // A single frame larger than the byte bound still goes out when nothing waits.
  if (queued() + more <= max_queue_ && (bytes == 0 || bytes + more_bytes <= max_queued_bytes_))
    return false;
  // The peer does not keep up: drop it rather than buffer without bound.
  log::warn("websocket peer too slow ({} frames, {} bytes queued): closing with {}", queued(),
            bytes, overflow_code_);
  pending_.clear();
  pending_frames_ = 0;
  close(overflow_code_, "client too slow");
  return true;
}

bool ServerWsPeer::send(std::string_view text) {
  if (!open_ || closing_ || overflowing(1, text.size())) return false;
  enqueue(ws::Opcode::text, text);
  return true;
}

bool ServerWsPeer::send_binary(std::string_view data) {
  if (!open_ || closing_ || overflowing(1, data.size())) return false;
  enqueue(ws::Opcode::binary, data);
  return true;
}

bool ServerWsPeer::send_batch(const std::vector<std::string>& texts) {
  size_t bytes = 0;
  for (const auto& t : texts) bytes += t.size();
  if (!open_ || closing_ || overflowing(texts.size(), bytes)) return false;
  for (const auto& t : texts) {
    ws::append_frame(pending_, ws::Opcode::text, t);
    ++pending_frames_;
  }
  if (!writing_) flush();
  return true;
}

void ServerWsPeer::close(uint16_t code, std::string reason) {
  if (!open_ || closing_) return;
  closing_ = true;
  if (pong_) {  // the pong goes before the close frame: nothing may follow that
    ws::append_frame(pending_, ws::Opcode::pong, *pong_);
    ++pending_frames_;
    pong_.reset();
  }
  enqueue(ws::Opcode::close, ws::close_payload(code, reason));
  // A peer whose receive window is full never lets the close frame out: cut it.
  grace_timer_.expires_after(std::chrono::seconds(2));
  grace_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && self->open_) self->hard_close();
  });
}

void ServerWsPeer::enqueue(ws::Opcode op, std::string_view payload) {
  ws::append_frame(pending_, op, payload);
  ++pending_frames_;
  if (!writing_) flush();
}

void ServerWsPeer::flush() {
  if (pong_ && open_) {
    ws::append_frame(pending_, ws::Opcode::pong, *pong_);
    ++pending_frames_;
    pong_.reset();
  }
  if (pending_.empty() || !open_) {
    writing_ = false;
    return;
  }
  writing_ = true;
  inflight_.swap(pending_);
  pending_.clear();
  inflight_frames_ = pending_frames_;
  pending_frames_ = 0;
  asio::async_write(sock_, asio::buffer(inflight_),
                    [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                      self->on_written(ec);
                    });
}

void ServerWsPeer::on_written(const boost::system::error_code& ec) {
  inflight_.clear();
  inflight_frames_ = 0;
  if (ec) {
    writing_ = false;
    hard_close();
    return;
  }
  if (!pending_.empty() || pong_) {
    flush();
    return;
  }
  writing_ = false;
  if (closing_ && !close_written_) {
    close_written_ = true;
    if (peer_closed_) {
      hard_close();  // both close frames exchanged
    } else {
      boost::system::error_code ignored;
      sock_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);  // wait for theirs
    }
  }
}

void ServerWsPeer::handle(ws::FrameParser::Message& m) {
  switch (m.opcode) {
    case ws::Opcode::text:
      if (on_message && !closing_) on_message(m.payload);
      break;
    case ws::Opcode::binary:
      if (closing_) break;
      if (on_binary) {
        on_binary(m.payload);
      } else if (on_message) {
        on_message(m.payload);
      }
      break;
    case ws::Opcode::ping:
      if (!closing_) {
        pong_ = std::move(m.payload);  // replaces an unanswered one
        if (!writing_) flush();
      }
      break;
    case ws::Opcode::close: {
      peer_closed_ = true;
      // No code in the frame reads as 1005 "no status received" (RFC 6455 §7.1.5).
      uint16_t code = 1005;
      if (m.payload.size() >= 2)
        code = static_cast<uint16_t>((static_cast<uint8_t>(m.payload[0]) << 8) |
                                     static_cast<uint8_t>(m.payload[1]));
      peer_close_code_ = code;
      if (on_close_frame) on_close_frame(code);
      if (closing_) {
        if (close_written_) hard_close();
        break;
      }
      // Echo the peer's code, as RFC 6455 asks; then the socket closes once it is written.
      close(code == 1005 ? 1000 : code);
      break;
    }
    default:
      break;  // pong: nothing to do
  }
}

awaitable<void> ServerWsPeer::read_loop(std::shared_ptr<ServerWsPeer> self, std::string early) {
  (void)self;
  ws::FrameParser parser(max_message_);
  parser.feed(early);
  std::array<char, 4096> buf;
  ws::FrameParser::Message m;
  for (;;) {
    while (open_ && parser.next(m)) handle(m);
    if (!open_) break;
    if (parser.failed()) {
      const auto& v = parser.violation();
      log::debug("websocket peer broke the protocol ({}): closing with {}", v.reason, v.close_code);
      close(v.close_code, v.reason);
      // Read no more frames; wait for the socket to be closed (close written + grace timer).
      while (open_) {
        boost::system::error_code ec;
        co_await sock_.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
        if (ec) break;
      }
      break;
    }
    boost::system::error_code ec;
    const size_t n =
        co_await sock_.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    parser.feed(std::string_view(buf.data(), n));
  }
  finish();
}

void ServerWsPeer::hard_close() {
  boost::system::error_code ec;
  sock_.close(ec);
  finish();
}

void ServerWsPeer::finish() {
  if (finished_) return;
  finished_ = true;
  open_ = false;
  pending_.clear();
  pending_frames_ = 0;
  pong_.reset();
  grace_timer_.cancel();
  boost::system::error_code ec;
  sock_.close(ec);  // release the descriptor now; in-flight handlers fail harmlessly
  auto cb = std::move(on_close);
  on_message = nullptr;
  on_binary = nullptr;
  on_close = nullptr;
  on_close_frame = nullptr;
  if (cb) cb();
}

}  // namespace aa::net::detail
