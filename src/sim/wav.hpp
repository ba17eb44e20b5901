#pragma once
// Minimal WAV (RIFF PCM) support: the simulator writes recordings as real
// 8 kHz 16-bit mono files and reads the duration of fetched media.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aa::sim {

constexpr int kSampleRate = 8000;

/// Bytes of a 16-bit mono 8 kHz WAV file: `duration_ms` of silence, optionally
/// starting with a `tone_ms` long 1 kHz tone (the recording beep).
std::string make_wav(int64_t duration_ms, int64_t tone_ms = 0);

/// Raw audio for non-WAV formats (ulaw/alaw silence, slin zeros...), same duration.
std::string make_raw_audio(std::string_view format, int64_t duration_ms);

/// Duration in ms of a RIFF/WAVE body; nullopt if it is not a usable WAV.
std::optional<int64_t> wav_duration_ms(std::string_view bytes);

/// Duration of raw audio of `format` with `size` bytes (for stored non-WAV files).
std::optional<int64_t> raw_duration_ms(std::string_view format, uint64_t size);

/// Write `bytes` to `path` atomically enough for tests (temp file + rename).
bool write_file(const std::string& path, std::string_view bytes);

}  // namespace aa::sim
