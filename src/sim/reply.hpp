#pragma once
// Small helpers to build ARI-shaped replies.
#include <string_view>

#include "ari/models.hpp"
#include "common/json.hpp"
#include "net/http_types.hpp"

namespace aa::sim {

/// `{"message": "..."}` with `status` — Asterisk's usual error body.
inline net::Response error_reply(int status, std::string_view message) {
  return net::Response::json(status, json::object_with("message", message));
}
inline net::Response no_content() {
  return net::Response::empty(204);
}
template <typename T>
net::Response model_reply(int status, const T& v) {
  return net::Response::json(status, ari::to_json(v));
}
template <typename Range, typename Fn>
net::Response array_reply(const Range& items, Fn&& write_one) {
  json::Writer w;
  w.begin_array();
  for (const auto& item : items) write_one(w, item);
  w.end_array();
  return net::Response::json(200, w.str());
}

}  // namespace aa::sim
