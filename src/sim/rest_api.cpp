// ARI REST: authentication, routing through the route table (rest_routes.cpp),
// the Swagger documents under /ari/api-docs, and the events socket handshake.
#include "sim/rest_api.hpp"

#include <algorithm>
#include <cctype>
#include <functional>

#include "common/log.hpp"
#include "common/util.hpp"
#include "sim/api_docs.hpp"
#include "sim/params.hpp"
#include "sim/reply.hpp"
#include "sim/rest_routes.hpp"

namespace aa::sim {

// ---- Params ----

std::vector<std::string> split_list(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    if (end > start) out.emplace_back(s.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool Params::documented(std::string_view name) const {
  if (!documented_) return true;
  for (const auto& p : *documented_)
    if (p.name == name) return true;
  // A handler reading a parameter its route does not document: the api-docs
  // would not tell clients about it. Treat it as absent so tests notice.
  log::error("ari-sim: parameter '{}' is read but not documented for its route", name);
  return false;
}

std::optional<std::string> Params::get(std::string_view name) const {
  if (!documented(name)) return std::nullopt;
  if (auto v = req_.param(name)) return std::string(*v);
  if (body_ && body_->IsObject()) {
    if (const json::Value* v = json::find(*body_, name)) {
      if (v->IsString()) return std::string(json::as_view(*v));
      if (v->IsBool()) return std::string(v->GetBool() ? "true" : "false");
      if (v->IsInt64()) return std::to_string(v->GetInt64());
      if (v->IsNumber()) return std::to_string(v->GetDouble());
      if (v->IsArray()) {
        std::string joined;
        for (const auto& item : v->GetArray()) {
          if (!joined.empty()) joined += ",";
          joined += item.IsString() ? std::string(json::as_view(item)) : json::stringify(item);
        }
        return joined;
      }
    }
  }
  return std::nullopt;
}

int64_t Params::integer(std::string_view name, int64_t fallback) const {
  auto v = get(name);
  if (!v || v->empty()) return fallback;
  try {
    size_t used = 0;
    int64_t n = std::stoll(*v, &used);
    return used ? n : fallback;
  } catch (...) {
    return fallback;
  }
}

bool Params::boolean(std::string_view name, bool fallback) const {
  auto v = get(name);
  if (!v) return fallback;
  return *v == "true" || *v == "1" || *v == "yes";
}

std::vector<std::string> Params::list(std::string_view name) const {
  std::vector<std::string> out;
  if (!documented(name)) return out;
  bool any_query = false;
  for (const auto& [k, v] : req_.query)
    if (k == name) {
      any_query = true;
      for (auto& item : split_list(v)) out.push_back(std::move(item));
    }
  if (!any_query)
    if (auto v = get(name)) out = split_list(*v);
  return out;
}

std::string asterisk_html_error(int status, std::string_view title, std::string_view text) {
  std::string s = "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n<title>";
  s += std::to_string(status) + " " + std::string(title);
  s +=
      "</title>\r\n</head><body>\r\n<h1>" + std::string(title) + "</h1>\r\n<p>" + std::string(text);
  s += "</p>\r\n<hr />\r\n<address>Asterisk</address>\r\n</body></html>\r\n";
  return s;
}

// ---- routing ----

namespace {

bool match(const std::vector<std::string_view>& pattern, const std::vector<std::string_view>& segs,
           std::vector<std::string>& caps) {
  if (pattern.size() != segs.size()) return false;
  caps.clear();
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] == "*")
      caps.emplace_back(segs[i]);
    else if (pattern[i] != segs[i])
      return false;
  }
  return true;
}

}  // namespace

struct RestApi::Routes {
  std::vector<Route> list;
  std::vector<const apidocs::Operation*> ops;
};

RestApi::RestApi(Engine& engine, Credentials creds)
    : engine_(engine), creds_(std::move(creds)), routes_(std::make_unique<Routes>()) {
  routes_->list = build_routes(engine_);
  for (const Route& r : routes_->list) routes_->ops.push_back(&r.op);
}

RestApi::~RestApi() = default;

std::string RestApi::base_path(const net::Request& req) const {
  // As Asterisk: the address the client used (its Host header). A Host we
  // would not put in a URL falls back to our own address.
  std::string_view host = req.header("Host");
  const bool plausible =
      !host.empty() && host.size() <= 255 && std::all_of(host.begin(), host.end(), [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '-' ||
               ch == ':' || ch == '[' || ch == ']' || ch == '_';
      });
  return "http://" + (plausible ? std::string(host) : self_host_) + "/ari";
}

net::Response RestApi::api_docs(const net::Request& req, std::string_view file) const {
  // res_ari serves these files for GET only, after authentication.
  if (req.method != "GET") return error_reply(405, "Unsupported method");
  const std::string base = base_path(req);
  if (file == "resources.json")
    return net::Response::json(200, apidocs::resource_listing(base, routes_->ops));
  constexpr std::string_view ext = ".json";
  if (file.size() > ext.size() && file.substr(file.size() - ext.size()) == ext) {
    if (auto doc =
            apidocs::api_declaration(file.substr(0, file.size() - ext.size()), base, routes_->ops))
      return net::Response::json(200, std::move(*doc));
  }
  return error_reply(404, "Resource not found");
}

bool RestApi::authorized(const net::Request& req) const {
  const std::string expected = creds_.user + ":" + creds_.password;
  if (auto key = req.param("api_key")) return constant_time_equal(*key, expected);
  std::string_view auth = req.header("Authorization");
  if (auth.size() > 6 && iequals(auth.substr(0, 6), "Basic ")) {
    std::string_view b64 = auth.substr(6);
    while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
    return constant_time_equal(b64, base64_encode(expected));
  }
  return false;
}

net::Response RestApi::handle(const net::Request& req) {
  if (!authorized(req)) {
    net::Response r = error_reply(401, "Authentication required");
    r.headers.push_back({"WWW-Authenticate", "Basic realm=\"Asterisk REST Interface\""});
    return r;
  }
  std::string_view path = req.path;
  if (path.rfind("/ari", 0) == 0) path.remove_prefix(4);
  constexpr std::string_view kDocs = "/api-docs/";
  if (path.rfind(kDocs, 0) == 0) return api_docs(req, path.substr(kDocs.size()));
  const auto segs = split_path(path);

  std::optional<json::Document> doc;
  if (!req.body.empty()) {
    const std::string ct = req.content_type();
    const bool looks_json = ct == "application/json" ||
                            (ct.empty() && (req.body.front() == '{' || req.body.front() == '['));
    if (looks_json) {
      doc = json::parse(req.body);
      if (!doc) return error_reply(400, "Error parsing request body");
    }
  }
  bool path_matched = false;
  std::vector<std::string> caps;
  for (const Route& route : routes_->list) {
    if (!match(route.pattern, segs, caps)) continue;
    path_matched = true;
    if (route.op.method != req.method) continue;
    RouteCtx ctx{req, Params(req, doc ? &*doc : nullptr, &route.op.params), caps};
    return route.fn(ctx);
  }
  if (path_matched) return error_reply(405, "Invalid method");
  return error_reply(404, "Resource not found");
}

std::optional<net::Response> RestApi::check_events_upgrade(const net::Request& req) const {
  if (req.path != "/ari/events" && req.path != "/ari/events/")
    return error_reply(404, "Resource not found");
  if (!authorized(req)) return error_reply(401, "Authentication required");
  auto app = req.param("app");
  if (!app || app->empty()) {
    net::Response r;
    r.status = 400;
    r.content_type = "text/html";
    r.body = asterisk_html_error(400, "Bad Request", "HTTP request is missing param: [app]");
    return r;
  }
  return std::nullopt;
}

void RestApi::open_events(std::shared_ptr<net::WsConnection> ws, const net::Request& req) {
  std::vector<std::string> apps;
  for (const auto& [k, v] : req.query)
    if (k == "app")
      for (auto& a : split_list(v)) apps.push_back(std::move(a));
  const auto all = req.param("subscribeAll");
  const bool subscribe_all = all && (*all == "true" || *all == "1" || *all == "yes");
  engine_.attach_socket(std::move(ws), std::move(apps), subscribe_all);
}

}  // namespace aa::sim
