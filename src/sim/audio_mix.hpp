#pragma once
// The simulator's audio plane, without the engine: the audio formats a
// chan_websocket channel can use, conversion of their frames to and from the
// 16 kHz signed 16-bit mono at which every simulated bridge mixes, saturating
// sums, the signals that stand in for Asterisk's sound files, and the log of
// what a simulated caller heard (HeardLog → a 16 kHz WAV).
//
// Units: rates in Hz, times in ms (simulator clock), sizes in bytes; a "tick"
// is one 20 ms media period (ptime 20 for every format here).
//
// Sources: frame sizes are Asterisk's optimal_frame_size, default_ms ×
// minimum_bytes / minimum_ms of main/codec_builtin.c (chan_websocket.c
// websocket_new); codecs that cannot be cut at byte boundaries (minimum_bytes
// ≤ 10) run in passthrough mode with optimal_frame_size 0. G.711 follows ITU-T
// G.711 (segment/quantisation tables).
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace aa::sim {

inline constexpr int kMixRate = 16000;                          // Hz, every bridge
inline constexpr int kTickMs = 20;                              // ms per media tick
inline constexpr int kTickSamples = kMixRate * kTickMs / 1000;  // 320 samples at 16 kHz

/// An audio format of Asterisk's format cache as chan_websocket uses it.
struct MediaFormat {
  enum class Codec { slin, ulaw, alaw, opaque };
  std::string_view name;  // "slin16"
  Codec codec = Codec::slin;
  int rate_hz = 8000;
  /// MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE in bytes; 0: passthrough (no reframing).
  int frame_bytes = 0;
  bool passthrough() const { return frame_bytes == 0; }
};

/// The format named `name` ("slin16", "ulaw", "opus", …); nullptr when Asterisk
/// has no such format ("Provided format (x) was not found"). Opaque codecs
/// (opus, g722, g729, gsm, …) are accepted but their audio is not decoded: the
/// simulator mixes them as silence and sends nothing to the app.
const MediaFormat* find_media_format(std::string_view name);

inline int16_t sat16(int32_t v) {
  return static_cast<int16_t>(v > 32767 ? 32767 : v < -32768 ? -32768 : v);
}

/// Decode `bytes` of format `f` (one frame, any length) and append it at 16 kHz.
void decode_to_mix(const MediaFormat& f, std::string_view bytes, std::vector<int16_t>& out);
/// Encode `n` samples at 16 kHz as format `f` (bytes appended to `out`).
void encode_from_mix(const MediaFormat& f, const int16_t* s, size_t n, std::string& out);

uint8_t ulaw_encode(int16_t s);
int16_t ulaw_decode(uint8_t b);
uint8_t alaw_encode(int16_t s);
int16_t alaw_decode(uint8_t b);

/// A sine of `hz` at `amplitude`, sample `index` of a stream at 16 kHz.
int16_t tone_sample(int hz, int amplitude, int64_t index);

/// The 44-byte header + samples of a 16-bit mono PCM WAV.
std::string wav_bytes(const int16_t* s, size_t n, int rate_hz = kMixRate);

/// A WAV file (PCM 8/16/24/32-bit or float, mono or stereo, 8–48 kHz) as 16 kHz
/// mono; a validation error saying what is wrong otherwise.
Outcome<std::vector<int16_t>> decode_wav_to_mix(std::string_view bytes);

/// Standard base64 (padding optional, whitespace ignored); nullopt if malformed.
std::optional<std::string> base64_decode(std::string_view in);

/// Root mean square of `n` samples.
double rms(const int16_t* s, size_t n);

/// What a simulated caller heard, one 20 ms tick after the other, kept for the
/// last `max_ticks` ticks (older audio is dropped a second at a time). Silence
/// costs a counter; audio 32,000 bytes a second.
class HeardLog {
 public:
  explicit HeardLog(int64_t max_ticks) : max_ticks_(max_ticks) {}
  /// The tick at `sim_ms` heard `n` samples (≤ kTickSamples; a short frame is
  /// padded with silence), or silence when `s` is null.
  void append(int64_t sim_ms, const int16_t* s, size_t n);
  void clear();
  void set_max_ticks(int64_t t);
  bool empty() const { return chunks_.empty(); }
  /// Simulator-clock ms of the first sample kept; 0 when empty.
  int64_t start_ms() const { return chunks_.empty() ? 0 : chunks_.front().start_ms; }
  int64_t duration_ms() const { return ticks_ * kTickMs; }
  /// All of it as a 16 kHz mono WAV.
  std::string wav() const;
  /// Stretches (simulator ms, [start, end)) whose 20 ms RMS exceeds `threshold`,
  /// joined across gaps up to `join_ms`.
  std::vector<std::pair<int64_t, int64_t>> sound_stretches(double threshold, int64_t join_ms) const;
  size_t bytes() const { return samples_ * sizeof(int16_t); }

 private:
  struct Chunk {
    int64_t start_ms = 0;
    int64_t ticks = 0;
    std::vector<int16_t> samples;  // empty: silence for `ticks` ticks
  };
  void trim();
  std::deque<Chunk> chunks_;
  int64_t max_ticks_;
  int64_t ticks_ = 0;
  size_t samples_ = 0;
};

}  // namespace aa::sim
