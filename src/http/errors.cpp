#include "http/errors.hpp"

#include "api/wire.hpp"
#include "common/json.hpp"
#include "common/log.hpp"

namespace aa::http {

int http_status(ErrorCode c) {
  switch (c) {
    case ErrorCode::validation_failed:
    case ErrorCode::bad_json:
      return 400;
    case ErrorCode::unauthorized:
      return 401;
    case ErrorCode::not_found:
    case ErrorCode::call_not_found:
    case ErrorCode::bridge_not_found:
    case ErrorCode::recording_not_found:
    case ErrorCode::endpoint_not_found:
      return 404;
    case ErrorCode::method_not_allowed:
      return 405;
    case ErrorCode::transfer_timeout:
      return 408;
    case ErrorCode::wrong_state:
    case ErrorCode::recording_exists:
    case ErrorCode::stream_exists:
      return 409;
    case ErrorCode::stream_not_found:
    case ErrorCode::delivery_not_found:
      return 404;
    case ErrorCode::payload_too_large:
      return 413;
    case ErrorCode::unsupported_media_type:
      return 415;
    case ErrorCode::allowlist_blocked:
      return 403;
    case ErrorCode::playback_failed:
    case ErrorCode::recording_failed:
      return 422;
    case ErrorCode::tts_unavailable:
      return 501;
    case ErrorCode::ari_error:
    case ErrorCode::tts_failed:
    case ErrorCode::asr_failed:
    case ErrorCode::stream_connect_failed:
      return 502;
    case ErrorCode::ari_unavailable:
    case ErrorCode::tts_busy:
    case ErrorCode::asr_unavailable:
    case ErrorCode::store_unavailable:
      return 503;
    case ErrorCode::ari_timeout:
    case ErrorCode::tts_timeout:
    case ErrorCode::stream_timeout:
      return 504;
    case ErrorCode::voice_unavailable:
      return 501;
    case ErrorCode::media_store_full:
      return 507;
    case ErrorCode::internal:
      return 500;
  }
  return 500;
}

net::Response to_response(const Error& e) {
  const int status = http_status(e.code);
  if (!e.internal_detail.empty()) {
    if (status >= 500)
      log::warn("{} ({}): {}", error_code_name(e.code), status, e.internal_detail);
    else
      log::debug("{} ({}): {}", error_code_name(e.code), status, e.internal_detail);
  }
  Error shown = e;
  if (shown.message.empty()) {
    shown.message = status >= 500 ? "Internal error" : "Request failed";
  }
  // A 500 never carries details: they could only be internal.
  if (status == 500) {
    shown.details.clear();
    shown.extra.clear();
  }
  return net::Response::json(status, api::error_body(shown));
}

Error validation_error(std::vector<std::string> details) {
  Error e(ErrorCode::validation_failed, "Invalid request body");
  e.details = std::move(details);
  return e;
}

net::Response protocol_error(int status, std::string_view message) {
  std::string_view code;
  switch (status) {
    case 400:
      code = "BAD_REQUEST";
      break;
    case 404:
      code = "NOT_FOUND";
      break;
    case 405:
      code = "METHOD_NOT_ALLOWED";
      break;
    case 408:
      code = "REQUEST_TIMEOUT";
      break;
    case 413:
      code = "PAYLOAD_TOO_LARGE";
      break;
    case 415:
      code = "UNSUPPORTED_MEDIA_TYPE";
      break;
    case 426:
      code = "UPGRADE_REQUIRED";
      break;
    case 431:
      code = "HEADERS_TOO_LARGE";
      break;
    case 503:
      code = "TOO_MANY_CONNECTIONS";  // the only 503 the HTTP layer itself sends
      break;
    default:
      code = status >= 500 ? "INTERNAL" : "BAD_REQUEST";
      break;
  }
  json::Writer w;
  w.begin_object().field("error", message).field("code", code).end_object();
  return net::Response::json(status, w.str());
}

}  // namespace aa::http
