#pragma once
// The simulator's ARI route table (rest_routes.cpp): every operation it serves,
// with its documentation (the source of /ari/api-docs) and its handler.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_types.hpp"
#include "sim/api_docs.hpp"
#include "sim/engine.hpp"
#include "sim/params.hpp"

namespace aa::sim {

/// One request as a handler sees it.
struct RouteCtx {
  const net::Request& req;
  Params p;                       // only the route's documented parameters
  std::vector<std::string> caps;  // path parameters, in path order
  const std::string& cap(size_t i) const { return caps.at(i); }
};

using RouteFn = std::function<net::Response(RouteCtx&)>;

/// One served operation: its documentation and its handler. The path pattern
/// is derived from the documented path ("{name}" segments become "*").
struct Route {
  apidocs::Operation op;
  std::vector<std::string_view> pattern;
  RouteFn fn;
};

std::vector<Route> build_routes(Engine& e);

/// Non-empty '/'-separated segments of a path.
std::vector<std::string_view> split_path(std::string_view p);

}  // namespace aa::sim
