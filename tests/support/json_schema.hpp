#pragma once
// A small JSON Schema (2020-12 subset) validator over RapidJSON, for checking
// real responses against the schemas of an OpenAPI 3.1 document.
//
// Supported: boolean schemas, type (a name or an array of names, "integer"
// includes integral doubles), enum, const, properties, required,
// additionalProperties (boolean or schema), items, minItems, maxItems,
// minProperties, maxProperties, $ref (JSON pointers into the root document, e.g.
// "#/components/schemas/X"; siblings of $ref apply too), allOf, anyOf, oneOf,
// not, minimum, maximum, exclusiveMinimum, exclusiveMaximum, minLength,
// maxLength (in code points), pattern (std::regex ECMAScript, searched, not
// anchored). Annotations (description, format, default, examples, x-*, ...) are
// ignored; `unsupported_keywords` lists anything else, so a document cannot
// silently rely on a keyword this validator skips.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <cstdlib>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "support/regex.hpp"

namespace aa::test {

class JsonSchema {
 public:
  using Value = rapidjson::Value;

  /// `root` is the whole document that `$ref`s point into; it must outlive this object.
  explicit JsonSchema(const Value& root) : root_(root) {}

  /// The value at a `#/a/b` JSON pointer in the root (with ~0 ~1 and %xx unescaping), or null.
  const Value* resolve(std::string_view ref) const {
    if (ref.empty() || ref[0] != '#') return nullptr;
    ref.remove_prefix(1);
    const Value* at = &root_;
    while (!ref.empty()) {
      if (ref[0] != '/') return nullptr;
      ref.remove_prefix(1);
      const size_t slash = ref.find('/');
      std::string token = unescape(ref.substr(0, slash));
      ref = slash == std::string_view::npos ? std::string_view{} : ref.substr(slash);
      if (at->IsObject()) {
        auto m = at->FindMember(rapidjson::StringRef(token.data(), token.size()));
        if (m == at->MemberEnd()) return nullptr;
        at = &m->value;
      } else if (at->IsArray()) {
        char* end = nullptr;
        const unsigned long i = std::strtoul(token.c_str(), &end, 10);
        if (token.empty() || *end || i >= at->Size()) return nullptr;
        at = &(*at)[static_cast<rapidjson::SizeType>(i)];
      } else {
        return nullptr;
      }
    }
    return at;
  }

  /// Problems of `instance` against `schema`, each as "<json pointer>: <problem>"; empty: valid.
  std::vector<std::string> validate(const Value& schema, const Value& instance) const {
    std::vector<std::string> out;
    check(schema, instance, "", out, 0);
    return out;
  }

  /// Keywords in `schema` (and its subschemas, following no $ref) this validator does not
  /// understand, each as "<where>: <keyword>".
  std::vector<std::string> unsupported_keywords(const Value& schema, std::string where) const {
    std::vector<std::string> out;
    scan(schema, std::move(where), out);
    return out;
  }

  static std::string dump(const Value& v) {
    rapidjson::StringBuffer b;
    rapidjson::Writer<rapidjson::StringBuffer> w(b);
    v.Accept(w);
    std::string s(b.GetString(), b.GetSize());
    if (s.size() > 120) s = s.substr(0, 117) + "...";
    return s;
  }

 private:
  static std::string unescape(std::string_view t) {
    std::string s;
    for (size_t i = 0; i < t.size(); ++i) {
      if (t[i] == '~' && i + 1 < t.size()) {
        s += t[i + 1] == '1' ? '/' : '~';
        ++i;
      } else if (t[i] == '%' && i + 2 < t.size()) {
        s += static_cast<char>(std::stoi(std::string(t.substr(i + 1, 2)), nullptr, 16));
        i += 2;
      } else {
        s += t[i];
      }
    }
    return s;
  }

  static bool has_type(const Value& v, std::string_view type) {
    if (type == "null") return v.IsNull();
    if (type == "boolean") return v.IsBool();
    if (type == "object") return v.IsObject();
    if (type == "array") return v.IsArray();
    if (type == "string") return v.IsString();
    if (type == "number") return v.IsNumber();
    if (type == "integer") {
      if (v.IsInt64() || v.IsUint64()) return true;
      if (!v.IsNumber()) return false;
      const double d = v.GetDouble();
      return std::isfinite(d) && std::floor(d) == d;
    }
    return false;
  }

  static size_t code_points(const Value& s) {
    size_t n = 0;
    const char* p = s.GetString();
    for (rapidjson::SizeType i = 0; i < s.GetStringLength(); ++i)
      if ((static_cast<unsigned char>(p[i]) & 0xC0) != 0x80) ++n;
    return n;
  }

  static const Value* member(const Value& obj, const char* key) {
    auto m = obj.FindMember(key);
    return m == obj.MemberEnd() ? nullptr : &m->value;
  }

  bool matches(const Value& schema, const Value& instance, int depth) const {
    std::vector<std::string> ignored;
    check(schema, instance, "", ignored, depth);
    return ignored.empty();
  }

  void check(const Value& schema, const Value& inst, const std::string& at,
             std::vector<std::string>& out, int depth) const {
    auto fail = [&](const std::string& why) {
      out.push_back((at.empty() ? "/" : at) + ": " + why);
    };
    if (depth > 64) {
      fail("schema nesting too deep (a $ref cycle?)");
      return;
    }
    if (schema.IsBool()) {
      if (!schema.GetBool()) fail("no value is allowed here");
      return;
    }
    if (!schema.IsObject()) {
      fail("the schema is not an object");
      return;
    }
    if (const Value* ref = member(schema, "$ref")) {
      const Value* target = ref->IsString() ? resolve(ref->GetString()) : nullptr;
      if (!target)
        fail("unresolved $ref " + dump(*ref));
      else
        check(*target, inst, at, out, depth + 1);
    }
    if (const Value* type = member(schema, "type")) {
      bool ok = false;
      if (type->IsString()) {
        ok = has_type(inst, type->GetString());
      } else if (type->IsArray()) {
        for (const auto& t : type->GetArray()) ok |= t.IsString() && has_type(inst, t.GetString());
      }
      if (!ok) {
        fail("expected type " + dump(*type) + ", got " + dump(inst));
        return;  // the other keywords would only repeat it
      }
    }
    if (const Value* e = member(schema, "enum")) {
      bool ok = false;
      if (e->IsArray())
        for (const auto& v : e->GetArray()) ok |= v == inst;
      if (!ok) fail(dump(inst) + " is not one of " + dump(*e));
    }
    if (const Value* c = member(schema, "const")) {
      if (!(*c == inst)) fail(dump(inst) + " is not " + dump(*c));
    }
    if (inst.IsNumber()) {
      const double d = inst.GetDouble();
      if (const Value* m = member(schema, "minimum"); m && m->IsNumber() && d < m->GetDouble())
        fail(dump(inst) + " is below the minimum " + dump(*m));
      if (const Value* m = member(schema, "maximum"); m && m->IsNumber() && d > m->GetDouble())
        fail(dump(inst) + " is above the maximum " + dump(*m));
      if (const Value* m = member(schema, "exclusiveMinimum");
          m && m->IsNumber() && d <= m->GetDouble())
        fail(dump(inst) + " is not above " + dump(*m));
      if (const Value* m = member(schema, "exclusiveMaximum");
          m && m->IsNumber() && d >= m->GetDouble())
        fail(dump(inst) + " is not below " + dump(*m));
    }
    if (inst.IsString()) {
      const size_t n = code_points(inst);
      if (const Value* m = member(schema, "minLength"); m && m->IsUint64() && n < m->GetUint64())
        fail(dump(inst) + " is shorter than " + dump(*m));
      if (const Value* m = member(schema, "maxLength"); m && m->IsUint64() && n > m->GetUint64())
        fail(dump(inst) + " is longer than " + dump(*m));
      if (const Value* p = member(schema, "pattern"); p && p->IsString()) {
        try {
          const std::regex re(p->GetString(), std::regex::ECMAScript);
          if (!std::regex_search(inst.GetString(), inst.GetString() + inst.GetStringLength(), re))
            fail(dump(inst) + " does not match " + dump(*p));
        } catch (const std::regex_error&) {
          fail("bad pattern " + dump(*p));
        }
      }
    }
    if (inst.IsArray()) {
      if (const Value* m = member(schema, "minItems");
          m && m->IsUint64() && inst.Size() < m->GetUint64())
        fail("fewer than " + dump(*m) + " items");
      if (const Value* m = member(schema, "maxItems");
          m && m->IsUint64() && inst.Size() > m->GetUint64())
        fail("more than " + dump(*m) + " items");
      if (const Value* items = member(schema, "items")) {
        for (rapidjson::SizeType i = 0; i < inst.Size(); ++i)
          check(*items, inst[i], at + "/" + std::to_string(i), out, depth + 1);
      }
    }
    if (inst.IsObject()) {
      if (const Value* m = member(schema, "minProperties");
          m && m->IsUint64() && inst.MemberCount() < m->GetUint64())
        fail("fewer than " + dump(*m) + " properties");
      if (const Value* m = member(schema, "maxProperties");
          m && m->IsUint64() && inst.MemberCount() > m->GetUint64())
        fail("more than " + dump(*m) + " properties");
      if (const Value* req = member(schema, "required"); req && req->IsArray()) {
        for (const auto& r : req->GetArray())
          if (r.IsString() && !inst.HasMember(r.GetString()))
            fail("missing required property \"" + std::string(r.GetString()) + "\"");
      }
      const Value* props = member(schema, "properties");
      const Value* additional = member(schema, "additionalProperties");
      for (const auto& m : inst.GetObject()) {
        const std::string name(m.name.GetString(), m.name.GetStringLength());
        const std::string where = at + "/" + name;
        const Value* sub = nullptr;
        if (props && props->IsObject()) sub = member(*props, name.c_str());
        if (sub)
          check(*sub, m.value, where, out, depth + 1);
        else if (additional)
          check(*additional, m.value, where, out, depth + 1);
      }
    }
    if (const Value* all = member(schema, "allOf"); all && all->IsArray()) {
      for (const auto& s : all->GetArray()) check(s, inst, at, out, depth + 1);
    }
    if (const Value* any = member(schema, "anyOf"); any && any->IsArray()) {
      bool ok = false;
      for (const auto& s : any->GetArray()) ok = ok || matches(s, inst, depth + 1);
      if (!ok) fail(dump(inst) + " matches none of anyOf" + closest(*any, inst, depth));
    }
    if (const Value* one = member(schema, "oneOf"); one && one->IsArray()) {
      int n = 0;
      for (const auto& s : one->GetArray()) n += matches(s, inst, depth + 1) ? 1 : 0;
      if (n == 0) fail(dump(inst) + " matches none of oneOf" + closest(*one, inst, depth));
      if (n > 1) fail(dump(inst) + " matches " + std::to_string(n) + " of oneOf (exactly one)");
    }
    if (const Value* no = member(schema, "not")) {
      if (matches(*no, inst, depth + 1)) fail(dump(inst) + " matches a `not` schema");
    }
  }

  /// The problems of the alternative with the fewest, to say why none matched.
  std::string closest(const Value& alternatives, const Value& inst, int depth) const {
    std::vector<std::string> best;
    bool first = true;
    for (const auto& s : alternatives.GetArray()) {
      std::vector<std::string> p;
      check(s, inst, "", p, depth + 1);
      if (first || p.size() < best.size()) best = std::move(p);
      first = false;
    }
    std::string out;
    for (const auto& p : best) out += (out.empty() ? " (closest: " : "; ") + p;
    return out.empty() ? out : out + ")";
  }

  void scan(const Value& schema, const std::string& where, std::vector<std::string>& out) const {
    static const std::set<std::string, std::less<>> kAssertions = {"$ref",
                                                                   "type",
                                                                   "enum",
                                                                   "const",
                                                                   "properties",
                                                                   "required",
                                                                   "additionalProperties",
                                                                   "items",
                                                                   "minItems",
                                                                   "maxItems",
                                                                   "minProperties",
                                                                   "maxProperties",
                                                                   "allOf",
                                                                   "anyOf",
                                                                   "oneOf",
                                                                   "not",
                                                                   "minimum",
                                                                   "maximum",
                                                                   "exclusiveMinimum",
                                                                   "exclusiveMaximum",
                                                                   "minLength",
                                                                   "maxLength",
                                                                   "pattern"};
    static const std::set<std::string, std::less<>> kAnnotations = {
        "description", "title",    "format",    "default",          "examples",        "example",
        "deprecated",  "readOnly", "writeOnly", "contentMediaType", "contentEncoding", "$comment"};
    if (!schema.IsObject()) return;
    for (const auto& m : schema.GetObject()) {
      const std::string_view k(m.name.GetString(), m.name.GetStringLength());
      const std::string at = where + "/" + std::string(k);
      if (k.substr(0, 2) == "x-" || kAnnotations.count(k)) continue;
      if (!kAssertions.count(k)) {
        out.push_back(where + ": " + std::string(k));
        continue;
      }
      if (k == "properties" && m.value.IsObject()) {
        for (const auto& p : m.value.GetObject())
          scan(p.value, at + "/" + std::string(p.name.GetString(), p.name.GetStringLength()), out);
      } else if ((k == "allOf" || k == "anyOf" || k == "oneOf") && m.value.IsArray()) {
        for (rapidjson::SizeType i = 0; i < m.value.Size(); ++i)
          scan(m.value[i], at + "/" + std::to_string(i), out);
      } else if (k == "items" || k == "additionalProperties" || k == "not") {
        scan(m.value, at, out);
      }
    }
  }

  const Value& root_;
};

}  // namespace aa::test
