#pragma once
// A small deterministic fuzzer for the test suite: a seeded generator, byte-
// and JSON-aware mutations of real inputs, and the seeds (the ARI traces in
// $AA_SHARED_DIR/ari-traces when present, and the inputs of issue 9).
//
// Iterations: each fuzz test has a default small enough for `make test`
// (the whole binary runs in a few seconds under ASan). AA_FUZZ_ITERATIONS
// overrides it (`make fuzz` runs a long campaign); AA_FUZZ_SEED changes the
// seed (default fixed, so a failure reproduces).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/json.hpp"

namespace aa::fuzz {

/// `fallback` unless AA_FUZZ_ITERATIONS is set; `divisor` scales the override
/// down for fuzzers whose iterations are expensive (a socket each).
inline size_t iterations(size_t fallback, size_t divisor = 1) {
  if (const char* v = std::getenv("AA_FUZZ_ITERATIONS"); v && *v) {
    const unsigned long long n = std::strtoull(v, nullptr, 10);
    if (n > 0) return std::max<size_t>(1, static_cast<size_t>(n) / divisor);
  }
  return fallback;
}

inline uint64_t seed(uint64_t salt) {
  uint64_t s = 0x5eed0009;
  if (const char* v = std::getenv("AA_FUZZ_SEED"); v && *v) s = std::strtoull(v, nullptr, 10);
  return s * 1000003u + salt;
}

/// Strings that broke, or could break, something: bad UTF-8, escapes,
/// separators, huge and empty values, the issue's own inputs.
inline const std::vector<std::string>& nasty_strings() {
  static const std::vector<std::string> v = {
      "",
      " ",
      "\xFF",
      "Bob <555\xFF"
      "0111>",
      "\xC0\xAF",
      "\xED\xA0\x80",
      "\xF4\x90\x80\x80",
      "\xE2\x82",
      "caf\xC3\xA9",
      "\xF0\x9F\x98\x80",
      std::string("a\0b", 3),
      "\\u0000",
      "\\udc00",
      "\\ud800",
      "\\\"",
      "%ff",
      "%00",
      "%2F",
      "../../etc/passwd",
      "/",
      "?",
      "&",
      "#",
      "\r\nX-Injected: 1",
      "PJSIP/1001",
      "Local/100@test-answer",
      "sound:beep",
      "sound:http://127.0.0.1:1/x.wav",
      "recording:x",
      "1234567890*#ABCD",
      "-1",
      "1e309",
      "9223372036854775808",
      "null",
      std::string(300, 'a'),
      std::string(16 * 1024, 'x'),
  };
  return v;
}

class Rng {
 public:
  explicit Rng(uint64_t s) : rng_(s) {}
  size_t below(size_t n) { return n == 0 ? 0 : static_cast<size_t>(rng_() % n); }
  bool chance(unsigned percent) { return below(100) < percent; }
  char byte() { return static_cast<char>(rng_() & 0xFF); }
  template <typename T>
  const T& pick(const std::vector<T>& v) {
    return v[below(v.size())];
  }
  std::mt19937_64& engine() { return rng_; }

  /// A string from the nasty list, random bytes, or a random length of one char.
  std::string weird() {
    switch (below(4)) {
      case 0:
      case 1:
        return pick(nasty_strings());
      case 2: {
        std::string s(below(24), '\0');
        for (auto& c : s) c = byte();
        return s;
      }
      default:
        return std::string(1 + below(2000), "aZ09%\xFF"[below(6)]);
    }
  }

  /// One to four byte-level mutations of `s` (flip, insert, delete, duplicate,
  /// truncate, splice with `other`, insert a nasty string).
  std::string mutate(std::string s, std::string_view other = {}) {
    const size_t n = 1 + below(4);
    for (size_t k = 0; k < n; ++k) {
      const size_t at = below(s.size() + 1);
      switch (below(8)) {
        case 0:
          if (!s.empty()) s[below(s.size())] ^= static_cast<char>(1u << below(8));
          break;
        case 1:
          s.insert(at, 1, byte());
          break;
        case 2:
          if (!s.empty()) s.erase(below(s.size()), 1 + below(8));
          break;
        case 3:
          if (!s.empty()) {
            const size_t from = below(s.size());
            s.insert(at, s.substr(from, 1 + below(16)));
          }
          break;
        case 4:
          s.resize(at);
          break;
        case 5:
          if (!other.empty()) {
            const size_t from = below(other.size());
            s = s.substr(0, at) + std::string(other.substr(from, 1 + below(64)));
          }
          break;
        case 6:
          s.insert(at, pick(nasty_strings()).substr(0, 64));
          break;
        default:
          if (!s.empty()) s[below(s.size())] = "\"{}[],:\\0 \xFF"[below(11)];
          break;
      }
    }
    return s;
  }

 private:
  std::mt19937_64 rng_;
};

/// JSON-aware mutation: parse `text`, change one value (string → nasty,
/// number → extreme, any → other type, insert/remove a member), serialize.
/// Falls back to byte mutation when `text` is not JSON.
inline std::string mutate_json(Rng& r, const std::string& text) {
  auto doc = json::parse(text);
  if (!doc) return r.mutate(text);
  auto& a = doc->GetAllocator();
  // Collect every value (pre-order) and pick one.
  std::vector<json::Value*> all;
  std::vector<json::Value*> stack{&*doc};
  while (!stack.empty()) {
    json::Value* v = stack.back();
    stack.pop_back();
    all.push_back(v);
    if (v->IsObject())
      for (auto& m : v->GetObject()) stack.push_back(&m.value);
    else if (v->IsArray())
      for (auto& x : v->GetArray()) stack.push_back(&x);
  }
  json::Value* v = all[r.below(all.size())];
  const std::string w = r.weird();
  switch (r.below(7)) {
    case 0:
      v->SetString(w.data(), static_cast<rapidjson::SizeType>(w.size()), a);
      break;
    case 1: {
      static const double kNumbers[] = {0, -1, 1.5, 1e308, -1e308, 4294967296.0, 120, 121, 7201};
      v->SetDouble(kNumbers[r.below(std::size(kNumbers))]);
      break;
    }
    case 2:
      v->SetInt64(static_cast<int64_t>(r.engine()()));
      break;
    case 3:
      if (r.chance(50))
        v->SetNull();
      else
        v->SetBool(r.chance(50));
      break;
    case 4:
      v->SetArray();
      for (size_t i = 0, n = r.below(40); i < n; ++i)
        v->PushBack(json::Value(w.data(), static_cast<rapidjson::SizeType>(w.size()), a), a);
      break;
    case 5:
      if (v->IsObject()) {
        json::Value k(w.data(), static_cast<rapidjson::SizeType>(w.size()), a);
        v->AddMember(k, json::Value(r.weird().c_str(), a), a);
      } else {
        v->SetObject();
      }
      break;
    default:
      if (v->IsObject() && v->MemberCount() > 0)
        v->EraseMember(v->MemberBegin() + static_cast<long>(r.below(v->MemberCount())));
      break;
  }
  std::string out = json::stringify(*doc);
  // Sometimes put raw (not JSON-escaped) bad bytes back in, as a client could.
  if (r.chance(20)) out = r.mutate(out);
  return out;
}

/// Every line of every trace file, in a stable order; empty (with a note)
/// when the shared directory is not there.
inline std::vector<std::string> trace_lines() {
  namespace fs = std::filesystem;
  std::vector<std::string> out;
  const char* shared = std::getenv("AA_SHARED_DIR");
  const fs::path dir = fs::path(shared && *shared ? shared : "../shared") / "ari-traces";
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().extension() == ".jsonl") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::ifstream in(f);
    std::string line;
    while (std::getline(in, line))
      if (!line.empty()) out.push_back(line);
  }
  return out;
}

}  // namespace aa::fuzz
