#pragma once
// Thin helpers over RapidJSON: one writer for every JSON we produce, and
// tolerant readers for JSON we receive (missing or mistyped fields read as empty).
// Whatever goes in, what the Writer produces is valid UTF-8 (see common/utf8.hpp).
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/utf8.hpp"

namespace aa::json {

using Value = rapidjson::Value;
using Document = rapidjson::Document;

/// Deepest nesting of arrays/objects `parse` accepts: deeper documents are an
/// error instead of a deep recursion (in the parser and in whoever walks the value).
inline constexpr size_t kMaxDepth = 128;

/// Parse `text` tolerantly: strings may hold any bytes (ARI events are read
/// this way; the Writer repairs what it emits). On error returns nullopt and
/// fills `error` (if given) with a short reason.
std::optional<Document> parse(std::string_view text, std::string* error = nullptr);
/// Parse client input: like `parse`, and every string must be valid UTF-8
/// (RapidJSON's encoding validation, and no lone surrogate from a \u escape).
/// `bad_utf8` (if given) says whether the failure was the encoding.
std::optional<Document> parse_utf8(std::string_view text, std::string* error = nullptr,
                                   bool* bad_utf8 = nullptr);

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
  Writer& begin_object() {
    w_.StartObject();
    return *this;
  }
  Writer& end_object() {
    w_.EndObject();
    return *this;
  }
  Writer& begin_array() {
    w_.StartArray();
    return *this;
  }
  Writer& end_array() {
    w_.EndArray();
    return *this;
  }
  // Keys and strings are checked (16 bytes per step on ASCII) and copied with
  // U+FFFD replacements only when they are not valid UTF-8.
  Writer& key(std::string_view k) {
    if (utf8::is_valid(k)) {
      w_.Key(k.data(), static_cast<rapidjson::SizeType>(k.size()));
    } else {
      const std::string fixed = utf8::to_valid(k);
      w_.Key(fixed.data(), static_cast<rapidjson::SizeType>(fixed.size()));
    }
    return *this;
  }
  Writer& string(std::string_view s) {
    if (utf8::is_valid(s)) {
      w_.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    } else {
      const std::string fixed = utf8::to_valid(s);
      w_.String(fixed.data(), static_cast<rapidjson::SizeType>(fixed.size()));
    }
    return *this;
  }
  Writer& integer(int64_t n) {
    w_.Int64(n);
    return *this;
  }
  Writer& number(double d) {
    w_.Double(d);
    return *this;
  }
  Writer& boolean(bool b) {
    w_.Bool(b);
    return *this;
  }
  Writer& null() {
    w_.Null();
    return *this;
  }
  /// Insert already-serialized JSON as the next value (ill-formed UTF-8 in it replaced).
  Writer& raw(std::string_view json);
  /// Write a parsed value; its keys and strings are repaired like key()/string().
  Writer& value(const Value& v);

  Writer& field(std::string_view k, std::string_view v) { return key(k).string(v); }
  Writer& field(std::string_view k, const char* v) { return key(k).string(v); }
  Writer& field(std::string_view k, const std::string& v) { return key(k).string(v); }
  Writer& field_int(std::string_view k, int64_t v) { return key(k).integer(v); }
  Writer& field_bool(std::string_view k, bool v) { return key(k).boolean(v); }

  std::string_view view() const { return {buf_.GetString(), buf_.GetSize()}; }
  std::string str() const { return std::string(view()); }

 private:
  rapidjson::StringBuffer buf_;
  rapidjson::Writer<rapidjson::StringBuffer> w_;
};

/// `{"<key>":"<message>"}` — the shape of most small error bodies.
std::string object_with(std::string_view key, std::string_view message);

}  // namespace aa::json
