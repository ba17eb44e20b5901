// /ari/api-docs: the Swagger resource listing and API declarations that ARI
// client libraries build themselves from. Served like Asterisk serves them
// (authenticated, GET only, basePath from the Host header), generated from the
// simulator's route table, and compatible with Asterisk 22's own documents in
// ../shared/ari-api-docs (same paths, nicknames and parameter names).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>

#include "sim/rest_api.hpp"
#include "sim_harness.hpp"
#include "swagger_check.hpp"

using namespace aa;
using aa::simtest::Harness;
using aa::simtest::Swagger;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kResources = {"asterisk",  "endpoints",  "channels",
                                             "bridges",   "recordings", "sounds",
                                             "playbacks", "events",     "applications"};

std::optional<fs::path> asterisk_docs() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("AA_SHARED_DIR")) candidates.emplace_back(env);
  candidates.emplace_back("../shared");
  candidates.emplace_back("../../shared");
  for (const auto& c : candidates)
    if (fs::exists(c / "ari-api-docs" / "resources.json")) return c / "ari-api-docs";
  return std::nullopt;
}

json::Document load(const fs::path& p) {
  std::ifstream f(p);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto d = json::parse(text);
  json::Document empty;
  empty.SetObject();
  return d ? std::move(*d) : std::move(empty);
}

/// Every declaration the listing names, fetched through the listing's paths.
awaitable<std::map<std::string, std::string>> fetch_all(Harness& h) {
  std::map<std::string, std::string> docs;
  auto r = co_await h.ari("GET", "/api-docs/resources.json");
  EXPECT_EQ(r.status, 200) << r.body;
  auto listing = simtest::parse_body(r);
  if (const json::Value* apis = json::find(listing, "apis"); apis && apis->IsArray())
    for (const auto& api : apis->GetArray()) {
      std::string path(json::get_string(api, "path"));  // /api-docs/<name>.{format}
      const std::string name = path.substr(10, path.find('.') - 10);
      path.replace(path.find("{format}"), 8, "json");
      auto d = co_await h.ari("GET", path);
      EXPECT_EQ(d.status, 200) << path << " " << d.body;
      docs[name] = d.body;
    }
  co_return docs;
}

}  // namespace

TEST(ApiDocs, ResourceListingNamesEveryResourceWithOurBasePath) {
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto r = co_await h.ari("GET", "/api-docs/resources.json");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type.substr(0, 16), "application/json");
    auto doc = simtest::parse_body(r);
    EXPECT_EQ(json::get_string(doc, "swaggerVersion"), "1.2");
    EXPECT_FALSE(json::get_string(doc, "apiVersion").empty());
    // The client connected to 127.0.0.1:<port>: basePath names that address.
    EXPECT_EQ(json::get_string(doc, "basePath"), h.base + "/ari");
    std::vector<std::string> paths;
    for (const auto& api : json::find(doc, "apis")->GetArray())
      paths.emplace_back(json::get_string(api, "path"));
    std::vector<std::string> want;
    for (const auto& name : kResources) want.push_back("/api-docs/" + name + ".{format}");
    EXPECT_EQ(paths, want);
  });
}

TEST(ApiDocs, EveryDeclarationDescribesItsOperationsAndModels) {
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto docs = co_await fetch_all(h);
    EXPECT_EQ(docs.size(), kResources.size());
    Swagger models;
    for (const auto& [name, text] : docs) {
      auto doc = json::parse(text);
      EXPECT_TRUE(doc) << name;
      if (!doc) continue;
      EXPECT_EQ(json::get_string(*doc, "resourcePath"), "/api-docs/" + name + ".{format}");
      EXPECT_EQ(json::get_string(*doc, "basePath"), h.base + "/ari");
      const json::Value* apis = json::find(*doc, "apis");
      EXPECT_TRUE(apis && apis->IsArray() && !apis->Empty()) << name;
      if (!apis || !apis->IsArray()) continue;
      for (const auto& api : apis->GetArray()) {
        const std::string path(json::get_string(api, "path"));
        for (const auto& op : json::find(api, "operations")->GetArray()) {
          const std::string what =
              name + " " + std::string(json::get_string(op, "httpMethod")) + " " + path;
          EXPECT_FALSE(json::get_string(op, "nickname").empty()) << what;
          EXPECT_FALSE(json::get_string(op, "responseClass").empty()) << what;
          // Every {placeholder} of the path is a required path parameter.
          std::set<std::string> placeholders, path_params;
          for (size_t i = path.find('{'); i != std::string::npos; i = path.find('{', i + 1))
            placeholders.insert(path.substr(i + 1, path.find('}', i) - i - 1));
          for (const auto& p : json::find(op, "parameters")->GetArray()) {
            const std::string in(json::get_string(p, "paramType"));
            EXPECT_TRUE(in == "path" || in == "query" || in == "body") << what;
            EXPECT_FALSE(json::get_string(p, "dataType").empty()) << what;
            if (in == "path") {
              path_params.insert(std::string(json::get_string(p, "name")));
              EXPECT_TRUE(json::get_bool(p, "required")) << what;
            }
          }
          EXPECT_EQ(placeholders, path_params) << what;
        }
      }
      models.add(text);
    }
    // Every model member's type is a primitive or a model we describe.
    const std::set<std::string> primitive = {"string",  "int",  "long",  "double",
                                             "boolean", "Date", "object"};
    for (const auto& [model, value] : models.models()) {
      for (const auto& p : json::find(*value, "properties")->GetObject()) {
        std::string type(json::get_string(p.value, "type"));
        if (type.rfind("List[", 0) == 0) type = type.substr(5, type.size() - 6);
        EXPECT_TRUE(primitive.count(type) || models.has(type))
            << model << "." << p.name.GetString() << ": " << type;
      }
    }
  });
}

TEST(ApiDocs, RequireAuthenticationAndGetLikeAsterisk) {
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto r = co_await h.ari("GET", "/api-docs/resources.json", "", false);
    EXPECT_EQ(r.status, 401);
    r = co_await h.ari("GET", "/api-docs/channels.json", "", false);
    EXPECT_EQ(r.status, 401);
    r = co_await h.ari("POST", "/api-docs/channels.json");
    EXPECT_EQ(r.status, 405);
    r = co_await h.ari("GET", "/api-docs/mailboxes.json");  // not simulated
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"message":"Resource not found"})");
    r = co_await h.ari("GET", "/api-docs/../resources.json");
    EXPECT_EQ(r.status, 404);
  });
}

TEST(ApiDocs, BasePathIsTheHostTheClientUsed) {
  // As res_ari: "http://<Host header>/ari"; without a usable Host, our own address.
  asio::io_context io;
  sim::EngineOptions eo;
  sim::Engine engine(io.get_executor(), eo);
  sim::RestApi rest(engine, {});
  rest.set_self_host("127.0.0.1:8088");
  net::Request req;
  req.method = "GET";
  req.path = "/ari/api-docs/resources.json";
  req.headers.push_back(
      {"Authorization", "Basic " + base64_encode("asterisk_ari:asterisk_ari_pass")});
  req.headers.push_back({"Host", "pbx.example:8088"});
  auto doc = json::parse(rest.handle(req).body);
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::get_string(*doc, "basePath"), "http://pbx.example:8088/ari");
  req.headers.back().value = "evil\"host/<x>";
  doc = json::parse(rest.handle(req).body);
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::get_string(*doc, "basePath"), "http://127.0.0.1:8088/ari");
  req.headers.pop_back();
  doc = json::parse(rest.handle(req).body);
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::get_string(*doc, "basePath"), "http://127.0.0.1:8088/ari");
}

// A client written against Asterisk must find the same operations under the
// same names: path, method, nickname, and each parameter's name, place, type
// and multiplicity as in Asterisk 22's documents.
TEST(ApiDocs, OperationsMatchAsterisksNamesAndParameters) {
  const auto dir = asterisk_docs();
  if (!dir) GTEST_SKIP() << "../shared/ari-api-docs not found; set AA_SHARED_DIR";
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto docs = co_await fetch_all(h);
    int operations = 0;
    for (const auto& [name, text] : docs) {
      auto ours = json::parse(text);
      if (!ours) continue;
      const json::Document theirs = load(*dir / (name + ".json"));
      for (const auto& api : json::find(*ours, "apis")->GetArray()) {
        const std::string path(json::get_string(api, "path"));
        for (const auto& op : json::find(api, "operations")->GetArray()) {
          const std::string method(json::get_string(op, "httpMethod"));
          const std::string what = method + " " + path;
          const json::Value* match = nullptr;
          for (const auto& tapi : json::find(theirs, "apis")->GetArray())
            if (json::get_string(tapi, "path") == path)
              for (const auto& top : json::find(tapi, "operations")->GetArray())
                if (json::get_string(top, "httpMethod") == method) match = &top;
          EXPECT_TRUE(match) << what << " is not an Asterisk operation";
          if (!match) continue;
          ++operations;
          EXPECT_EQ(json::get_string(op, "nickname"), json::get_string(*match, "nickname")) << what;
          EXPECT_EQ(json::get_string(op, "responseClass"),
                    json::get_string(*match, "responseClass"))
              << what;
          for (const auto& p : json::find(op, "parameters")->GetArray()) {
            const std::string pname(json::get_string(p, "name"));
            const json::Value* tp = nullptr;
            if (const json::Value* tparams = json::find(*match, "parameters"))
              for (const auto& x : tparams->GetArray())
                if (json::get_string(x, "name") == pname) tp = &x;
            EXPECT_TRUE(tp) << what << ": Asterisk has no parameter " << pname;
            if (!tp) continue;
            EXPECT_EQ(json::get_string(p, "paramType"), json::get_string(*tp, "paramType"))
                << what << " " << pname;
            EXPECT_EQ(json::get_string(p, "dataType"), json::get_string(*tp, "dataType"))
                << what << " " << pname;
            EXPECT_EQ(json::get_bool(p, "allowMultiple"), json::get_bool(*tp, "allowMultiple"))
                << what << " " << pname;
          }
        }
      }
    }
    EXPECT_GT(operations, 60);
  });
}

// Every event the simulator sends in a busy scenario has a model in our own
// events declaration, and matches it (ari-client throws on an unknown type).
TEST(ApiDocs, EventsMatchOurOwnModels) {
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto docs = co_await fetch_all(h);
    Swagger ours;
    for (const auto& [name, text] : docs) ours.add(text);
    auto ev = co_await h.events();
    co_await h.ari("POST",
                   "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=m1");
    co_await h.ari("POST", "/channels?endpoint=PJSIP/1001&app=openclaw-voice&channelId=m2");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "m1"));
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "m2"));
    co_await h.ari("POST", "/channels/m1/play?media=sound:beep,sound:beep&playbackId=p1");
    co_await h.ari("POST", "/channels/m1/record?name=r1&format=wav&maxDurationSeconds=1");
    co_await h.control("POST", "/channels/m1/dtmf", R"({"digits":"1"})");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "RecordingFinished", "r1"));
    co_await h.ari("POST", "/channels/m1/record?name=r2&format=nope");
    co_await h.ari("POST", "/bridges?bridgeId=b1&type=mixing");
    co_await h.ari("POST", "/applications/openclaw-voice/subscription?eventSource=bridge:b1");
    co_await h.ari("POST", "/bridges/b1/addChannel?channel=m1,m2");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelEnteredBridge", "m2"));
    co_await h.ari("POST", "/bridges/b1/record?name=r3&format=wav");
    co_await h.ari("POST", "/bridges/b1/removeChannel?channel=m2");
    co_await h.ari("DELETE", "/bridges/b1");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "BridgeDestroyed"));
    co_await h.control("POST", "/channels/m2/hangup", R"({"cause":16})");
    co_await h.ari("DELETE", "/channels/m1");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "m1"));
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "m2"));
    auto second = co_await h.events();  // replaces the first: ApplicationReplaced
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ApplicationReplaced"));
    std::set<std::string> types;
    for (const auto& e : ev->events) {
      auto doc = json::parse(e.raw);
      EXPECT_TRUE(doc) << e.raw;
      if (!doc) continue;
      types.insert(e.type);
      std::vector<std::string> errors;
      ours.check_event(*doc, errors);
      std::string all;
      for (const auto& x : errors) all += "  " + x + "\n";
      EXPECT_TRUE(errors.empty()) << e.raw << "\n" << all;
    }
    EXPECT_GE(types.size(), 14u);
  });
}
