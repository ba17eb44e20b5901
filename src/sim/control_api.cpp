#include "sim/control_api.hpp"

#include "common/json.hpp"
#include "common/util.hpp"
#include "sim/reply.hpp"

namespace aa::sim {
namespace {

std::vector<std::string_view> segments(std::string_view p) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    if (end > start) out.push_back(p.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

}  // namespace

net::Response ControlApi::handle(const net::Request& req) {
  const auto seg = segments(req.path);  // "_sim", ...
  json::Document body;
  body.SetObject();
  if (!req.body.empty()) {
    std::string err;
    auto doc = json::parse(req.body, &err);
    if (!doc || !doc->IsObject()) return error_reply(400, "Body must be a JSON object");
    body = std::move(*doc);
  }
  const std::string& m = req.method;
  auto is = [&](std::string_view method, std::initializer_list<std::string_view> pattern) {
    if (m != method || seg.size() != pattern.size()) return false;
    size_t i = 0;
    for (auto p : pattern) {
      if (p != "*" && p != seg[i]) return false;
      ++i;
    }
    return true;
  };

  if (is("POST", {"_sim", "inbound"})) {
    std::vector<std::string> args;
    if (auto* a = json::find(body, "args"); a && a->IsArray())
      for (const auto& v : a->GetArray())
        args.emplace_back(v.IsString() ? std::string(json::as_view(v)) : json::stringify(v));
    return engine_.inbound(std::string(json::get_string(body, "from")),
                           std::string(json::get_string(body, "to")), std::move(args),
                           std::string(json::get_string(body, "app")));
  }
  if (is("POST", {"_sim", "channels", "*", "dtmf"}))
    return engine_.far_dtmf(std::string(seg[2]), std::string(json::get_string(body, "digits")),
                            json::get_int(body, "betweenMs", 350));
  if (is("POST", {"_sim", "channels", "*", "answer"}))
    return engine_.far_answer(std::string(seg[2]));
  if (is("POST", {"_sim", "channels", "*", "hangup"}))
    return engine_.far_hangup(std::string(seg[2]),
                              static_cast<int>(json::get_int(body, "cause", 16)));
  if (is("PUT", {"_sim", "endpoints", "*", "*"}))
    return engine_.set_endpoint(std::string(seg[2]), std::string(seg[3]), body);
  if (is("GET", {"_sim", "state"})) return engine_.state_json();
  if (is("POST", {"_sim", "reset"})) {
    engine_.reset();
    return no_content();
  }
  if (is("POST", {"_sim", "faults"})) {
    bool any = false;
    if (json::get_bool(body, "dropEventSockets")) {
      any = true;
      if (hooks_.drop_event_sockets) hooks_.drop_event_sockets();
    }
    if (auto ms = json::get_int(body, "refuseConnectionsMs", 0); ms > 0) {
      any = true;
      if (hooks_.refuse_connections) hooks_.refuse_connections(ms);
    }
    if (json::find(body, "responseDelayMs")) {
      any = true;
      if (hooks_.set_response_delay)
        hooks_.set_response_delay(json::get_int(body, "responseDelayMs", 0));
    }
    if (json::get_bool(body, "restart")) {
      any = true;
      if (hooks_.restart) hooks_.restart();
    }
    if (!any)
      return error_reply(
          400, "Expected dropEventSockets, refuseConnectionsMs, restart or responseDelayMs");
    return no_content();
  }
  if (is("POST", {"_sim", "timeScale"})) {
    const double s = json::get_double(body, "timeScale", 0);
    if (s <= 0) return error_reply(400, "timeScale must be > 0");
    engine_.set_time_scale(s);
    return no_content();
  }
  return error_reply(404, "Resource not found");
}

}  // namespace aa::sim
