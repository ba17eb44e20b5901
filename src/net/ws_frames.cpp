#include "net/ws_frames.hpp"

#include <openssl/sha.h>

#include "common/util.hpp"

namespace aa::net::ws {

void append_frame(std::string& out, Opcode op, std::string_view payload) {
  const size_t n = payload.size();
  out.push_back(static_cast<char>(0x80 | static_cast<uint8_t>(op)));  // FIN
  if (n < 126) {
    out.push_back(static_cast<char>(n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(126));
    out.push_back(static_cast<char>((n >> 8) & 0xFF));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      out.push_back(static_cast<char>((static_cast<uint64_t>(n) >> shift) & 0xFF));
  }
  out.append(payload);
}

std::string close_payload(uint16_t code, std::string_view reason) {
  std::string p;
  p.push_back(static_cast<char>(code >> 8));
  p.push_back(static_cast<char>(code & 0xFF));
  p.append(reason.substr(0, 123));  // control frames carry at most 125 bytes
  return p;
}

std::string accept_key(std::string_view client_key) {
  std::string src(client_key);
  src += "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";  // RFC 6455's fixed GUID
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(src.data()), src.size(), digest);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), SHA_DIGEST_LENGTH));
}

bool FrameParser::fail(uint16_t code, std::string reason) {
  violation_.close_code = code;
  violation_.reason = std::move(reason);
  return false;
}

bool FrameParser::next(Message& out) {
  if (failed()) return false;
  for (;;) {
    const size_t avail = buf_.size() - pos_;
    if (avail < 2) break;
    const auto* p = reinterpret_cast<const uint8_t*>(buf_.data() + pos_);
    const bool fin = p[0] & 0x80;
    if (p[0] & 0x70) return fail(1002, "reserved bits set");
    const auto op = static_cast<Opcode>(p[0] & 0x0F);
    const bool masked = p[1] & 0x80;
    uint64_t len = p[1] & 0x7F;
    size_t header = 2;
    if (len == 126) {
      if (avail < 4) break;
      len = (static_cast<uint64_t>(p[2]) << 8) | p[3];
      header = 4;
    } else if (len == 127) {
      if (avail < 10) break;
      len = 0;
      for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
      header = 10;
    }
    if (!masked) return fail(1002, "client frames must be masked");
    const bool control = static_cast<uint8_t>(op) & 0x08;
    if (control && (len > 125 || !fin)) return fail(1002, "bad control frame");
    if (!control && op != Opcode::continuation && op != Opcode::text && op != Opcode::binary)
      return fail(1002, "unknown opcode");
    if (len > max_message_ || (!control && partial_.size() + len > max_message_))
      return fail(1009, "message too big");
    if (avail < header + 4 + len) break;
    const uint8_t* mask = p + header;
    const char* data = reinterpret_cast<const char*>(p + header + 4);
    std::string payload(data, static_cast<size_t>(len));
    for (size_t i = 0; i < payload.size(); ++i)
      payload[i] = static_cast<char>(payload[i] ^ mask[i % 4]);
    pos_ += header + 4 + static_cast<size_t>(len);
    if (pos_ == buf_.size()) {
      buf_.clear();
      pos_ = 0;
    } else if (pos_ > 64 * 1024) {
      buf_.erase(0, pos_);
      pos_ = 0;
    }

    if (control) {
      out.opcode = op;
      out.payload = std::move(payload);
      return true;
    }
    if (op == Opcode::continuation) {
      if (!in_fragments_) return fail(1002, "continuation without a first fragment");
      partial_ += payload;
    } else {
      if (in_fragments_) return fail(1002, "new message inside a fragmented one");
      partial_op_ = op;
      partial_ = std::move(payload);
    }
    in_fragments_ = !fin;
    if (fin) {
      out.opcode = partial_op_;
      out.payload = std::move(partial_);
      partial_.clear();
      return true;
    }
  }
  return false;
}

}  // namespace aa::net::ws
