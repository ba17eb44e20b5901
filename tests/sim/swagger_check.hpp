#pragma once
// Checks JSON values against Swagger 1.2 models: Asterisk's ari-api-docs (the
// fidelity test) or the simulator's own /ari/api-docs (the api-docs test).
// Required members present, members of the declared JSON types.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/json.hpp"

namespace aa::simtest {

class Swagger {
 public:
  /// Every *.json document of a directory (Asterisk's rest-api files).
  static Swagger from_dir(const std::filesystem::path& dir) {
    Swagger s;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
      if (entry.path().extension() != ".json") continue;
      std::ifstream f(entry.path());
      std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
      s.add(text);
    }
    return s;
  }
  /// Add one API declaration; its models become known. False if not JSON.
  bool add(const std::string& text) {
    auto doc = json::parse(text);
    if (!doc) return false;
    docs_.push_back(std::make_unique<json::Document>(std::move(*doc)));
    if (const json::Value* models = json::find(*docs_.back(), "models");
        models && models->IsObject())
      for (const auto& m : models->GetObject()) models_[m.name.GetString()] = &m.value;
    return true;
  }
  bool has(const std::string& model) const { return models_.count(model) > 0; }
  const std::map<std::string, const json::Value*>& models() const { return models_; }

  /// Check `v` against `type`; problems are appended to `errors`.
  void check(const json::Value& v, const std::string& type, const std::string& path,
             std::vector<std::string>& errors) const {
    auto fail = [&](const std::string& why) { errors.push_back(path + ": " + why); };
    if (type == "string" || type == "Date") {
      if (!v.IsString()) fail("expected string");
    } else if (type == "int" || type == "long") {
      if (!v.IsInt64()) fail("expected integer");
    } else if (type == "double" || type == "number") {
      if (!v.IsNumber()) fail("expected number");
    } else if (type == "boolean") {
      if (!v.IsBool()) fail("expected boolean");
    } else if (type == "object") {
      if (!v.IsObject()) fail("expected object");
    } else if (type.rfind("List[", 0) == 0) {
      if (!v.IsArray()) return fail("expected array");
      const std::string inner = type.substr(5, type.size() - 6);
      size_t i = 0;
      for (const auto& item : v.GetArray())
        check(item, inner, path + "[" + std::to_string(i++) + "]", errors);
    } else if (auto it = models_.find(type); it != models_.end()) {
      if (!v.IsObject()) return fail("expected object " + type);
      check_props(v, *it->second, path, errors);
    } else {
      fail("unknown type " + type);
    }
  }

  /// An event: its own model plus the Event and Message bases.
  void check_event(const json::Value& ev, std::vector<std::string>& errors) const {
    const std::string type(json::get_string(ev, "type"));
    if (!has(type)) {
      errors.push_back("unknown event type " + type);
      return;
    }
    check(ev, type, type, errors);
    check(ev, "Event", type, errors);
    check(ev, "Message", type, errors);
  }

 private:
  void check_props(const json::Value& v, const json::Value& model, const std::string& path,
                   std::vector<std::string>& errors) const {
    const json::Value* props = json::find(model, "properties");
    if (!props || !props->IsObject()) return;
    for (const auto& p : props->GetObject()) {
      const std::string name = p.name.GetString();
      const bool required = json::get_bool(p.value, "required");
      const std::string type(json::get_string(p.value, "type"));
      const json::Value* member = json::find(v, name);
      if (!member) {
        if (required) errors.push_back(path + "." + name + ": required member missing");
        continue;
      }
      check(*member, type, path + "." + name, errors);
    }
  }

  std::vector<std::unique_ptr<json::Document>> docs_;
  std::map<std::string, const json::Value*> models_;
};

}  // namespace aa::simtest
