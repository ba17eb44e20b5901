#include "calls/allowlist.hpp"

#include <sys/stat.h>

#include <fstream>
#include <sstream>

#include "common/json.hpp"
#include "common/log.hpp"
#include "common/util.hpp"

namespace aa::calls {

std::string digits_of(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c >= '0' && c <= '9') out += c;
  return out;
}

std::string outbound_number(std::string_view endpoint) {
  std::string best, run;
  for (char c : endpoint) {
    if (c >= '0' && c <= '9') {
      run += c;
      continue;
    }
    if (run.size() > best.size()) best = run;
    run.clear();
  }
  if (run.size() > best.size()) best = run;
  return best.size() >= 7 ? best : std::string{};
}

Outcome<AllowlistEntries> parse_allowlist(std::string_view text) {
  auto fail = [](std::string detail) {
    Error e(ErrorCode::validation_failed, "The allowlist file is not valid");
    e.details.push_back(std::move(detail));
    return e;
  };
  std::string err;
  auto doc = json::parse(text, &err);
  if (!doc) return fail("file: not JSON (" + err + ")");
  if (!doc->IsObject())
    return fail("file: must be a JSON object {inbound: [...], outbound: [...]}");
  AllowlistEntries out;
  bool have_in = false, have_out = false;
  for (const auto& m : doc->GetObject()) {
    const std::string_view key = json::as_view(m.name);
    if (key == "$schema" || key == "description" || key == "note") continue;
    std::vector<std::string>* list = nullptr;
    if (key == "inbound") {
      list = &out.inbound;
      have_in = true;
    } else if (key == "outbound") {
      list = &out.outbound;
      have_out = true;
    } else {
      return fail("unknown key '" + std::string(key) + "' (allowed: inbound, outbound)");
    }
    if (!m.value.IsArray()) return fail(std::string(key) + ": must be an array of numbers");
    size_t i = 0;
    for (const auto& item : m.value.GetArray()) {
      const std::string where = std::string(key) + "[" + std::to_string(i++) + "]";
      if (!item.IsString()) return fail(where + ": must be a string of digits");
      const std::string d = digits_of(json::as_view(item));
      if (d.empty()) return fail(where + ": has no digits");
      if (d.size() > 32) return fail(where + ": longer than 32 digits");
      list->push_back(d);
    }
    if (list->size() > 100'000) return fail(std::string(key) + ": more than 100000 entries");
  }
  if (!have_in) return fail("inbound: missing (use [] to allow every caller)");
  if (!have_out) return fail("outbound: missing (use [] to allow every destination)");
  return out;
}

namespace {
bool contains(const std::vector<std::string>& list, std::string_view n) {
  for (const auto& e : list)
    if (e == n) return true;
  return false;
}
}  // namespace

AllowDecision Allowlist::check_inbound(std::string_view caller_number) const {
  AllowDecision d;
  d.number = digits_of(caller_number);
  if (entries_.inbound.empty()) return d;
  d.allowed = !d.number.empty() && contains(entries_.inbound, d.number);
  return d;
}

AllowDecision Allowlist::check_outbound(std::string_view endpoint) const {
  AllowDecision d;
  d.number = outbound_number(endpoint);
  if (entries_.outbound.empty()) return d;
  d.allowed = !d.number.empty() && contains(entries_.outbound, d.number);
  return d;
}

namespace {
int64_t mtime_of(const std::string& path) {
  struct stat sb {};
  if (::stat(path.c_str(), &sb) != 0) return -1;
  return static_cast<int64_t>(sb.st_mtim.tv_sec) * 1'000'000'000 + sb.st_mtim.tv_nsec;
}
}  // namespace

Status AllowlistFile::load() {
  if (path_.empty()) return ok_status();
  const int64_t mt = mtime_of(path_);
  std::ifstream in(path_, std::ios::binary);
  if (!in) {
    mtime_ns_ = mt;
    Error e(ErrorCode::validation_failed, "The allowlist file cannot be read");
    e.details.push_back("file: cannot open " + path_);
    return e;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  mtime_ns_ = mt;
  if (text.size() > 16 * 1024 * 1024) {
    Error e(ErrorCode::validation_failed, "The allowlist file is too large");
    e.details.push_back("file: larger than 16 MiB");
    return e;
  }
  auto parsed = parse_allowlist(text);
  if (!parsed) return parsed.error();
  list_.replace(std::move(*parsed));
  loaded_at_ms_ = now_epoch_ms();
  log::info(
      "allowlist {} loaded: {} inbound, {} outbound number(s){}", path_,
      list_.entries().inbound.size(), list_.entries().outbound.size(),
      list_.entries().inbound.empty() && list_.entries().outbound.empty() ? " (open mode)" : "");
  return ok_status();
}

bool AllowlistFile::poll() {
  if (path_.empty()) return false;
  const int64_t mt = mtime_of(path_);
  if (mt == mtime_ns_) return false;
  auto st = load();
  if (!st) {
    log::warn("allowlist {} changed but is not valid ({}); keeping the last good list", path_,
              st.error().details.empty() ? st.error().message : st.error().details.front());
    return false;
  }
  return true;
}

}  // namespace aa::calls
