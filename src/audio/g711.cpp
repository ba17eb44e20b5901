#include "audio/g711.hpp"

// spandsp.h would pull in libtiff's headers (for its fax code): take only the
// G.711 part and what it needs.
#include <spandsp/telephony.h>
// (order matters: g711.h uses top_bit() from bit_operations.h)
#include <spandsp/bit_operations.h>
#include <spandsp/g711.h>

namespace aa::audio {

void ulaw_encode(std::span<const int16_t> pcm, std::string& out) {
  const size_t base = out.size();
  out.resize(base + pcm.size());
  for (size_t i = 0; i < pcm.size(); ++i) out[base + i] = static_cast<char>(linear_to_ulaw(pcm[i]));
}

void ulaw_decode(std::string_view ulaw, std::vector<int16_t>& out) {
  const size_t base = out.size();
  out.resize(base + ulaw.size());
  for (size_t i = 0; i < ulaw.size(); ++i)
    out[base + i] = ulaw_to_linear(static_cast<uint8_t>(ulaw[i]));
}

}  // namespace aa::audio
