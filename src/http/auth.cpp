#include "http/auth.hpp"

#include "common/util.hpp"
#include "http/errors.hpp"

namespace aa::http {

bool Auth::allowed(const net::Request& req) const {
  if (key_.empty()) return true;
  // Evaluate every way the key can be given; any match lets the request in.
  bool ok = false;
  std::string_view header_key = req.header("x-api-key");
  if (!header_key.empty()) ok |= constant_time_equal(header_key, key_);
  for (const auto& [name, value] : req.query)
    if (name == "api_key") ok |= constant_time_equal(value, key_);
  std::string_view authz = req.header("authorization");
  if (authz.size() > 7 && iequals(authz.substr(0, 7), "bearer ")) {
    std::string_view token = authz.substr(7);
    while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
    while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
    ok |= constant_time_equal(token, key_);
  }
  return ok;
}

std::optional<net::Response> Auth::check(const net::Request& req) const {
  if (allowed(req)) return std::nullopt;
  const bool given = !req.header("x-api-key").empty() || !req.header("authorization").empty() ||
                     req.param("api_key").has_value();
  net::Response r = to_response(
      Error(ErrorCode::unauthorized, given ? "Invalid API key"
                                           : "Missing API key: send X-API-Key, Authorization: "
                                             "Bearer or ?api_key="));
  r.headers.push_back({"WWW-Authenticate", "Bearer"});
  return r;
}

namespace {

/// A query parameter whose name suggests a credential, whatever its case:
/// a key sent under a name we do not accept (`apikey`, `API_KEY`, `token`...)
/// must not reach a log line either.
bool key_like(std::string_view name) {
  static constexpr std::string_view kWords[] = {"key",  "token",      "secret",  "pass", "pwd",
                                                "auth", "credential", "session", "sig"};
  std::string lower(name);
  for (auto& c : lower)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c + 32);
  for (auto w : kWords)
    if (lower.find(w) != std::string::npos) return true;
  return false;
}

}  // namespace

std::string redact_target(std::string_view target) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, q + 1));
  std::string_view rest = target.substr(q + 1);
  bool first = true;
  while (true) {
    size_t amp = rest.find('&');
    std::string_view part = rest.substr(0, amp);
    if (!first) out += '&';
    first = false;
    size_t eq = part.find('=');
    std::string name = url_decode(part.substr(0, eq));
    if (eq != std::string_view::npos && key_like(name))
      out += std::string(part.substr(0, eq)) + "=***";
    else
      out += part;
    if (amp == std::string_view::npos) break;
    rest.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace aa::http
