#pragma once
/// Uploaded audio made playable by Asterisk from a URL.
///
/// Asterisk fetches `sound:http…/<name>.<ext>` through its media cache and picks
/// the file reader by the extension; its WAV readers take exactly 16-bit mono
/// PCM at 8 kHz (`.wav`) or 16 kHz (`.wav16`) and fail anything else within
/// milliseconds. Measured on Asterisk 22.11: a 16 kHz WAV served as `.wav16`
/// plays, the same file as `.wav` fails in 7 ms, an 8 kHz one as `.wav` plays.
/// So 8 kHz input stays 8 kHz (`.wav`), everything else becomes 16 kHz
/// (`.wav16`): the best quality Asterisk's WAV readers take, and what wideband
/// codecs (G.722, Opus at 16 kHz) carry.
#include <cstdint>
#include <string>
#include <string_view>

#include "audio/wav.hpp"
#include "common/error.hpp"

namespace aa::media {

struct PreparedAudio {
  std::string bytes;      // a canonical 16-bit mono PCM WAV (44-byte header)
  std::string extension;  // "wav" (8 kHz) or "wav16" (16 kHz), without the dot
  uint32_t rate_hz = 0;   // 8000 or 16000
  int64_t duration_ms = 0;
  audio::WavFormat source;  // what was uploaded
  bool resampled = false;   // speexdsp changed the rate (anything but 8 and 16 kHz)
};

/// Convert an uploaded WAV (anything audio::parse_wav accepts with the default
/// audio::WavAccept: integer or float PCM, 8–48 kHz, mono or stereo) to the
/// format above: stereo is averaged to mono, other rates are resampled to
/// 16 kHz (audio::Resampler, kQualitySpeech). Anything else is
/// ErrorCode::validation_failed, message "Unsupported audio: send <what we
/// accept>" and one detail "body: <what is wrong>", e.g. "body: mu-law (format
/// tag 0x0007) is a compressed format". Audio with no samples is refused too.
Outcome<PreparedAudio> prepare_for_asterisk(std::string_view wav);

}  // namespace aa::media
