#pragma once
/// RFC 6455 framing for the server side of our WebSockets: encoding unmasked
/// server frames (so one event can be appended to many clients' output as
/// plain bytes, and a client that fell behind gets all its pending frames in
/// one write), and an incremental parser of the masked frames clients send.
/// No I/O here.
#include <cstdint>
#include <string>
#include <string_view>

namespace aa::net::ws {

enum class Opcode : uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA
};

/// Append one final, unmasked frame with `payload` to `out`.
void append_frame(std::string& out, Opcode op, std::string_view payload);
/// A close frame's payload: the code (network order) and a reason (≤ 123 bytes).
std::string close_payload(uint16_t code, std::string_view reason);

/// The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key`.
std::string accept_key(std::string_view client_key);

/// Parses client frames as bytes arrive. Call feed(), then next() until it
/// returns false. Whole messages come out (fragments joined); control frames
/// come out as they arrive, even between fragments.
class FrameParser {
 public:
  explicit FrameParser(size_t max_message) : max_message_(max_message) {}

  struct Message {
    Opcode opcode = Opcode::text;  // text, binary, close, ping or pong
    std::string payload;
  };
  /// A protocol violation: close the connection with `close_code`.
  struct Violation {
    uint16_t close_code = 0;  // 1002 protocol error, 1009 too big; 0: none
    std::string reason;
  };

  void feed(std::string_view bytes) { buf_.append(bytes); }
  /// The next complete message, if any. False when more bytes are needed or
  /// after a violation (see violation()).
  bool next(Message& out);
  const Violation& violation() const { return violation_; }
  bool failed() const { return violation_.close_code != 0; }

 private:
  bool fail(uint16_t code, std::string reason);

  size_t max_message_;
  std::string buf_;
  size_t pos_ = 0;  // consumed bytes of buf_
  std::string partial_;
  Opcode partial_op_ = Opcode::text;
  bool in_fragments_ = false;
  Violation violation_;
};

}  // namespace aa::net::ws
