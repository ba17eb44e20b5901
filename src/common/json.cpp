#include "common/json.hpp"

#include <rapidjson/error/en.h>

namespace aa::json {

std::optional<Document> parse(std::string_view text, std::string* error) {
  Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    if (error) {
      *error = std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " at offset " +
               std::to_string(doc.GetErrorOffset());
    }
    return std::nullopt;
  }
  return doc;
}

const Value* find(const Value& v, std::string_view key) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(Value(rapidjson::StringRef(key.data(), key.size())));
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string_view get_string(const Value& v, std::string_view key, std::string_view fallback) {
  const Value* m = find(v, key);
  return m && m->IsString() ? as_view(*m) : fallback;
}

int64_t get_int(const Value& v, std::string_view key, int64_t fallback) {
  const Value* m = find(v, key);
  if (!m) return fallback;
  if (m->IsInt64()) return m->GetInt64();
  if (m->IsNumber()) return static_cast<int64_t>(m->GetDouble());
  return fallback;
}

double get_double(const Value& v, std::string_view key, double fallback) {
  const Value* m = find(v, key);
  return m && m->IsNumber() ? m->GetDouble() : fallback;
}

bool get_bool(const Value& v, std::string_view key, bool fallback) {
  const Value* m = find(v, key);
  return m && m->IsBool() ? m->GetBool() : fallback;
}

std::string stringify(const Value& v) {
  Writer w;
  w.value(v);
  return w.str();
}

std::string object_with(std::string_view key, std::string_view message) {
  Writer w;
  w.begin_object().field(key, message).end_object();
  return w.str();
}

}  // namespace aa::json
