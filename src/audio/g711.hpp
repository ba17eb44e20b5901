#pragma once
/// G.711 μ-law (PCMU), the codec of Twilio Media Streams and of most phone
/// lines, through spandsp's implementation (Debian libspandsp-dev, LGPL 2.1,
/// spandsp/g711.h): never hand-written here. One byte per sample, 8 kHz.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace aa::audio {

/// 16-bit linear samples → μ-law bytes (one per sample), appended to `out`.
void ulaw_encode(std::span<const int16_t> pcm, std::string& out);
/// μ-law bytes → 16-bit linear samples, appended to `out`.
void ulaw_decode(std::string_view ulaw, std::vector<int16_t>& out);

}  // namespace aa::audio
