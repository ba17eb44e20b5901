// The OpenAPI document (src/http/openapi.json, served at GET /openapi.json) is
// kept honest here: it is a valid 3.1 document whose $refs resolve; its
// (method, path) set is exactly the router's; its security matches what the
// service enforces; and real responses, /events messages and webhook bodies of
// the service running against the simulator match its schemas.
#include "http/openapi.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <iostream>
#include <set>
#include <string>
#include <vector>

#include "common/error.hpp"
#include "http/errors.hpp"
#include "http/harness.hpp"
#include "support/json_schema.hpp"
#include "support/run_io.hpp"

using namespace aa;
using aa::test::body_of;
using aa::test::JsonSchema;
using aa::test::Service;
using aa::test::wav_bytes;
using Value = json::Value;

namespace {

const json::Document& document() {
  static const json::Document doc = [] {
    std::string why;
    auto d = json::parse(http::openapi_json(), &why);
    if (!d) {
      ADD_FAILURE() << "src/http/openapi.json does not parse: " << why;
      json::Document empty;
      empty.SetObject();
      return empty;
    }
    return std::move(*d);
  }();
  return doc;
}

const Value* at(const Value& v, std::initializer_list<std::string_view> keys) {
  const Value* cur = &v;
  for (auto k : keys) {
    cur = json::find(*cur, k);
    if (!cur) return nullptr;
  }
  return cur;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

bool is_method(std::string_view k) {
  return k == "get" || k == "put" || k == "post" || k == "delete" || k == "patch" ||
         k == "options" || k == "head" || k == "trace";
}

/// "GET /calls/{id}" for every operation of the document.
std::set<std::string> documented_operations(const Value& doc) {
  std::set<std::string> out;
  const Value* paths = json::find(doc, "paths");
  if (!paths || !paths->IsObject()) return out;
  for (const auto& p : paths->GetObject())
    for (const auto& m : p.value.GetObject())
      if (is_method(json::as_view(m.name)))
        out.insert(upper(json::as_view(m.name)) + " " + std::string(json::as_view(p.name)));
  return out;
}

/// "GET /calls/{id}" for every route (":id" → "{id}"; the WebSocket route is GET /events).
std::set<std::string> routed_operations(const http::Router& router) {
  std::set<std::string> out;
  for (const auto& r : router.routes()) {
    std::string path;
    for (const auto& seg : r.segments)
      path += "/" + (!seg.empty() && seg[0] == ':' ? "{" + seg.substr(1) + "}" : seg);
    if (path.empty()) path = "/";
    out.insert((r.method == "WS" ? std::string("GET") : r.method) + " " + path);
  }
  return out;
}

/// What differs between the document's operations and the routes, by name.
std::vector<std::string> route_differences(const std::set<std::string>& documented,
                                           const std::set<std::string>& routed) {
  std::vector<std::string> out;
  for (const auto& r : routed)
    if (!documented.count(r)) out.push_back("routed but not in the document: " + r);
  for (const auto& d : documented)
    if (!routed.count(d)) out.push_back("in the document but not routed: " + d);
  return out;
}

std::string joined(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += "\n  " + s;
  return out;
}

/// Every "$ref" string in `v`, with where it is.
void collect_refs(const Value& v, const std::string& where,
                  std::vector<std::pair<std::string, std::string>>& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      const std::string k(json::as_view(m.name));
      if (k == "$ref" && m.value.IsString())
        out.emplace_back(where, std::string(json::as_view(m.value)));
      else
        collect_refs(m.value, where + "/" + k, out);
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      collect_refs(v[i], where + "/" + std::to_string(i), out);
  }
}

/// Every schema position: components/schemas/*, and every "schema" member anywhere.
void collect_schemas(const Value& v, const std::string& where,
                     std::vector<std::pair<std::string, const Value*>>& out) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      const std::string k(json::as_view(m.name));
      if (k == "schema") {
        out.emplace_back(where + "/schema", &m.value);
      } else if (k == "schemas" && where == "/components" && m.value.IsObject()) {
        for (const auto& s : m.value.GetObject())
          out.emplace_back(where + "/schemas/" + std::string(json::as_view(s.name)), &s.value);
      } else {
        collect_schemas(m.value, where + "/" + k, out);
      }
    }
  } else if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i)
      collect_schemas(v[i], where + "/" + std::to_string(i), out);
  }
}

const Value* deref(const Value& doc, const Value* v) {
  const JsonSchema js(doc);
  for (int i = 0; v && i < 8; ++i) {
    const Value* r = json::find(*v, "$ref");
    if (!r) return v;
    v = js.resolve(json::as_view(*r));
  }
  return v;
}

std::string media_type(std::string_view ct) {
  std::string out(ct.substr(0, ct.find(';')));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_json(std::string_view mt) {
  return mt == "application/json" || (mt.size() > 5 && mt.substr(mt.size() - 5) == "+json" &&
                                      mt.substr(0, 12) == "application/");
}

/// Problems of a response (status, content type, JSON body) against the document's
/// operation `method path`; empty when it matches.
std::vector<std::string> check_response(const Value& doc, std::string_view method,
                                        std::string_view path, int status,
                                        std::string_view content_type, std::string_view body) {
  std::string lower(method);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const Value* paths = json::find(doc, "paths");
  const Value* item = paths ? json::find(*paths, path) : nullptr;
  const Value* op = item ? json::find(*item, lower) : nullptr;
  if (!op) return {"no operation " + upper(method) + " " + std::string(path) + " in the document"};
  const Value* responses = json::find(*op, "responses");
  const std::string code = std::to_string(status);
  const Value* res = responses ? json::find(*responses, code) : nullptr;
  if (!res && responses) res = json::find(*responses, code.substr(0, 1) + "XX");
  if (!res && responses) res = json::find(*responses, "default");
  res = deref(doc, res);
  if (!res)
    return {"status " + code + " is not documented for " + upper(method) + " " + std::string(path)};
  const Value* content = json::find(*res, "content");
  if (!content || content->ObjectEmpty()) {
    if (!body.empty()) return {"a body was sent but the document describes none"};
    return {};
  }
  // The documented media type: the exact Content-Type, or one with the same type/subtype.
  const Value* media = json::find(*content, content_type);
  if (!media) {
    for (const auto& m : content->GetObject())
      if (media_type(json::as_view(m.name)) == media_type(content_type)) media = &m.value;
  }
  if (!media) {
    std::string allowed;
    for (const auto& m : content->GetObject())
      allowed += " \"" + std::string(json::as_view(m.name)) + "\"";
    return {"Content-Type \"" + std::string(content_type) + "\" is not one of" + allowed};
  }
  const Value* schema = json::find(*media, "schema");
  if (!schema || !is_json(media_type(content_type))) return {};
  std::string why;
  auto parsed = json::parse(body, &why);
  if (!parsed) return {"the body is not JSON: " + why};
  return JsonSchema(doc).validate(*schema, *parsed);
}

int find_event(const test::WsLog& log, std::string_view type, std::string_view call_id) {
  for (size_t i = 0; i < log.raw.size(); ++i) {
    auto d = json::parse(log.raw[i]);
    if (d && json::get_string(*d, "type") == type &&
        (call_id.empty() || json::get_string(*d, "callId") == call_id))
      return static_cast<int>(i);
  }
  return -1;
}

/// Checks real responses against the document and remembers what was covered.
struct Checker {
  const Value& doc;
  std::set<std::string> covered;  // "GET /calls/{id} 200"

  void operator()(std::string_view method, std::string_view path, int expected,
                  const net::ClientResponse& r) {
    EXPECT_EQ(r.status, expected) << method << " " << path << ": " << r.body;
    const auto problems = check_response(doc, method, path, r.status, r.content_type, r.body);
    EXPECT_TRUE(problems.empty()) << method << " " << path << " " << r.status << " ("
                                  << r.content_type
                                  << ") does not match the document:" << joined(problems)
                                  << "\n  body: " << r.body.substr(0, 600);
    covered.insert(upper(method) + " " + std::string(path) + " " + std::to_string(r.status));
  }
};

/// The document with `edit` applied (for the negative cases).
json::Document edited(const std::function<void(json::Document&)>& edit) {
  json::Document d;
  d.CopyFrom(document(), d.GetAllocator());
  edit(d);
  return d;
}

}  // namespace

TEST(OpenApi, DocumentParsesAndEveryRefResolves) {
  const auto& doc = document();
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(json::get_string(doc, "openapi"), "3.1.0");
  const Value* info = json::find(doc, "info");
  ASSERT_TRUE(info);
  EXPECT_EQ(json::get_string(*info, "title"), "asterisk-api");
  EXPECT_EQ(json::get_string(*info, "version"), AA_VERSION) << "bump info.version with the project";
  ASSERT_TRUE(at(doc, {"components", "schemas", "Error"}));
  ASSERT_TRUE(at(doc, {"components", "securitySchemes"}));

  std::vector<std::pair<std::string, std::string>> refs;
  collect_refs(doc, "", refs);
  EXPECT_GT(refs.size(), 50u);
  const JsonSchema js(doc);
  for (const auto& [where, ref] : refs) EXPECT_TRUE(js.resolve(ref)) << where << ": " << ref;

  // The validator understands every keyword the schemas use (nothing is silently skipped).
  std::vector<std::pair<std::string, const Value*>> schemas;
  collect_schemas(doc, "", schemas);
  EXPECT_GT(schemas.size(), 50u);
  for (const auto& [where, s] : schemas) {
    const auto unknown = js.unsupported_keywords(*s, where);
    EXPECT_TRUE(unknown.empty()) << joined(unknown);
  }

  // operationIds are unique; every secured operation documents 401; every operation
  // with a JSON request body documents 400, 413 and 415.
  std::set<std::string> ids;
  const Value& paths = *json::find(doc, "paths");
  for (const auto& p : paths.GetObject()) {
    for (const auto& m : p.value.GetObject()) {
      if (!is_method(json::as_view(m.name))) continue;
      const std::string name =
          upper(json::as_view(m.name)) + " " + std::string(json::as_view(p.name));
      const std::string id(json::get_string(m.value, "operationId"));
      EXPECT_FALSE(id.empty()) << name;
      EXPECT_TRUE(ids.insert(id).second) << "duplicate operationId " << id;
      const Value* responses = json::find(m.value, "responses");
      ASSERT_TRUE(responses) << name;
      const Value* security = json::find(m.value, "security");
      const bool open = security && security->IsArray() && security->Empty();
      EXPECT_EQ(json::find(*responses, "401") != nullptr, !open) << name;
      if (const Value* body = at(m.value, {"requestBody", "content", "application/json"})) {
        (void)body;
        for (const char* st : {"400", "413", "415"})
          EXPECT_TRUE(json::find(*responses, st)) << name << " lacks " << st;
      }
    }
  }
  EXPECT_EQ(ids.size(), 41u);
}

TEST(OpenApi, EveryRouteIsDocumentedAndNothingElse) {
  Service s;
  const auto documented = documented_operations(document());
  const auto routed = routed_operations(s.api->router());
  const auto diff = route_differences(documented, routed);
  EXPECT_TRUE(diff.empty()) << "src/http/openapi.json and Api::build_routes() disagree:"
                            << joined(diff);
  EXPECT_TRUE(routed.count("GET /events"));
  EXPECT_TRUE(routed.count("GET /media/{token}/{file}"));

  // The comparison names what differs, both ways.
  auto wrong = edited([](json::Document& d) {
    auto& a = d.GetAllocator();
    Value item(rapidjson::kObjectType);
    item.AddMember("get", Value(rapidjson::kObjectType), a);
    d["paths"].AddMember("/no-such-route", item, a);
    d["paths"].RemoveMember("/health");
  });
  const auto wrong_diff = route_differences(documented_operations(wrong), routed);
  EXPECT_EQ(wrong_diff, (std::vector<std::string>{"routed but not in the document: GET /health",
                                                  "in the document but not routed: GET "
                                                  "/no-such-route"}));
}

TEST(OpenApi, SecurityMatchesAuthentication) {
  test::HarnessOptions o;
  o.api_key = "k3y";
  Service s(o);
  const auto& doc = document();
  ASSERT_TRUE(at(doc, {"components", "securitySchemes", "apiKeyHeader"}));
  EXPECT_EQ(json::get_string(*at(doc, {"components", "securitySchemes", "apiKeyHeader"}), "name"),
            "X-API-Key");
  EXPECT_EQ(json::get_string(*at(doc, {"components", "securitySchemes", "apiKeyQuery"}), "name"),
            "api_key");
  EXPECT_EQ(json::get_string(*at(doc, {"components", "securitySchemes", "bearer"}), "scheme"),
            "bearer");
  const Value* global = json::find(doc, "security");
  ASSERT_TRUE(global && global->IsArray());
  EXPECT_EQ(global->Size(), 3u);

  struct Probe {
    std::string method, path, target;
    bool open;
  };
  std::vector<Probe> probes;
  for (const auto& p : json::find(doc, "paths")->GetObject()) {
    for (const auto& m : p.value.GetObject()) {
      if (!is_method(json::as_view(m.name))) continue;
      const Value* sec = json::find(m.value, "security");
      Probe pr{upper(json::as_view(m.name)),
               std::string(json::as_view(p.name)),
               {},
               sec && sec->IsArray() && sec->Empty()};
      // A concrete target: {token} is 32 hex digits, other parameters "x".
      for (size_t i = 0; i < pr.path.size(); ++i) {
        if (pr.path[i] != '{') {
          pr.target += pr.path[i];
          continue;
        }
        const size_t end = pr.path.find('}', i);
        pr.target += pr.path.substr(i, end - i + 1) == "{token}"
                         ? "0123456789abcdef0123456789abcdef"
                     : pr.path.substr(i, end - i + 1) == "{file}" ? "x.wav"
                                                                  : "x";
        i = end;
      }
      probes.push_back(std::move(pr));
    }
  }
  EXPECT_EQ(probes.size(), 41u);
  Checker check{doc, {}};
  s.run([&]() -> awaitable<void> {
    for (const auto& pr : probes) {
      std::string method = pr.method;
      std::string target = pr.target;
      auto r = co_await s.call(std::move(method), std::move(target), {}, {}, {});
      if (pr.open) {
        EXPECT_NE(r.status, 401) << pr.method << " " << pr.path << " is documented as open";
      } else {
        check(pr.method, pr.path, 401, r);
        EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer") << pr.method << " " << pr.path;
      }
    }
  });
}

TEST(OpenApi, ErrorCodesAndStatusesAgreeWithTheErrorsTable) {
  const auto& doc = document();
  const JsonSchema js(doc);
  const Value* codes = at(doc, {"components", "schemas", "ErrorCode", "enum"});
  ASSERT_TRUE(codes && codes->IsArray());
  std::set<std::string> documented;
  for (const auto& c : codes->GetArray()) documented.emplace(json::as_view(c));
  // Each domain code is documented, and its status's response (when the document has one)
  // allows it: e.g. 404 → NotFound's code enum holds CALL_NOT_FOUND.
  for (int i = 0; i <= static_cast<int>(ErrorCode::internal); ++i) {
    const auto code = static_cast<ErrorCode>(i);
    const std::string name(error_code_name(code));
    EXPECT_TRUE(documented.count(name)) << name;
    Error e(code, "Something failed");
    if (code == ErrorCode::validation_failed) e.details.push_back("field: problem");
    const net::Response res = http::to_response(e);
    EXPECT_EQ(res.status, http::http_status(code));
    // Validate the body against the shared Error schema, and against the status's
    // response wherever an operation of the document declares that status.
    auto parsed = json::parse(res.body);
    ASSERT_TRUE(parsed);
    const auto problems = js.validate(*at(doc, {"components", "schemas", "Error"}), *parsed);
    EXPECT_TRUE(problems.empty()) << name << joined(problems);
    // Some codes belong to some operations only (TTS_FAILED is a 502 of speak,
    // ARI_ERROR a 502 of every call operation): at least one operation that
    // declares the status must accept the body.
    size_t declared = 0, accepted = 0;
    std::string refusals;
    for (const auto& p : json::find(doc, "paths")->GetObject())
      for (const auto& m : p.value.GetObject()) {
        if (!is_method(json::as_view(m.name))) continue;
        if (!at(m.value, {"responses", std::to_string(res.status)})) continue;
        ++declared;
        const auto pr = check_response(doc, json::as_view(m.name), json::as_view(p.name),
                                       res.status, res.content_type, res.body);
        if (pr.empty()) {
          ++accepted;
        } else if (refusals.size() < 2000) {
          refusals += std::string(json::as_view(m.name)) + " " +
                      std::string(json::as_view(p.name)) + joined(pr) + "\n";
        }
      }
    if (code != ErrorCode::method_not_allowed) {
      EXPECT_GT(declared, 0u) << name;
      EXPECT_GT(accepted, 0u) << name << " as " << res.status << " is accepted by no operation:\n"
                              << refusals;
    }
  }
  // The HTTP layer's own errors.
  for (int status : {400, 404, 405, 408, 413, 415, 426, 431, 500, 503}) {
    const net::Response res = http::protocol_error(status, "Something failed");
    auto parsed = json::parse(res.body);
    ASSERT_TRUE(parsed);
    EXPECT_TRUE(documented.count(std::string(json::get_string(*parsed, "code"))))
        << status << " " << res.body;
    const auto problems = js.validate(*at(doc, {"components", "schemas", "Error"}), *parsed);
    EXPECT_TRUE(problems.empty()) << status << joined(problems);
  }
}

TEST(OpenApi, ValidatorRejectsWhatTheDocumentDoesNotAllow) {
  const auto& doc = document();
  const JsonSchema js(doc);
  const Value& call_schema = *at(doc, {"components", "schemas", "CallRecord"});
  auto good = json::parse(R"({"id":"a","callId":"a","channelId":"1.2","state":"answered",
      "direction":"outbound","callerNumber":"","calleeNumber":"PJSIP/1001",
      "createdAt":"2026-01-01T00:00:00.000Z","recordings":[]})");
  ASSERT_TRUE(good);
  EXPECT_TRUE(js.validate(call_schema, *good).empty()) << joined(js.validate(call_schema, *good));

  // Each mistake is caught and named.
  const std::vector<std::pair<std::string, std::string>> bad = {
      {R"({"id":1})", "/id: expected type"},
      {R"({"state":"talking"})", "/state: \"talking\" is not one of"},
      {R"({"createdAt":"yesterday"})", "/createdAt: \"yesterday\" does not match"},
      {R"({"extra":true})", "/extra: no value is allowed here"},
      {R"({"recordings":[1]})", "/recordings/0: expected type"},
      {R"({"id":""})", "/id: \"\" is shorter than 1"},
  };
  for (const auto& [patch, expected] : bad) {
    json::Document d;
    d.CopyFrom(*good, d.GetAllocator());
    auto p = json::parse(patch);
    ASSERT_TRUE(p);
    for (auto& m : p->GetObject()) {
      Value k(m.name, d.GetAllocator());
      Value v(m.value, d.GetAllocator());
      d.RemoveMember(m.name);
      d.AddMember(k, v, d.GetAllocator());
    }
    const auto problems = js.validate(call_schema, d);
    const std::string all = joined(problems);
    EXPECT_NE(all.find(expected), std::string::npos) << patch << " →" << all;
  }

  {
    json::Document d;
    d.CopyFrom(*good, d.GetAllocator());
    d.RemoveMember("id");
    EXPECT_EQ(js.validate(call_schema, d),
              (std::vector<std::string>{"/: missing required property \"id\""}));
  }

  // oneOf: none, and more than one.
  auto two = json::parse(R"({"oneOf":[{"type":"integer"},{"type":"number"}]})");
  auto three = json::parse("3");
  EXPECT_FALSE(js.validate(*two, *three).empty());
  auto text = json::parse(R"("x")");
  EXPECT_FALSE(js.validate(*two, *text).empty());
  auto nullable = json::parse(R"({"type":["string","null"],"maxLength":2})");
  auto null_v = json::parse("null");
  auto long_v = json::parse(R"("abc")");
  EXPECT_TRUE(js.validate(*nullable, *null_v).empty());
  EXPECT_FALSE(js.validate(*nullable, *long_v).empty());
  auto dangling = json::parse(R"({"$ref":"#/components/schemas/NoSuchSchema"})");
  EXPECT_FALSE(js.validate(*dangling, *good).empty());
  auto unknown = json::parse(R"({"type":"object","patternProperties":{}})");
  EXPECT_EQ(js.unsupported_keywords(*unknown, "x"),
            (std::vector<std::string>{"x: patternProperties"}));

  // A wrong document fails a real response: /health that only allows "degraded",
  // and a 201 for originate that the document does not declare.
  auto wrong = edited([](json::Document& d) {
    auto& a = d.GetAllocator();
    Value& e = d["components"]["schemas"]["Health"]["properties"]["status"]["enum"];
    e.SetArray();
    e.PushBack(Value("degraded", a), a);
    d["paths"]["/calls"]["post"]["responses"].RemoveMember("201");
  });
  const std::string health = R"({"status":"ok","ari":true,"activeCalls":0,"uptimeSeconds":1})";
  EXPECT_TRUE(check_response(doc, "GET", "/health", 200, "application/json", health).empty());
  EXPECT_FALSE(check_response(wrong, "GET", "/health", 200, "application/json", health).empty());
  EXPECT_FALSE(check_response(wrong, "POST", "/calls", 201, "application/json", "{}").empty());
  EXPECT_FALSE(check_response(doc, "GET", "/health", 200, "text/html", health).empty());
  EXPECT_FALSE(check_response(doc, "GET", "/health", 418, "application/json", health).empty());
  EXPECT_FALSE(check_response(doc, "PUT", "/health", 200, "application/json", health).empty());
}

TEST(OpenApi, RealResponsesEventsAndWebhooksMatchTheDocument) {
  test::HarnessOptions o;
  o.api_key = "k3y";
  o.webhook_secret = "whsec";
  Service s(o);
  const auto& doc = document();
  Checker check{doc, {}};
  std::vector<std::string> ws_messages;
  s.run(
      [&]() -> awaitable<void> {
        const bool up = co_await s.ready();
        CO_ASSERT_TRUE(up);
        auto ws = co_await s.connect_events();
        CO_ASSERT_TRUE(ws->ws);
        const bool snap = co_await test::until([&] { return !ws->raw.empty(); });
        EXPECT_TRUE(snap);

        // ---- service ----
        auto index = co_await s.call("GET", "/", {}, {}, {});
        check("GET", "/", 200, index);
        auto health = co_await s.get("/health");
        check("GET", "/health", 200, health);
        auto endpoints = co_await s.get("/endpoints");
        check("GET", "/endpoints", 200, endpoints);
        auto spec = co_await s.get("/openapi.json");
        check("GET", "/openapi.json", 200, spec);
        EXPECT_EQ(spec.body, http::openapi_json());
        auto metrics = co_await s.get("/metrics");
        check("GET", "/metrics", metrics.status == 200 ? 200 : 404, metrics);
        auto unauth = co_await s.call("GET", "/calls", {}, {}, {});
        check("GET", "/calls", 401, unauth);

        // ---- a call ----
        auto created = co_await s.post(
            "/calls", R"({"endpoint":"PJSIP/1001","callerId":"\"Alice\" <5550000>","timeout":10})");
        check("POST", "/calls", 201, created);
        const std::string id(json::get_string(body_of(created), "callId"));
        CO_ASSERT_FALSE(id.empty());
        const bool ready =
            co_await test::until([&] { return find_event(*ws, "call.ready", id) >= 0; });
        EXPECT_TRUE(ready);
        auto list = co_await s.get("/calls");
        check("GET", "/calls", 200, list);
        std::string call_path = "/calls/" + id;
        auto one = co_await s.get(call_path);
        check("GET", "/calls/{id}", 200, one);

        // The far end presses keys (call.dtmf events and webhooks).
        std::string channel(json::get_string(*json::find(body_of(one), "call"), "channelId"));
        std::string keys_path = "/channels/" + channel + "/dtmf";
        auto keys = co_await s.sim("POST", keys_path, R"({"digits":"1#","betweenMs":10})");
        EXPECT_EQ(keys.status, 204) << keys.body;
        const bool pressed =
            co_await test::until([&] { return find_event(*ws, "call.dtmf", id) >= 0; });
        EXPECT_TRUE(pressed);

        std::string dtmf_path = "/calls/" + id + "/dtmf";
        auto dtmf = co_await s.post(dtmf_path, R"({"dtmf":"12ab#"})");
        check("POST", "/calls/{id}/dtmf", 200, dtmf);
        std::string play_path = "/calls/" + id + "/play";
        auto played = co_await s.post(play_path, R"({"media":["sound:hello-world","sound:beep"]})");
        check("POST", "/calls/{id}/play", 200, played);
        auto queued = co_await s.post(play_path, R"({"media":"sound:hello-world","wait":false})");
        check("POST", "/calls/{id}/play", 202, queued);
        std::string file_path = "/calls/" + id + "/play/file";
        std::vector<net::Header> file_headers = s.auth_headers();
        file_headers.push_back({"Content-Disposition", "attachment; filename=\"oa.wav\""});
        std::string wav = wav_bytes(800);
        auto uploaded = co_await s.call("POST", file_path, wav, "audio/wav", file_headers);
        check("POST", "/calls/{id}/play/file", 200, uploaded);

        // ---- recordings ----
        std::string record_path = "/calls/" + id + "/record";
        auto rec = co_await s.post(record_path, R"({"name":"oa-rec","maxDurationSeconds":60})");
        check("POST", "/calls/{id}/record", 201, rec);
        auto dup = co_await s.post(record_path, R"({"name":"oa-rec"})");
        check("POST", "/calls/{id}/record", 409, dup);
        co_await sleep_for(std::chrono::milliseconds(50));
        auto stop = co_await s.del("/recordings/oa-rec");
        check("DELETE", "/recordings/{name}", 200, stop);
        const bool finished = co_await test::until(
            [&] { return find_event(*ws, "call.recording_finished", id) >= 0; });
        EXPECT_TRUE(finished);
        auto recs = co_await s.get("/recordings");
        check("GET", "/recordings", 200, recs);
        auto rec_one = co_await s.get("/recordings/oa-rec");
        check("GET", "/recordings/{name}", 200, rec_one);
        auto rec_file = co_await s.get("/recordings/oa-rec/file");
        check("GET", "/recordings/{name}/file", 200, rec_file);
        auto copied =
            co_await s.post("/recordings/oa-rec/copy", R"({"destinationName":"oa-copy"})");
        check("POST", "/recordings/{name}/copy", 201, copied);
        auto deleted = co_await s.del("/recordings/oa-copy?stored=true");
        check("DELETE", "/recordings/{name}", 200, deleted);
        auto rec_missing = co_await s.get("/recordings/oa-copy");
        check("GET", "/recordings/{name}", 404, rec_missing);

        // ---- bridges ----
        auto bridge = co_await s.post("/bridges", R"({"name":"oa-bridge"})");
        check("POST", "/bridges", 201, bridge);
        auto bridge_body = body_of(bridge);
        const auto* b = json::find(bridge_body, "bridge");
        const std::string bid(b ? json::get_string(*b, "id") : "");
        auto bridges = co_await s.get("/bridges");
        check("GET", "/bridges", 200, bridges);
        std::string bridge_path = "/bridges/" + bid;
        std::string call_body = "{\"callId\":\"" + id + "\"}";
        std::string add_path = bridge_path + "/addChannel";
        auto added = co_await s.post(add_path, call_body);
        check("POST", "/bridges/{id}/addChannel", 200, added);
        auto bridge_one = co_await s.get(bridge_path);
        check("GET", "/bridges/{id}", 200, bridge_one);
        std::string remove_path = bridge_path + "/removeChannel";
        auto removed = co_await s.post(remove_path, call_body);
        check("POST", "/bridges/{id}/removeChannel", 200, removed);
        auto destroyed = co_await s.del(bridge_path);
        check("DELETE", "/bridges/{id}", 200, destroyed);
        auto bridge_gone = co_await s.get(bridge_path);
        check("GET", "/bridges/{id}", 404, bridge_gone);

        // ---- transfer ----
        std::string transfer_path = "/calls/" + id + "/transfer";
        auto moved = co_await s.post(transfer_path, R"({"endpoint":"PJSIP/1002","timeout":5})");
        check("POST", "/calls/{id}/transfer", 201, moved);
        const std::string new_id(json::get_string(body_of(moved), "newCallId"));

        // ---- errors ----
        auto invalid = co_await s.post("/calls", R"({"endpoint":1,"timeout":"x"})");
        check("POST", "/calls", 400, invalid);
        auto not_json = co_await s.post("/calls", "{\"endpoint\": ");
        check("POST", "/calls", 400, not_json);
        auto bad_dtmf = co_await s.post(dtmf_path, R"({"dtmf":"12E"})");
        check("POST", "/calls/{id}/dtmf", 400, bad_dtmf);
        auto no_endpoint = co_await s.post("/calls", R"({"endpoint":"PJSIP/9999"})");
        check("POST", "/calls", 404, no_endpoint);
        auto no_call = co_await s.get("/calls/no-such-call");
        check("GET", "/calls/{id}", 404, no_call);
        std::vector<net::Header> key_headers = s.auth_headers();
        auto form = co_await s.call("POST", "/calls", "endpoint=PJSIP/1001",
                                    "application/x-www-form-urlencoded", key_headers);
        check("POST", "/calls", 415, form);
        std::string huge = "{\"endpoint\":\"" + std::string(70 * 1024, 'a') + "\"}";
        auto too_large = co_await s.post("/calls", huge);
        check("POST", "/calls", 413, too_large);
        auto plain_events = co_await s.get("/events");
        check("GET", "/events", 426, plain_events);
        auto media =
            co_await s.call("GET", "/media/0123456789abcdef0123456789abcdef/x.wav", {}, {}, {});
        check("GET", "/media/{token}/{file}", 404, media);

        // ---- hang up, then a media operation on the ended call ----
        auto hung = co_await s.del(call_path);
        check("DELETE", "/calls/{id}", 200, hung);
        if (!new_id.empty()) {
          std::string new_path = "/calls/" + new_id;
          auto hung2 = co_await s.del(new_path);  // 409 if the bridge took it down already
          check("DELETE", "/calls/{id}", hung2.status == 409 ? 409 : 200, hung2);
        }
        const bool ended =
            co_await test::until([&] { return find_event(*ws, "call.ended", id) >= 0; });
        EXPECT_TRUE(ended);
        auto late = co_await s.post(dtmf_path, R"({"dtmf":"1"})");
        check("POST", "/calls/{id}/dtmf", 409, late);
        auto ended_one = co_await s.get(call_path);
        check("GET", "/calls/{id}", 200, ended_one);
        const bool hooks = co_await test::until([&] {
          return std::any_of(s.webhooks.begin(), s.webhooks.end(),
                             [](const test::Webhook& w) { return w.event == "call.ended"; });
        });
        EXPECT_TRUE(hooks);

        // ---- Asterisk unreachable: /health degraded, call routes 503 ----
        auto fault = co_await s.sim("POST", "/faults",
                                    R"({"dropEventSockets":true,"refuseConnectionsMs":400})");
        EXPECT_LT(fault.status, 300) << fault.body;
        const bool down = co_await test::until([&] { return !s.manager->ari_connected(); });
        EXPECT_TRUE(down);
        auto degraded = co_await s.get("/health");
        check("GET", "/health", 200, degraded);
        EXPECT_EQ(json::get_string(body_of(degraded), "status"), "degraded");
        auto unavailable = co_await s.post("/calls", R"({"endpoint":"PJSIP/1001"})");
        check("POST", "/calls", 503, unavailable);
        ws_messages = ws->raw;
      },
      std::chrono::seconds(60));

  // What was sampled.
  for (const char* want :
       {"GET / 200", "GET /health 200", "GET /endpoints 200", "POST /calls 201", "GET /calls 200",
        "GET /calls/{id} 200", "POST /calls/{id}/dtmf 200", "POST /calls/{id}/play 202",
        "DELETE /calls/{id} 200", "POST /bridges 201", "GET /bridges 200", "POST /calls 400",
        "GET /calls/{id} 404", "GET /calls 401", "GET /recordings 200"})
    EXPECT_TRUE(check.covered.count(want)) << "not sampled: " << want;
  std::cout << "[ openapi  ] " << check.covered.size() << " (operation, status) pairs sampled, "
            << ws_messages.size() << " /events messages, " << s.webhooks.size() << " webhooks\n";

  // Every /events message matches the 101 response's message schema.
  const Value* msg_schema = at(doc, {"paths", "/events", "get", "responses", "101", "content",
                                     "application/json", "schema"});
  ASSERT_TRUE(msg_schema);
  const JsonSchema js(doc);
  std::set<std::string> types;
  for (const auto& m : ws_messages) {
    auto d = json::parse(m);
    ASSERT_TRUE(d) << m;
    types.emplace(json::get_string(*d, "type"));
    const auto problems = js.validate(*msg_schema, *d);
    EXPECT_TRUE(problems.empty()) << m.substr(0, 600) << joined(problems);
  }
  for (const char* t :
       {"snapshot", "call.created", "call.state_changed", "call.ready", "call.dtmf",
        "call.playback_started", "call.playback_finished", "call.recording_started",
        "call.recording_finished", "call.ended", "bridge.created", "bridge.destroyed"})
    EXPECT_TRUE(types.count(t)) << "no " << t << " message was seen";

  // Every webhook body matches the document's webhook.
  const Value* hook_schema = at(doc, {"webhooks", "callEvent", "post", "requestBody", "content",
                                      "application/json", "schema"});
  ASSERT_TRUE(hook_schema);
  EXPECT_FALSE(s.webhooks.empty());
  for (const auto& w : s.webhooks) {
    auto d = json::parse(w.body);
    ASSERT_TRUE(d) << w.body;
    const auto problems = js.validate(*hook_schema, *d);
    EXPECT_TRUE(problems.empty()) << w.body.substr(0, 600) << joined(problems);
    EXPECT_EQ(json::get_string(*d, "event"), w.event);
    // t=<unix>,v1=<HMAC of "t.body">,sha256=<HMAC of the body>
    const auto t_end = w.signature.find(',');
    ASSERT_NE(t_end, std::string::npos) << w.signature;
    const std::string t = w.signature.substr(2, t_end - 2);
    EXPECT_EQ(w.signature, "t=" + t + ",v1=" + sinks::hmac_sha256_hex("whsec", t + "." + w.body) +
                               ",sha256=" + sinks::hmac_sha256_hex("whsec", w.body));
    EXPECT_EQ(w.signature, sinks::webhook_signature("whsec", std::stoll(t), w.body));
  }
}
