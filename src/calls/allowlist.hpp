#pragma once
/// Which numbers may call in and be called (the original's allowlist.json):
/// `{"inbound": ["<digits>", …], "outbound": ["<digits>", …]}` — an empty list
/// allows everyone (open mode). Numbers are compared as digits only (every
/// non-digit stripped, so "+1 (555) 013-0000" is 15550130000). The outbound
/// number of an endpoint is its longest run of at least 7 digits
/// (PJSIP/15550130000@trunk → 15550130000); an endpoint without one (an
/// internal extension like PJSIP/1001) is blocked once the list is not empty.
///
/// Unlike the original, a broken file never fails open: at start-up it is a
/// start-up error, on reload the last good list stays and the reload is
/// refused with the problem named.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace aa::calls {

struct AllowlistEntries {
  std::vector<std::string> inbound, outbound;  // digits only
};

/// Parse the file's text. Errors (validation_failed) name the problem:
/// "outbound[2]: must be a string of digits", "unknown key 'outbund'", …
Outcome<AllowlistEntries> parse_allowlist(std::string_view json_text);

/// Digits of `s` ("+1 (555) 013-0000" → "15550130000").
std::string digits_of(std::string_view s);
/// The longest run of ≥ 7 consecutive digits in `endpoint` ("" if none).
std::string outbound_number(std::string_view endpoint);

struct AllowDecision {
  bool allowed = true;
  std::string number;  // what was compared ("" when none could be extracted)
};

class Allowlist {
 public:
  Allowlist() = default;
  explicit Allowlist(AllowlistEntries e) : entries_(std::move(e)) {}

  AllowDecision check_inbound(std::string_view caller_number) const;
  AllowDecision check_outbound(std::string_view endpoint) const;
  const AllowlistEntries& entries() const { return entries_; }
  void replace(AllowlistEntries e) { entries_ = std::move(e); }

 private:
  AllowlistEntries entries_;
};

/// The allowlist file: load, reload on demand and when its modification time
/// changes (poll(), called every few seconds). Without a path, open mode.
class AllowlistFile {
 public:
  explicit AllowlistFile(std::string path) : path_(std::move(path)) {}
  /// Load now. Errors say which file and what is wrong; the last good list stays.
  Status load();
  /// Reload if the file changed since the last load; true when it did (and loaded).
  /// A broken file is logged once per change and the last good list kept.
  bool poll();
  const Allowlist& list() const { return list_; }
  const std::string& path() const { return path_; }
  int64_t loaded_at_ms() const { return loaded_at_ms_; }

 private:
  std::string path_;
  Allowlist list_;
  int64_t loaded_at_ms_ = 0;
  int64_t mtime_ns_ = -1;
};

}  // namespace aa::calls
