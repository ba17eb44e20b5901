#pragma once
// Thin helpers over RapidJSON: one writer for every JSON we produce, and
// tolerant readers for JSON we receive (missing or mistyped fields read as empty).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace aa::json {

using Value = rapidjson::Value;
using Document = rapidjson::Document;

/// Parse `text`; on error returns nullopt and fills `error` (if given) with a short reason.
std::optional<Document> parse(std::string_view text, std::string* error = nullptr);

/// Member lookup that never throws; nullptr when `v` is not an object or lacks `key`.
const Value* find(const Value& v, std::string_view key);

std::string_view get_string(const Value& v, std::string_view key, std::string_view fallback = {});
int64_t get_int(const Value& v, std::string_view key, int64_t fallback = 0);
double get_double(const Value& v, std::string_view key, double fallback = 0);
bool get_bool(const Value& v, std::string_view key, bool fallback = false);
inline std::string_view as_view(const Value& v) {
  return v.IsString() ? std::string_view(v.GetString(), v.GetStringLength()) : std::string_view{};
}

/// Serialize any value back to compact JSON text.
std::string stringify(const Value& v);

/// Streaming writer. Keys and values are written in call order.
class Writer {
 public:
  Writer() : w_(buf_) {}
  Writer& begin_object() { w_.StartObject(); return *this; }
  Writer& end_object() { w_.EndObject(); return *this; }
  Writer& begin_array() { w_.StartArray(); return *this; }
  Writer& end_array() { w_.EndArray(); return *this; }
  Writer& key(std::string_view k) {
    w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    return *this;
  }
  Writer& string(std::string_view s) {
    w_.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    return *this;
  }
  Writer& integer(int64_t n) { w_.Int64(n); return *this; }
  Writer& number(double d) { w_.Double(d); return *this; }
  Writer& boolean(bool b) { w_.Bool(b); return *this; }
  Writer& null() { w_.Null(); return *this; }
  /// Insert already-serialized JSON as the next value.
  Writer& raw(std::string_view json) {
    w_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
    return *this;
  }
  Writer& value(const Value& v) { v.Accept(w_); return *this; }

  Writer& field(std::string_view k, std::string_view v) { return key(k).string(v); }
  Writer& field(std::string_view k, const char* v) { return key(k).string(v); }
  Writer& field(std::string_view k, const std::string& v) { return key(k).string(v); }
  Writer& field_int(std::string_view k, int64_t v) { return key(k).integer(v); }
  Writer& field_bool(std::string_view k, bool v) { return key(k).boolean(v); }

  std::string_view view() const { return {buf_.GetString(), buf_.GetSize()}; }
  std::string str() const { return std::string(view()); }
  rapidjson::Writer<rapidjson::StringBuffer>& raw_writer() { return w_; }

 private:
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_;
};

/// `{"<key>":"<message>"}` — the shape of most small error bodies.
std::string object_with(std::string_view key, std::string_view message);

}  // namespace aa::json
