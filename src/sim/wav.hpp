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

/// The format Asterisk 22's media cache (res_http_media_cache) gives a fetched
/// file: from the response's Content-Type when a file format claims it
/// (format_wav claims audio/wav and audio/x-wav for its 8 kHz "wav" reader),
/// else from the extension of the URL's path. "" when neither says.
std::string remote_media_extension(std::string_view url, std::string_view content_type);

/// What Asterisk's reader for `extension` makes of fetched `bytes`: the
/// duration in ms, or nullopt when it refuses them (the playback fails at once).
/// "wav": 16-bit mono 8 kHz PCM WAV only; "wav16": the same at 16 kHz
/// (format_wav's header check); "sln"/"sln16": raw 16-bit samples at 8/16 kHz,
/// any even length; anything else: any WAV, by its header.
std::optional<int64_t> remote_media_duration_ms(std::string_view extension, std::string_view bytes);

/// Duration of raw audio of `format` with `size` bytes (for stored non-WAV files).
std::optional<int64_t> raw_duration_ms(std::string_view format, uint64_t size);

/// Write `bytes` to `path` atomically enough for tests (temp file + rename).
bool write_file(const std::string& path, std::string_view bytes);

}  // namespace aa::sim
