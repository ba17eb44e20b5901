#pragma once
// Request parameters the way Asterisk reads them: from the query string or,
// for the same names, from a JSON object body.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "net/http_types.hpp"

namespace aa::sim {

class Params {
 public:
  Params(const net::Request& req, const json::Value* body) : req_(req), body_(body) {}

  std::optional<std::string> get(std::string_view name) const;
  std::string str(std::string_view name, std::string_view fallback = {}) const {
    auto v = get(name);
    return v ? *v : std::string(fallback);
  }
  int64_t integer(std::string_view name, int64_t fallback) const;
  bool boolean(std::string_view name, bool fallback) const;
  /// Comma-separated list; repeated query parameters are joined too.
  std::vector<std::string> list(std::string_view name) const;
  const json::Value* body() const { return body_; }

 private:
  const net::Request& req_;
  const json::Value* body_;
};

/// Split on ',' and drop empty items.
std::vector<std::string> split_list(std::string_view s);

}  // namespace aa::sim
