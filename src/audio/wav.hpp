#pragma once
/// WAV (RIFF/WAVE) reading and writing.
///
/// Reads integer PCM (8-bit unsigned, 16-, 24-, 32-bit signed) and IEEE float 32,
/// also inside WAVE_FORMAT_EXTENSIBLE, from files with any chunk layout: chunks
/// other than fmt/data (LIST, fact, …) before or after the data are skipped,
/// odd-sized chunks carry their pad byte, and a data size of 0 or ≥ 0x7FFFF000
/// (0xFFFFFFFF is what streaming writers leave) means "to the end of the input".
/// Compressed formats (μ-law, A-law, ADPCM, MP3-in-WAV, …), RF64 and big-endian
/// RIFX are refused with an error that names them. Sources: Microsoft's RIFF and
/// WAVE_FORMAT_EXTENSIBLE specifications (mmreg.h format tags, KSDATAFORMAT GUIDs).
///
/// Errors are `ErrorCode::validation_failed` whose message is one sentence
/// saying what is wrong ("mu-law (format tag 0x0007) is a compressed format");
/// callers add what they accept (see kAcceptedWav).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "audio/pcm.hpp"
#include "common/error.hpp"

namespace aa::audio {

/// WAV fmt-chunk format tags (mmreg.h).
inline constexpr uint16_t kWavePcm = 0x0001;
inline constexpr uint16_t kWaveFloat = 0x0003;
inline constexpr uint16_t kWaveExtensible = 0xFFFE;

/// What we accept, in words, for error messages (matches WavAccept{}).
inline constexpr std::string_view kAcceptedWav =
    "a PCM WAV file (8-, 16-, 24- or 32-bit integer or 32-bit float samples, mono or stereo, "
    "8000-48000 Hz)";

/// Which sample rates and channel counts a parser accepts; others are an error
/// as soon as the fmt chunk is read. The default is what the service converts.
struct WavAccept {
  uint32_t min_rate_hz = 8000;
  uint32_t max_rate_hz = 48000;
  uint16_t max_channels = 2;
};

/// The fmt chunk of a WAV we can decode.
struct WavFormat {
  uint16_t format_tag = 0;  // as written: kWavePcm, kWaveFloat or kWaveExtensible
  SampleFormat sample_format = SampleFormat::s16;  // resolved (extensible: its sub-format)
  uint16_t channels = 0;
  uint32_t rate_hz = 0;
  uint16_t bits_per_sample = 0;  // container size: 8, 16, 24 or 32
  size_t frame_bytes() const { return channels * bytes_per_sample(sample_format); }
};

/// A whole WAV decoded to int16: the source format, and its samples at the
/// source rate with the source channels (interleaved).
struct DecodedWav {
  WavFormat format;
  Pcm pcm;
};

/// Incremental WAV reader for audio that arrives in pieces (e.g. a TTS answer:
/// header first, then data). Feed bytes as they come; the format is known once
/// the fmt chunk has been read, and samples come out of every feed that
/// completes whole frames. Memory held: the fmt chunk and < 1 frame of data.
///
///   WavStreamParser p;
///   std::vector<int16_t> s;
///   for (chunk : body) if (auto st = p.feed(chunk, s); !st) return st.error();
///   if (auto st = p.finish(); !st) ...   // truncated or no data chunk
class WavStreamParser {
 public:
  explicit WavStreamParser(WavAccept accept = {}) : accept_(accept) {}

  /// Parse `bytes`; decoded samples (int16, source channels interleaved, whole
  /// frames only) are appended to `out`. After an error every call returns it.
  Status feed(std::string_view bytes, std::vector<int16_t>& out);
  /// The input has ended: an error when the header was incomplete, there was no
  /// data chunk, or the data chunk is shorter than its declared size. A
  /// trailing partial frame is dropped.
  Status finish();

  /// Set once the fmt chunk has been read and accepted.
  const WavFormat* format() const { return have_fmt_ ? &format_ : nullptr; }
  /// True once the data chunk has started (samples may follow).
  bool in_data() const { return state_ == State::data || state_ == State::after_data; }
  /// Frames decoded so far.
  uint64_t frames() const { return frames_; }
  /// False when the data chunk's size was a streaming placeholder (0 or
  /// ≥ 0x7FFFF000): it then runs to the end of the input.
  bool data_size_known() const { return data_size_known_; }

 private:
  enum class State { riff, chunk_header, fmt_body, skip, data, after_data, failed };
  Status fail(std::string message);
  Status parse_fmt(std::string_view body);
  void decode(std::string_view bytes, std::vector<int16_t>& out);

  WavAccept accept_;
  State state_ = State::riff;
  Error error_;
  std::string pending_;  // header bytes not yet complete, or a partial frame
  size_t want_ = 12;     // bytes pending_ must reach (riff, chunk header, fmt body)
  uint32_t chunk_size_ = 0;
  uint64_t skip_left_ = 0;
  uint64_t data_left_ = 0;
  uint64_t data_declared_ = 0;
  uint64_t data_seen_ = 0;
  bool data_size_known_ = true;
  bool have_fmt_ = false;
  bool fed_any_ = false;
  WavFormat format_;
  uint64_t frames_ = 0;
};

/// Decode a whole WAV (WavStreamParser over all of `bytes`, then finish()).
Outcome<DecodedWav> parse_wav(std::string_view bytes, WavAccept accept = {});

/// The 44-byte header of a 16-bit PCM WAV (format tag 1) whose data chunk is
/// `data_bytes` long; for writers that stream the samples after it.
std::string wav_header(uint32_t rate_hz, uint16_t channels, uint32_t data_bytes);

/// A canonical 16-bit PCM WAV (44-byte header, then the samples) of `pcm`.
std::string write_wav(const Pcm& pcm);

}  // namespace aa::audio
