#pragma once
/// The Twilio Media Streams wire protocol, field for field (Twilio's "Media
/// Streams - WebSocket Messages" reference; research note §5): JSON text
/// frames. To the agent: connected, start, media, dtmf, mark, stop. From the
/// agent: media, mark, clear, and our extension {"event":"hangup"}. Numbers
/// that Twilio sends as strings (sequenceNumber, chunk, timestamp) are strings
/// here too. Pure functions: no I/O, fuzzed.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aa::stream {

/// Audio on the stream. mulaw8k: Twilio's own, base64 G.711 μ-law 8 kHz mono
/// ("audio/x-mulaw"). slin16: base64 16-bit signed little-endian PCM 16 kHz mono
/// ("audio/l16;rate=16000", the byte order of chan_websocket's slin16 and of
/// Vonage's WebSocket audio/l16).
enum class Format { mulaw8k, slin16 };
/// inbound: the caller's audio only (Twilio's default). both: also what the
/// caller hears, as track "outbound", paced at its play-out time.
enum class Tracks { inbound, both };

std::string_view to_string(Format f);
std::string_view to_string(Tracks t);
std::optional<Format> parse_format(std::string_view s);
std::optional<Tracks> parse_tracks(std::string_view s);
/// start.mediaFormat.encoding / .sampleRate for a format.
std::string_view encoding(Format f);
uint32_t sample_rate(Format f);
/// Bytes of one 20 ms chunk on the wire (160 μ-law, 640 slin16).
size_t chunk_bytes(Format f);

using Params = std::vector<std::pair<std::string, std::string>>;

namespace twilio {

struct StartInfo {
  std::string stream_sid, call_sid, account_sid;
  Tracks tracks = Tracks::inbound;
  Format format = Format::mulaw8k;
  Params custom_parameters;
};

/// Every message carries "sequenceNumber" (a string, from "1" per stream) but
/// `connected`, which Twilio sends without one.
std::string connected();
std::string start(uint64_t seq, const StartInfo& s);
/// `track` "inbound" (the caller) or "outbound" (what the caller hears);
/// `chunk` from 1 per track; `timestamp_ms` since the stream started.
std::string media(uint64_t seq, std::string_view stream_sid, std::string_view track, uint64_t chunk,
                  uint64_t timestamp_ms, std::string_view payload_b64);
std::string dtmf(uint64_t seq, std::string_view stream_sid, std::string_view digit);
std::string mark(uint64_t seq, std::string_view stream_sid, std::string_view name);
std::string stop(uint64_t seq, std::string_view stream_sid, std::string_view call_sid,
                 std::string_view account_sid);

/// A message from the agent.
struct Inbound {
  enum class Kind { media, mark, clear, hangup, ignored };
  Kind kind = Kind::ignored;
  std::string audio;  // media: decoded payload bytes (μ-law or s16le per the format)
  std::string name;   // mark
};
/// Why a message is refused: the socket is closed with `close_code` —
/// 1007 (invalid payload data: not JSON, not UTF-8, bad base64, odd slin16
/// length) or 1008 (policy: unknown event, another stream's streamSid, missing
/// fields) — and `reason` is logged and reported in call.stream_error.
struct Refusal {
  uint16_t close_code = 1008;
  std::string reason;
};

/// Largest mark name accepted (bytes).
inline constexpr size_t kMaxMarkName = 256;

/// Parse one text message from the agent. `stream_sid` is ours: a message
/// naming another stream is refused; one naming none is accepted (Twilio's
/// own examples always name it, many agents do not).
/// The messages Twilio itself sends (connected, start, stop, dtmf) are
/// `ignored` when an agent echoes them.
std::pair<std::optional<Inbound>, Refusal> parse(std::string_view text, std::string_view stream_sid,
                                                 Format format);

}  // namespace twilio
}  // namespace aa::stream
