#include "common/utf8.hpp"

#include <cstdint>
#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace aa::utf8 {

namespace {

/// Checks the sequence starting at `p` (its first byte is >= 0x80). Returns
/// true when it is a whole valid sequence; `used` is then its length, else the
/// length of its maximal valid beginning (at least 1): the bytes one U+FFFD replaces.
bool check_sequence(const unsigned char* p, size_t avail, size_t& used) {
  const unsigned char c = p[0];
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte (RFC 3629 §4)
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;  // no overlongs
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;  // no overlongs
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    used = 1;  // a continuation byte, an overlong lead (C0, C1) or F5..FF
    return false;
  }
  used = 1;
  if (avail < 2 || p[1] < lo || p[1] > hi) return false;
  used = 2;
  for (size_t k = 2; k < len; ++k) {
    if (avail <= k || p[k] < 0x80 || p[k] > 0xBF) return false;
    used = k + 1;
  }
  return true;
}

/// Skips ASCII from `i`: 16 bytes per step with SSE2, else 8.
size_t skip_ascii(const unsigned char* p, size_t n, size_t i) {
#if defined(__SSE2__)
  while (i + 16 <= n) {
    const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
    if (_mm_movemask_epi8(v) != 0) break;  // a byte with its high bit set
    i += 16;
  }
#endif
  while (i + 8 <= n) {
    uint64_t w;
    std::memcpy(&w, p + i, 8);
    if (w & 0x8080808080808080ULL) break;
    i += 8;
  }
  while (i < n && p[i] < 0x80) ++i;
  return i;
}

}  // namespace

size_t valid_prefix(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  for (;;) {
    i = skip_ascii(p, n, i);
    if (i >= n) return n;
    size_t used = 0;
    if (!check_sequence(p + i, n - i, used)) return i;
    i += used;
  }
}

void append_valid(std::string& out, std::string_view s) {
  size_t good = valid_prefix(s);
  if (good == s.size()) {
    out.append(s);
    return;
  }
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  out.reserve(out.size() + n + 8);
  size_t i = 0;
  while (i < n) {
    // [i, good) is valid; at `good` an ill-formed sequence starts (or the end).
    out.append(s.data() + i, good - i);
    i = good;
    if (i >= n) break;
    size_t used = 0;
    check_sequence(p + i, n - i, used);
    out.append(kReplacement);
    i += used;
    good = i + valid_prefix(s.substr(i));
  }
}

std::string to_valid(std::string_view s) {
  std::string out;
  append_valid(out, s);
  return out;
}

}  // namespace aa::utf8
