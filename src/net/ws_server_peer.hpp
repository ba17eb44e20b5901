#pragma once
// Internal to src/net: the server side of a WebSocket, on the raw TCP socket
// once the HTTP server has answered the upgrade. Frames are encoded straight
// into one output buffer per peer, so a peer that fell behind gets all its
// pending frames in a single write (the cost per event stays flat under load),
// and control frames (pong, close) go through the same single writer.
#include <memory>
#include <optional>
#include <string>

#include "common/asio.hpp"
#include "net/http_types.hpp"
#include "net/ws_frames.hpp"

namespace aa::net::detail {

class ServerWsPeer final : public WsConnection, public std::enable_shared_from_this<ServerWsPeer> {
 public:
  /// `max_queue` frames or `max_queued_bytes` bytes waiting (written or not)
  /// before the peer is closed with `overflow_code`. `max_message`: largest
  /// message a client may send.
  ServerWsPeer(asio::ip::tcp::socket sock, size_t max_queue, size_t max_queued_bytes,
               uint16_t overflow_code, size_t max_message);

  bool send(std::string_view text) override;
  bool send_batch(const std::vector<std::string>& texts) override;
  bool send_binary(std::string_view data) override;
  void close(uint16_t code, std::string reason = {}) override;
  bool is_open() const override { return open_ && !closing_; }
  size_t queued() const override { return pending_frames_ + inflight_frames_; }
  size_t queued_bytes() const override {
    return pending_.size() + inflight_.size() + (pong_ ? pong_->size() : 0);
  }
  void abort() override { hard_close(); }
  uint16_t peer_close_code() const override { return peer_close_code_; }

  /// Reads frames until the connection ends, then fires on_close once.
  /// `early` is what was read past the upgrade request. `self` keeps the peer
  /// alive (coroutines start lazily, so it must be a parameter).
  awaitable<void> read_loop(std::shared_ptr<ServerWsPeer> self, std::string early);
  /// Close the socket now (shutdown, stuck peers).
  void hard_close();

 private:
  void enqueue(ws::Opcode op, std::string_view payload);
  bool overflowing(size_t more, size_t more_bytes);
  void flush();
  void on_written(const boost::system::error_code& ec);
  void handle(ws::FrameParser::Message& m);
  void finish();

  asio::ip::tcp::socket sock_;
  size_t max_queue_;
  size_t max_queued_bytes_;
  uint16_t overflow_code_;
  size_t max_message_;
  asio::steady_timer grace_timer_;
  std::string pending_, inflight_;
  // The answer to the latest ping not yet answered: a client that pings
  // without reading gets one pong slot, not a queue (RFC 6455 §5.5.3 allows
  // answering only the most recent ping).
  std::optional<std::string> pong_;
  size_t pending_frames_ = 0, inflight_frames_ = 0;
  bool writing_ = false;
  bool open_ = true;
  bool closing_ = false;        // our close frame is queued: no more data frames
  bool close_written_ = false;  // ... and has been written
  bool peer_closed_ = false;    // the peer's close frame arrived
  uint16_t peer_close_code_ = 0;
  bool finished_ = false;
};

}  // namespace aa::net::detail
