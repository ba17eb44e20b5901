#pragma once
// Request parameters the way Asterisk reads them: from the query string or,
// for the same names, from a JSON object body. Only the parameters the route
// documents (api_docs.hpp) can be read: the others read as absent.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"
#include "net/http_types.hpp"
#include "sim/api_docs.hpp"

namespace aa::sim {

class Params {
 public:
  Params(const net::Request& req, const json::Value* body,
         const std::vector<apidocs::Param>* documented = nullptr)
      : req_(req), body_(body), documented_(documented) {}

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
  bool documented(std::string_view name) const;

  const net::Request& req_;
  const json::Value* body_;
  const std::vector<apidocs::Param>* documented_;
};

/// Split on ',' and drop empty items.
std::vector<std::string> split_list(std::string_view s);

}  // namespace aa::sim
