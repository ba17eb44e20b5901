#pragma once
/// Reading JSON request bodies and checking them against the contract's rules.
/// Every problem is collected as "field: message" so one 400 names them all.
/// Unknown fields are ignored; wrong types are 400; a non-JSON Content-Type on
/// a JSON route is 415 when a body is present; an empty body reads as `{}`.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "calls/call_manager.hpp"
#include "common/error.hpp"
#include "common/json.hpp"
#include "net/http_types.hpp"

namespace aa::http {

/// Parses the body of `req` as a JSON object. Empty (or all-whitespace) body → `{}`.
/// Errors: 415 (body present with a non-JSON Content-Type), 400 bad JSON / not an object.
Outcome<json::Document> read_json_object(const net::Request& req);

/// Typed access to the members of one JSON object, collecting every problem.
class FieldReader {
 public:
  explicit FieldReader(const json::Value& obj, std::string prefix = {})
      : obj_(obj), prefix_(std::move(prefix)) {}

  /// Absent → nullopt (and "is required" when `required`). Wrong type → problem.
  std::optional<std::string> string(std::string_view name, bool required, bool non_empty);
  /// Integer (an integral number like 30.0 is accepted) within [min, max].
  std::optional<int64_t> integer(std::string_view name, bool required, int64_t min, int64_t max);
  std::optional<bool> boolean(std::string_view name, bool required);
  /// The raw member (for fields with several accepted shapes); nullptr if absent.
  const json::Value* raw(std::string_view name) const { return json::find(obj_, name); }

  void problem(std::string_view field, std::string_view message);
  std::string field_name(std::string_view name) const { return prefix_ + std::string(name); }
  const std::vector<std::string>& problems() const { return problems_; }
  bool ok() const { return problems_.empty(); }
  /// 400 validation error with every problem as details.
  Error error() const;

 private:
  const json::Value& obj_;
  std::string prefix_;
  std::vector<std::string> problems_;
};

/// Recording names (also copy destinations): 1–128 of [A-Za-z0-9_.-], no leading '.'.
bool is_safe_name(std::string_view s);
/// DTMF string: ^[0-9A-D*#]+$ case-insensitive. Returns it upper-cased, or nullopt.
std::optional<std::string> normalize_dtmf(std::string_view s);

// ---- the contract's request bodies (each reads the body of `req`) ----
Outcome<calls::OriginateRequest> parse_originate(const net::Request& req);
/// DELETE /calls/:id: optional {reason}. Returns the reason ("" when absent).
Outcome<std::string> parse_hangup(const net::Request& req);
Outcome<calls::PlayRequest> parse_play(const net::Request& req);
Outcome<calls::RecordRequest> parse_record(const net::Request& req);
/// Returns the normalized (upper-case) digits.
Outcome<std::string> parse_dtmf(const net::Request& req);
Outcome<calls::TransferRequest> parse_transfer(const net::Request& req);
/// POST /bridges: optional {name}.
Outcome<std::string> parse_bridge_create(const net::Request& req);
/// addChannel/removeChannel: {callId}.
Outcome<std::string> parse_bridge_channel(const net::Request& req);
/// POST /recordings/:name/copy: {destinationName}.
Outcome<std::string> parse_copy(const net::Request& req);

/// The uploaded WAV of POST /calls/:id/play/file: Content-Type check (415),
/// non-empty body (400). The audio itself is checked by media::prepare_for_asterisk.
Status check_upload_content_type(const net::Request& req);
/// The file name from `Content-Disposition: ...; filename="x.wav"` (path and
/// extension stripped), or "".
std::string upload_file_name(const net::Request& req);

}  // namespace aa::http
