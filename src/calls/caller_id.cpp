#include "calls/caller_id.hpp"

#include <optional>

namespace aa::calls {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_number_char(char c) {
  return (c >= '0' && c <= '9') || c == '*' || c == '#' || c == '+';
}
bool is_punctuation(char c) {
  return c == ' ' || c == '\t' || c == '(' || c == ')' || c == '-' || c == '.';
}

/// The number with its punctuation removed, or nothing when what is left is
/// not made of number characters alone (or is empty).
std::optional<std::string> shrink_number(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (is_punctuation(c)) continue;
    if (!is_number_char(c)) return std::nullopt;
    out += c;
  }
  if (out.empty()) return std::nullopt;
  return out;
}

/// `"Alice"` → `Alice` (one pair of surrounding double quotes).
std::string_view strip_quotes(std::string_view s) {
  s = trim(s);
  if (s.size() >= 2 && s.front() == '"' && s.back() == '"') s = s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

CallerId parse_caller_id(std::string_view text) {
  CallerId c;
  // Asterisk looks for the last '<' and a '>' after it.
  const size_t lt = text.rfind('<');
  const size_t gt = text.rfind('>');
  if (lt != std::string_view::npos && gt != std::string_view::npos && gt > lt) {
    const std::string_view number = trim(text.substr(lt + 1, gt - lt - 1));
    auto shrunk = shrink_number(number);
    c.number = shrunk ? *shrunk : std::string(number);
    c.name = std::string(strip_quotes(text.substr(0, lt)));
    return c;
  }
  const std::string_view bare = trim(text);
  if (auto shrunk = shrink_number(bare)) {
    c.number = std::move(*shrunk);
    return c;
  }
  c.name = std::string(strip_quotes(bare));
  return c;
}

}  // namespace aa::calls
