#pragma once
/// Method + path routing with `:params` (e.g. `/calls/:id/play/file`).
/// Unknown path → 404 JSON; known path, wrong method → 405 JSON with `Allow`.
/// The route table can be listed (for `GET /` and API description checks).
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/asio.hpp"
#include "net/http_types.hpp"

namespace aa::http {

/// Values of the `:name` segments of the matched pattern, in order.
class PathParams {
 public:
  void add(std::string name, std::string value) {
    items_.emplace_back(std::move(name), std::move(value));
  }
  /// The value of `:name`, or "" when the pattern has no such segment.
  const std::string& operator[](std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

 private:
  std::vector<std::pair<std::string, std::string>> items_;
};

using RouteHandler = std::function<awaitable<net::Response>(net::Request&, const PathParams&)>;

struct Route {
  std::string method;       // "GET", "POST", "DELETE", ... ("WS" for listing-only entries)
  std::string pattern;      // "/calls/:id/play"
  std::string description;  // for GET /
  RouteHandler handler;     // empty for listing-only entries
  std::vector<std::string> segments;
};

class Router {
 public:
  /// Register a route. Earlier routes win when two patterns match the same path.
  void add(std::string method, std::string pattern, std::string description, RouteHandler handler);
  /// A route that is listed (e.g. "WS /events") but never dispatched.
  void add_listing(std::string method, std::string pattern, std::string description);

  struct Match {
    const Route* route = nullptr;  // null: no route for this method
    PathParams params;
    bool path_known = false;           // some route has this path (→ 405 when route is null)
    std::vector<std::string> allowed;  // methods the path supports (only when route is null)
  };
  /// HEAD is matched as GET.
  Match match(std::string_view method, std::string_view path) const;

  /// Match and run the handler; 404/405 JSON otherwise. A `:param` longer than
  /// max_param_bytes() names nothing that can exist: 404 without running the
  /// handler (so an overlong id never reaches Asterisk).
  awaitable<net::Response> dispatch(net::Request& req) const;

  void set_max_param_bytes(size_t n) { max_param_bytes_ = n; }
  size_t max_param_bytes() const { return max_param_bytes_; }

  const std::vector<Route>& routes() const { return routes_; }

  /// `"GET  /health"`: the method padded to 4 columns, a space, the pattern
  /// (the key format of the original's `GET /` listing).
  static std::string listing_key(const Route& r);

 private:
  std::vector<Route> routes_;
  size_t max_param_bytes_ = 256;
};

/// Split "/a/b/" into {"a","b"} (empty segments dropped).
std::vector<std::string> split_path(std::string_view path);

}  // namespace aa::http
