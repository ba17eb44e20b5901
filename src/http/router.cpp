#include "http/router.hpp"

#include "http/errors.hpp"

namespace aa::http {

const std::string& PathParams::operator[](std::string_view name) const {
  static const std::string empty;
  for (const auto& [k, v] : items_)
    if (k == name) return v;
  return empty;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  size_t i = 0;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    if (j > i) out.emplace_back(path.substr(i, j - i));
    i = j + 1;
  }
  return out;
}

void Router::add(std::string method, std::string pattern, std::string description,
                 RouteHandler handler) {
  Route r;
  r.segments = split_path(pattern);
  r.method = std::move(method);
  r.pattern = std::move(pattern);
  r.description = std::move(description);
  r.handler = std::move(handler);
  routes_.push_back(std::move(r));
}

void Router::add_listing(std::string method, std::string pattern, std::string description) {
  add(std::move(method), std::move(pattern), std::move(description), nullptr);
}

namespace {

/// The path's segments as views into it (no allocation for the usual depth).
struct PathSegments {
  static constexpr size_t kMax = 8;
  std::string_view items[kMax];
  size_t count = 0;
  bool too_deep = false;  // more segments than any route has
  explicit PathSegments(std::string_view path) {
    size_t i = 0;
    while (i <= path.size()) {
      size_t j = path.find('/', i);
      if (j == std::string_view::npos) j = path.size();
      if (j > i) {
        if (count == kMax) {
          too_deep = true;
          return;
        }
        items[count++] = path.substr(i, j - i);
      }
      i = j + 1;
    }
  }
};

bool match_segments(const Route& r, const PathSegments& segs, PathParams* params) {
  if (segs.too_deep || r.segments.size() != segs.count) return false;
  for (size_t i = 0; i < segs.count; ++i) {
    const std::string& p = r.segments[i];
    if (!p.empty() && p[0] == ':') continue;
    if (p != segs.items[i]) return false;
  }
  if (params) {
    for (size_t i = 0; i < segs.count; ++i)
      if (!r.segments[i].empty() && r.segments[i][0] == ':')
        params->add(r.segments[i].substr(1), std::string(segs.items[i]));
  }
  return true;
}

}  // namespace

Router::Match Router::match(std::string_view method, std::string_view path) const {
  Match m;
  const std::string_view want = method == "HEAD" ? std::string_view("GET") : method;
  const PathSegments segs(path);
  // The usual case first: the route for this method, without building the Allow list.
  for (const auto& r : routes_) {
    if (!r.handler || r.method != want) continue;
    if (!match_segments(r, segs, nullptr)) continue;
    m.route = &r;
    m.path_known = true;
    match_segments(r, segs, &m.params);
    return m;
  }
  // No route for this method: is the path known at all (405 with Allow) or not (404)?
  for (const auto& r : routes_) {
    if (!r.handler) continue;
    if (!match_segments(r, segs, nullptr)) continue;
    m.path_known = true;
    bool seen = false;
    for (const auto& a : m.allowed) seen |= a == r.method;
    if (!seen) m.allowed.push_back(r.method);
  }
  if (m.path_known) {
    bool has_get = false, has_head = false;
    for (const auto& a : m.allowed) {
      has_get |= a == "GET";
      has_head |= a == "HEAD";
    }
    if (has_get && !has_head) m.allowed.push_back("HEAD");
  }
  return m;
}

awaitable<net::Response> Router::dispatch(net::Request& req) const {
  Match m = match(req.method, req.path);
  if (m.route) {
    req.route = m.route->pattern;
    for (const auto& [name, value] : m.params.items()) {
      if (value.size() > max_param_bytes_) {
        co_return to_response(Error(ErrorCode::not_found,
                                    "Not found: the :" + name + " path segment is longer than " +
                                        std::to_string(max_param_bytes_) + " bytes"));
      }
    }
    net::Response r = co_await m.route->handler(req, m.params);
    co_return r;
  }
  if (m.path_known) {
    Error e(ErrorCode::method_not_allowed,
            "Method " + req.method + " is not allowed on " + req.path);
    net::Response r = to_response(e);
    std::string allow;
    for (const auto& a : m.allowed) {
      if (!allow.empty()) allow += ", ";
      allow += a;
    }
    r.headers.push_back({"Allow", allow});
    co_return r;
  }
  co_return to_response(Error(ErrorCode::not_found, "No route for " + req.method + " " + req.path));
}

std::string Router::listing_key(const Route& r) {
  std::string k = r.method;
  while (k.size() < 4) k += ' ';
  k += ' ';
  k += r.pattern;
  return k;
}

}  // namespace aa::http
