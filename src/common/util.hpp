#pragma once
// Small, dependency-free helpers: time stamps, random ids, URL and query handling.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aa {

/// Milliseconds since the Unix epoch (system clock).
int64_t now_epoch_ms();
/// ISO-8601 UTC with milliseconds, e.g. 2026-01-01T00:00:00.000Z.
std::string iso8601_utc(int64_t epoch_ms);
inline std::string iso8601_now() {
  return iso8601_utc(now_epoch_ms());
}
/// Asterisk's own stamp format: 2026-11-26T02:36:59.864+0000.
std::string asterisk_timestamp(int64_t epoch_ms);

/// Random RFC 4122 version-4 UUID (lowercase).
std::string uuid_v4();
/// `bytes` random bytes as lowercase hex (2*bytes chars), from a CSPRNG.
std::string random_hex(size_t bytes);

/// Percent-decoding; '+' becomes a space when `plus_as_space`.
std::string url_decode(std::string_view s, bool plus_as_space = true);
/// Percent-encoding of everything but unreserved characters.
std::string url_encode(std::string_view s);

using QueryParams = std::vector<std::pair<std::string, std::string>>;
/// Parse `a=1&b=x%20y` (without the leading '?').
QueryParams parse_query(std::string_view q);
std::optional<std::string_view> find_param(const QueryParams& q, std::string_view name);

/// Split `target` into decoded path and query params.
void split_target(std::string_view target, std::string& path, QueryParams& query);

struct Url {
  std::string scheme;  // http, https, ws, wss
  std::string host;
  std::string port;  // always set (defaults filled in)
  std::string path;  // without trailing slash; may be empty
  std::string userinfo;
  bool tls() const { return scheme == "https" || scheme == "wss"; }
};
/// Parse an absolute http(s)/ws(s) URL. nullopt if malformed.
std::optional<Url> parse_url(std::string_view s);

/// Constant-time equality for secrets.
bool constant_time_equal(std::string_view a, std::string_view b);

/// Base64 (standard alphabet, padded).
std::string base64_encode(std::string_view in);
/// Strict standard Base64 (padded, no whitespace) through OpenSSL's decoder;
/// false when `in` is not Base64 (out is then unspecified).
bool base64_decode(std::string_view in, std::string& out);

inline bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x + 32);
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y + 32);
    if (x != y) return false;
  }
  return true;
}

}  // namespace aa
