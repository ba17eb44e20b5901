#include "common/json.hpp"

#include <rapidjson/error/en.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace aa::json {

namespace {

/// Opening brackets in `text`: 16 bytes per step with SSE2 (a byte counter
/// per lane, summed every 255 steps), about 30 ns for a 500-byte ARI event.
size_t count_opening_brackets(std::string_view text) {
  const char* p = text.data();
  const size_t n = text.size();
  size_t i = 0, count = 0;
#if defined(__SSE2__)
  const __m128i square = _mm_set1_epi8('['), curly = _mm_set1_epi8('{');
  while (i + 16 <= n) {
    __m128i acc = _mm_setzero_si128();
    for (int k = 0; k < 255 && i + 16 <= n; ++k, i += 16) {
      const __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p + i));
      // A match is 0xFF (-1) in its lane: subtracting counts it.
      acc = _mm_sub_epi8(acc, _mm_or_si128(_mm_cmpeq_epi8(v, square), _mm_cmpeq_epi8(v, curly)));
    }
    const __m128i sums = _mm_sad_epu8(acc, _mm_setzero_si128());
    count += static_cast<size_t>(_mm_cvtsi128_si32(sums)) +
             static_cast<size_t>(_mm_extract_epi16(sums, 4));
  }
#endif
  for (; i < n; ++i) count += static_cast<size_t>(p[i] == '[') + static_cast<size_t>(p[i] == '{');
  return count;
}

/// True when arrays/objects in `text` nest deeper than kMaxDepth. Counting the
/// brackets first settles the usual case (fewer brackets than the limit).
bool too_deep(std::string_view text) {
  if (count_opening_brackets(text) <= kMaxDepth) return false;
  size_t depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxDepth) return true;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return false;
}

template <unsigned Flags>
std::optional<Document> parse_with(std::string_view text, std::string* error) {
  if (too_deep(text)) {
    if (error) *error = "nested deeper than " + std::to_string(kMaxDepth) + " levels";
    return std::nullopt;
  }
  Document doc;
  doc.Parse<Flags>(text.data(), text.size());
  if (doc.HasParseError()) {
    if (error) {
      *error = std::string(rapidjson::GetParseError_En(doc.GetParseError())) + " at offset " +
               std::to_string(doc.GetErrorOffset());
    }
    return std::nullopt;
  }
  return doc;
}

/// Every key and string of `v` is valid UTF-8 (a `\uDC00` escape decodes to a
/// lone surrogate, which RapidJSON's validation of the raw bytes does not see).
bool all_strings_valid(const Value& v) {
  if (v.IsString()) return utf8::is_valid(as_view(v));
  if (v.IsArray()) {
    for (const auto& item : v.GetArray())
      if (!all_strings_valid(item)) return false;
  } else if (v.IsObject()) {
    for (const auto& m : v.GetObject())
      if (!utf8::is_valid(as_view(m.name)) || !all_strings_valid(m.value)) return false;
  }
  return true;
}

/// Forwards a value's SAX events to the writer, repairing keys and strings.
struct Utf8Repair {
  rapidjson::Writer<rapidjson::StringBuffer>& w;
  std::string scratch;

  bool Null() { return w.Null(); }
  bool Bool(bool b) { return w.Bool(b); }
  bool Int(int i) { return w.Int(i); }
  bool Uint(unsigned i) { return w.Uint(i); }
  bool Int64(int64_t i) { return w.Int64(i); }
  bool Uint64(uint64_t i) { return w.Uint64(i); }
  bool Double(double d) { return w.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return w.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) {
    if (utf8::is_valid({s, n})) return w.String(s, n, copy);
    scratch = utf8::to_valid({s, n});
    return w.String(scratch.data(), static_cast<rapidjson::SizeType>(scratch.size()), true);
  }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) {
    if (utf8::is_valid({s, n})) return w.Key(s, n, copy);
    scratch = utf8::to_valid({s, n});
    return w.Key(scratch.data(), static_cast<rapidjson::SizeType>(scratch.size()), true);
  }
  bool StartObject() { return w.StartObject(); }
  bool EndObject(rapidjson::SizeType n) { return w.EndObject(n); }
  bool StartArray() { return w.StartArray(); }
  bool EndArray(rapidjson::SizeType n) { return w.EndArray(n); }
};

}  // namespace

std::optional<Document> parse(std::string_view text, std::string* error) {
  return parse_with<rapidjson::kParseDefaultFlags>(text, error);
}

std::optional<Document> parse_utf8(std::string_view text, std::string* error, bool* bad_utf8) {
  if (bad_utf8) *bad_utf8 = false;
  const size_t good = utf8::valid_prefix(text);
  if (good != text.size()) {
    if (bad_utf8) *bad_utf8 = true;
    if (error) *error = "invalid UTF-8 byte sequence at offset " + std::to_string(good);
    return std::nullopt;
  }
  auto doc = parse_with<rapidjson::kParseValidateEncodingFlag>(text, error);
  if (doc && !all_strings_valid(*doc)) {
    if (bad_utf8) *bad_utf8 = true;
    if (error) *error = "a \\u escape encodes a lone UTF-16 surrogate";
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

Writer& Writer::raw(std::string_view json) {
  if (utf8::is_valid(json)) {
    w_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  } else {
    const std::string fixed = utf8::to_valid(json);
    w_.RawValue(fixed.data(), fixed.size(), rapidjson::kObjectType);
  }
  return *this;
}

Writer& Writer::value(const Value& v) {
  Utf8Repair h{w_, {}};
  v.Accept(h);
  return *this;
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
