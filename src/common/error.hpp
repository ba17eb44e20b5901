#pragma once
/// One error type for the whole service: a stable code, a public message (what
/// the client sees), optional per-field details and an internal detail (logs
/// only). `http/errors.cpp` maps codes to HTTP statuses in one table.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace aa {

enum class ErrorCode {
  validation_failed,       // 400
  bad_json,                // 400
  unauthorized,            // 401
  not_found,               // 404 (route)
  call_not_found,          // 404
  bridge_not_found,        // 404
  recording_not_found,     // 404
  endpoint_not_found,      // 404
  method_not_allowed,      // 405
  transfer_timeout,        // 408
  wrong_state,             // 409
  recording_exists,        // 409
  payload_too_large,       // 413
  unsupported_media_type,  // 415
  allowlist_blocked,       // 403: the allowlist refuses the number
  playback_failed,         // 422: an item of a waited-for playback failed
  recording_failed,        // 422: Asterisk reported RecordingFailed at once
  ari_error,               // 502
  ari_unavailable,         // 503
  ari_timeout,             // 504
  voice_unavailable,       // 501 (no chan_websocket, no TTS/ASR engine)
  media_store_full,        // 507 (uploaded audio: count or bytes cap reached)
  tts_unavailable,         // 501 (no TTS engine configured)
  tts_failed,              // 502 (the engine or remote TTS server failed)
  tts_busy,                // 503 (speech workers saturated)
  tts_timeout,             // 504 (TTS_TIMEOUT_MS passed)
  asr_unavailable,         // 503 (no ASR engine, at capacity, or its server unreachable)
  asr_failed,              // 502 (the engine failed or cannot keep up with the audio)
  stream_exists,           // 409 (the call already has an agent stream)
  stream_not_found,        // 404 (the call has no agent stream)
  stream_connect_failed,   // 502 (the agent server refused or could not be reached)
  stream_timeout,          // 504 (the agent server did not answer in time)
  delivery_not_found,      // 404 (no such webhook delivery, or webhooks are off)
  store_unavailable,       // 503 (the event store is off, or cannot be read)
  internal,                // 500 (never for bad input)
};

/// Stable identifier for logs and the `code` field of error bodies.
std::string_view error_code_name(ErrorCode c);

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;               // one readable sentence, shown to the client
  std::vector<std::string> details;  // "field: problem", for validation errors
  std::string internal_detail;       // logged, never sent
  /// More members of the error body: key → the value, already serialized as
  /// JSON (e.g. {"playbacks", "[...]"}), written by api::error_body after
  /// "code". Never sent with a 500.
  std::vector<std::pair<std::string, std::string>> extra;

  Error() = default;
  Error(ErrorCode c, std::string msg, std::string internal = {})
      : code(c), message(std::move(msg)), internal_detail(std::move(internal)) {}
};

/// Value-or-Error for the domain; exceptions stop at the edge.
template <typename T>
class Outcome {
 public:
  Outcome(T v) : value_(std::move(v)) {}      // NOLINT: implicit on purpose
  Outcome(Error e) : error_(std::move(e)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  T& value() { return *value_; }
  const T& value() const { return *value_; }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const Error& error() const { return error_; }

 private:
  std::optional<T> value_;
  Error error_;
};

struct Done {};
using Status = Outcome<Done>;
inline Status ok_status() {
  return Status(Done{});
}

}  // namespace aa
