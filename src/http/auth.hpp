#pragma once
/// API-key authentication: when a key is configured, a request must carry it as
/// `X-API-Key: <key>`, `?api_key=<key>` or `Authorization: Bearer <key>`
/// (compared in constant time). The key never reaches a log line: use
/// `redact_target` for anything that logs a request target.
#include <optional>
#include <string>
#include <string_view>

#include "net/http_types.hpp"

namespace aa::http {

class Auth {
 public:
  explicit Auth(std::string api_key) : key_(std::move(api_key)) {}
  bool enabled() const { return !key_.empty(); }
  /// True when auth is off or `req` carries the key in one of the three ways.
  bool allowed(const net::Request& req) const;
  /// nullopt when allowed; else the 401 JSON response (with WWW-Authenticate).
  std::optional<net::Response> check(const net::Request& req) const;

 private:
  std::string key_;
};

/// `target` with the value of every key-like query parameter replaced by "***":
/// any name containing key, token, secret, pass, pwd, auth, credential,
/// session or sig, in any case (`api_key`, `apikey`, `API_KEY`, `access_token`...).
std::string redact_target(std::string_view target);

}  // namespace aa::http
