#include "http/validation.hpp"

#include <cmath>

namespace aa::http {

namespace {

bool is_json_media_type(std::string_view ct) {
  if (ct == "application/json") return true;
  // application/merge-patch+json and the like.
  return ct.size() > 5 && ct.substr(0, 12) == "application/" && ct.substr(ct.size() - 5) == "+json";
}

bool all_space(std::string_view s) {
  for (char c : s)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return false;
  return true;
}

std::string_view type_name(const json::Value& v) {
  if (v.IsNull()) return "null";
  if (v.IsBool()) return "a boolean";
  if (v.IsNumber()) return "a number";
  if (v.IsString()) return "a string";
  if (v.IsArray()) return "an array";
  return "an object";
}

std::string too_long(size_t max_bytes) {
  return "must be at most " + std::to_string(max_bytes) + " bytes long";
}

}  // namespace

Outcome<json::Document> read_json_object(const net::Request& req) {
  json::Document doc;
  if (all_space(req.body)) {
    doc.SetObject();
    return doc;
  }
  const std::string ct = req.content_type();
  if (!is_json_media_type(ct)) {
    return Error(ErrorCode::unsupported_media_type,
                 ct.empty() ? "Content-Type must be application/json"
                            : "Content-Type must be application/json, not " + ct);
  }
  std::string why;
  bool bad_utf8 = false;
  auto parsed = json::parse_utf8(req.body, &why, &bad_utf8);
  if (!parsed && bad_utf8) {
    Error e(ErrorCode::bad_json, "Request body is not valid UTF-8");
    e.details.push_back("body: " + why);
    return e;
  }
  if (!parsed) {
    Error e(ErrorCode::bad_json, "Request body is not valid JSON");
    if (!why.empty()) e.details.push_back("body: " + why);
    return e;
  }
  if (!parsed->IsObject()) {
    Error e(ErrorCode::bad_json, "Request body must be a JSON object");
    e.details.push_back("body: must be an object, not " + std::string(type_name(*parsed)));
    return e;
  }
  return std::move(*parsed);
}

void FieldReader::problem(std::string_view field, std::string_view message) {
  problems_.push_back(field_name(field) + ": " + std::string(message));
}

Error FieldReader::error() const {
  Error e(ErrorCode::validation_failed,
          problems_.size() == 1
              ? "Invalid request: " + problems_.front()
              : "Invalid request: " + std::to_string(problems_.size()) + " problems (see details)");
  e.details = problems_;
  return e;
}

std::optional<std::string> FieldReader::string(std::string_view name, bool required, bool non_empty,
                                               size_t max_bytes) {
  const json::Value* v = json::find(obj_, name);
  if (!v) {
    if (required) problem(name, "is required");
    return std::nullopt;
  }
  if (!v->IsString()) {
    problem(name, "must be a string, not " + std::string(type_name(*v)));
    return std::nullopt;
  }
  if (v->GetStringLength() > max_bytes) {
    problem(name, too_long(max_bytes));
    return std::nullopt;
  }
  std::string s(v->GetString(), v->GetStringLength());
  if (non_empty && all_space(s)) {
    problem(name, "must not be empty");
    return std::nullopt;
  }
  return s;
}

std::optional<int64_t> FieldReader::integer(std::string_view name, bool required, int64_t min,
                                            int64_t max) {
  const json::Value* v = json::find(obj_, name);
  if (!v) {
    if (required) problem(name, "is required");
    return std::nullopt;
  }
  int64_t n = 0;
  if (v->IsInt64()) {
    n = v->GetInt64();
  } else if (v->IsNumber()) {
    double d = v->GetDouble();
    if (!std::isfinite(d) || std::floor(d) != d) {
      problem(name, "must be an integer");
      return std::nullopt;
    }
    if (d < static_cast<double>(min) || d > static_cast<double>(max)) {
      problem(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
      return std::nullopt;
    }
    n = static_cast<int64_t>(d);
  } else {
    problem(name, "must be an integer, not " + std::string(type_name(*v)));
    return std::nullopt;
  }
  if (n < min || n > max) {
    problem(name, "must be between " + std::to_string(min) + " and " + std::to_string(max));
    return std::nullopt;
  }
  return n;
}

std::optional<bool> FieldReader::boolean(std::string_view name, bool required) {
  const json::Value* v = json::find(obj_, name);
  if (!v) {
    if (required) problem(name, "is required");
    return std::nullopt;
  }
  if (!v->IsBool()) {
    problem(name, "must be a boolean, not " + std::string(type_name(*v)));
    return std::nullopt;
  }
  return v->GetBool();
}

bool is_safe_name(std::string_view s) {
  if (s.empty() || s.size() > 128 || s.front() == '.') return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '.';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> normalize_dtmf(std::string_view s) {
  if (s.empty()) return std::nullopt;
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    if (c >= 'a' && c <= 'd') c = static_cast<char>(c - 32);
    bool ok = (c >= '0' && c <= '9') || (c >= 'A' && c <= 'D') || c == '*' || c == '#';
    if (!ok) return std::nullopt;
    out += c;
  }
  return out;
}

// ---- request bodies ----

Outcome<calls::OriginateRequest> parse_originate(const net::Request& req) {
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  calls::OriginateRequest out;
  if (auto v = f.string("endpoint", true, true, limits::kEndpoint)) out.endpoint = *v;
  if (auto v = f.string("callerId", false, false, limits::kCallerId)) out.caller_id = *v;
  if (auto v = f.integer("timeout", false, 1, 120)) out.timeout_s = static_cast<int>(*v);
  if (const json::Value* vars = f.raw("variables")) {
    if (!vars->IsObject()) {
      f.problem("variables", "must be an object of string values");
    } else if (vars->MemberCount() > limits::kVariables) {
      f.problem("variables",
                "must have at most " + std::to_string(limits::kVariables) + " entries");
    } else {
      for (const auto& m : vars->GetObject()) {
        const std::string_view key = json::as_view(m.name);
        if (key.empty()) {
          f.problem("variables", "names must not be empty");
        } else if (key.size() > limits::kVariableName) {
          // The name itself is too long to quote in full.
          f.problem("variables", "names " + too_long(limits::kVariableName) + " (" +
                                     std::string(key.substr(0, 32)) + "...)");
        } else if (!m.value.IsString()) {
          f.problem("variables." + std::string(key),
                    "must be a string, not " + std::string(type_name(m.value)));
        } else if (m.value.GetStringLength() > limits::kVariableValue) {
          f.problem("variables." + std::string(key), too_long(limits::kVariableValue));
        } else {
          out.variables.emplace_back(std::string(key), std::string(json::as_view(m.value)));
        }
      }
    }
  }
  if (!f.ok()) return f.error();
  return out;
}

Outcome<std::string> parse_hangup(const net::Request& req) {
  // Hangup reasons ARI accepts on DELETE /channels/{id}.
  static constexpr std::string_view kReasons[] = {
      "normal",       "busy",        "congestion",         "no_answer",         "timeout",
      "rejected",     "unallocated", "normal_unspecified", "number_incomplete", "codec_mismatch",
      "interworking", "failure",     "answered_elsewhere"};
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  std::string reason;
  if (auto v = f.string("reason", false, false, limits::kReason)) reason = *v;
  if (reason.empty())
    if (auto q = req.param("reason")) reason = std::string(*q);
  if (reason.size() > limits::kReason) {
    f.problem("reason", too_long(limits::kReason));
  } else if (!reason.empty()) {
    bool known = false;
    for (auto r : kReasons) known |= r == reason;
    if (!known)
      f.problem("reason",
                "must be one of normal, busy, congestion, no_answer, timeout, rejected, "
                "unallocated, normal_unspecified, number_incomplete, codec_mismatch, "
                "interworking, failure, answered_elsewhere");
  }
  if (!f.ok()) return f.error();
  return reason;
}

Outcome<calls::PlayRequest> parse_play(const net::Request& req) {
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  calls::PlayRequest out;
  const json::Value* media = f.raw("media");
  if (!media) {
    f.problem("media", "is required");
  } else if (media->IsString()) {
    std::string s(json::as_view(*media));
    if (all_space(s))
      f.problem("media", "must not be empty");
    else if (s.size() > limits::kMediaItem)
      f.problem("media", too_long(limits::kMediaItem));
    else
      out.media.push_back(std::move(s));
  } else if (media->IsArray()) {
    if (media->Empty()) f.problem("media", "must not be an empty array");
    if (media->Size() > limits::kMediaItems) {
      f.problem("media", "must have at most " + std::to_string(limits::kMediaItems) + " items");
    } else {
      size_t i = 0;
      for (const auto& item : media->GetArray()) {
        const std::string field = "media[" + std::to_string(i++) + "]";
        if (!item.IsString())
          f.problem(field, "must be a string, not " + std::string(type_name(item)));
        else if (all_space(json::as_view(item)))
          f.problem(field, "must not be empty");
        else if (item.GetStringLength() > limits::kMediaItem)
          f.problem(field, too_long(limits::kMediaItem));
        else
          out.media.emplace_back(json::as_view(item));
      }
    }
  } else {
    f.problem("media",
              "must be a string or an array of strings, not " + std::string(type_name(*media)));
  }
  if (auto w = f.boolean("wait", false)) out.wait = *w;
  if (!f.ok()) return f.error();
  return out;
}

Outcome<calls::RecordRequest> parse_record(const net::Request& req) {
  static constexpr std::string_view kFormats[] = {"wav", "gsm", "ulaw", "alaw", "sln", "sln16"};
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  calls::RecordRequest out;
  if (auto v = f.string("name", false, false, limits::kName)) {
    if (!is_safe_name(*v))
      f.problem("name", "must be 1-128 characters of A-Z a-z 0-9 _ . - (not starting with '.')");
    else
      out.name = *v;
  }
  if (auto v = f.string("format", false, false, 16)) {
    bool known = false;
    for (auto k : kFormats) known |= k == *v;
    if (!known)
      f.problem("format", "must be one of wav, gsm, ulaw, alaw, sln, sln16");
    else
      out.format = *v;
  }
  if (auto v = f.integer("maxDurationSeconds", false, 1, 7200))
    out.max_duration_s = static_cast<int>(*v);
  if (auto v = f.boolean("beep", false)) out.beep = *v;
  if (!f.ok()) return f.error();
  return out;
}

Outcome<std::string> parse_dtmf(const net::Request& req) {
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  std::string digits;
  if (auto v = f.string("dtmf", true, false, limits::kDtmf)) {
    auto norm = normalize_dtmf(*v);
    if (!norm)
      f.problem("dtmf", "must match ^[0-9A-D*#]+$");
    else
      digits = *norm;
  }
  if (!f.ok()) return f.error();
  return digits;
}

Outcome<calls::TransferRequest> parse_transfer(const net::Request& req) {
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  calls::TransferRequest out;
  if (auto v = f.string("endpoint", true, true, limits::kEndpoint)) out.endpoint = *v;
  if (auto v = f.string("callerId", false, false, limits::kCallerId)) out.caller_id = *v;
  if (auto v = f.integer("timeout", false, 1, 120)) out.timeout_s = static_cast<int>(*v);
  if (!f.ok()) return f.error();
  return out;
}

Outcome<std::string> parse_bridge_create(const net::Request& req) {
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  std::string name;
  if (auto v = f.string("name", false, false, limits::kName)) name = *v;
  if (!f.ok()) return f.error();
  return name;
}

Outcome<std::string> parse_bridge_channel(const net::Request& req) {
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  std::string id;
  if (auto v = f.string("callId", true, true, limits::kId)) id = *v;
  if (!f.ok()) return f.error();
  return id;
}

Outcome<std::string> parse_copy(const net::Request& req) {
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  std::string dest;
  if (auto v = f.string("destinationName", true, true, limits::kName)) {
    if (!is_safe_name(*v))
      f.problem("destinationName",
                "must be 1-128 characters of A-Z a-z 0-9 _ . - (not starting with '.')");
    else
      dest = *v;
  }
  if (!f.ok()) return f.error();
  return dest;
}

Status check_upload_content_type(const net::Request& req) {
  const std::string ct = req.content_type();
  if (ct != "audio/wav" && ct != "audio/x-wav" && ct != "audio/wave" &&
      ct != "application/octet-stream") {
    return Error(ErrorCode::unsupported_media_type,
                 "Content-Type must be audio/wav, audio/x-wav, audio/wave or "
                 "application/octet-stream");
  }
  if (req.body.empty()) {
    Error e(ErrorCode::validation_failed, "The request body is empty: send the WAV bytes");
    e.details.push_back("body: must not be empty");
    return e;
  }
  return ok_status();
}

std::string upload_file_name(const net::Request& req) {
  std::string_view cd = req.header("content-disposition");
  // Find a `filename=` parameter (not `filename*=`), quoted or not.
  size_t pos = 0;
  std::string_view value;
  while ((pos = cd.find("filename", pos)) != std::string_view::npos) {
    size_t p = pos + 8;
    while (p < cd.size() && cd[p] == ' ') ++p;
    if (p < cd.size() && cd[p] == '=') {
      ++p;
      while (p < cd.size() && cd[p] == ' ') ++p;
      if (p < cd.size() && cd[p] == '"') {
        size_t end = cd.find('"', p + 1);
        value =
            cd.substr(p + 1, end == std::string_view::npos ? std::string_view::npos : end - p - 1);
      } else {
        size_t end = cd.find(';', p);
        value = cd.substr(p, end == std::string_view::npos ? std::string_view::npos : end - p);
        while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      }
      break;
    }
    pos = p;
  }
  // Keep the base name only, without its extension.
  size_t slash = value.find_last_of("/\\");
  if (slash != std::string_view::npos) value.remove_prefix(slash + 1);
  size_t dot = value.rfind('.');
  if (dot != std::string_view::npos) value = value.substr(0, dot);
  return std::string(value);
}

}  // namespace aa::http
