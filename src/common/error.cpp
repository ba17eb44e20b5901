#include "common/error.hpp"

namespace aa {

std::string_view error_code_name(ErrorCode c) {
  switch (c) {
    case ErrorCode::validation_failed:
      return "VALIDATION_FAILED";
    case ErrorCode::bad_json:
      return "BAD_JSON";
    case ErrorCode::unauthorized:
      return "UNAUTHORIZED";
    case ErrorCode::not_found:
      return "NOT_FOUND";
    case ErrorCode::call_not_found:
      return "CALL_NOT_FOUND";
    case ErrorCode::bridge_not_found:
      return "BRIDGE_NOT_FOUND";
    case ErrorCode::recording_not_found:
      return "RECORDING_NOT_FOUND";
    case ErrorCode::endpoint_not_found:
      return "ENDPOINT_NOT_FOUND";
    case ErrorCode::method_not_allowed:
      return "METHOD_NOT_ALLOWED";
    case ErrorCode::transfer_timeout:
      return "TRANSFER_TIMEOUT";
    case ErrorCode::wrong_state:
      return "WRONG_STATE";
    case ErrorCode::recording_exists:
      return "RECORDING_EXISTS";
    case ErrorCode::payload_too_large:
      return "PAYLOAD_TOO_LARGE";
    case ErrorCode::unsupported_media_type:
      return "UNSUPPORTED_MEDIA_TYPE";
    case ErrorCode::playback_failed:
      return "PLAYBACK_FAILED";
    case ErrorCode::recording_failed:
      return "RECORDING_FAILED";
    case ErrorCode::ari_error:
      return "ARI_ERROR";
    case ErrorCode::ari_unavailable:
      return "ARI_UNAVAILABLE";
    case ErrorCode::ari_timeout:
      return "ARI_TIMEOUT";
    case ErrorCode::allowlist_blocked:
      return "ALLOWLIST_BLOCKED";
    case ErrorCode::voice_unavailable:
      return "VOICE_UNAVAILABLE";
    case ErrorCode::media_store_full:
      return "MEDIA_STORE_FULL";
    case ErrorCode::tts_unavailable:
      return "TTS_UNAVAILABLE";
    case ErrorCode::tts_failed:
      return "TTS_FAILED";
    case ErrorCode::tts_busy:
      return "TTS_BUSY";
    case ErrorCode::tts_timeout:
      return "TTS_TIMEOUT";
    case ErrorCode::asr_unavailable:
      return "ASR_UNAVAILABLE";
    case ErrorCode::asr_failed:
      return "ASR_FAILED";
    case ErrorCode::stream_exists:
      return "STREAM_EXISTS";
    case ErrorCode::stream_not_found:
      return "STREAM_NOT_FOUND";
    case ErrorCode::stream_connect_failed:
      return "STREAM_CONNECT_FAILED";
    case ErrorCode::stream_timeout:
      return "STREAM_TIMEOUT";
    case ErrorCode::delivery_not_found:
      return "DELIVERY_NOT_FOUND";
    case ErrorCode::store_unavailable:
      return "STORE_UNAVAILABLE";
    case ErrorCode::internal:
      return "INTERNAL";
  }
  return "INTERNAL";
}

}  // namespace aa
