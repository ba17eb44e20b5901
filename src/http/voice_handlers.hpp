#pragma once
// Internal to src/http: the voice and allowlist routes (see voice_handlers.cpp).
#include <string>

#include "common/asio.hpp"
#include "common/error.hpp"
#include "net/http_types.hpp"

namespace aa::voice {
class VoiceManager;
struct SpeakRequest;
}  // namespace aa::voice
namespace aa::calls {
class AllowlistFile;
}

namespace aa::http {

/// POST /calls/:id/speak body: {text 1–5000 chars, voice?, language?, speed? 0.25–4, wait?,
/// interrupt?}.
Outcome<voice::SpeakRequest> parse_speak(const net::Request& req);

awaitable<net::Response> handle_speak(voice::VoiceManager* vm, net::Request& req,
                                      std::string call_id);
awaitable<net::Response> handle_speak_stop(voice::VoiceManager* vm, net::Request& req,
                                           std::string call_id);
awaitable<net::Response> handle_audio_start(voice::VoiceManager* vm, net::Request& req,
                                            std::string call_id);
awaitable<net::Response> handle_audio_stop(voice::VoiceManager* vm, net::Request& req,
                                           std::string call_id);
/// GET /allowlist (status "") and the body of a successful reload.
net::Response allowlist_body(const calls::AllowlistFile* file, std::string_view status);
net::Response handle_allowlist_reload(calls::AllowlistFile* file);

}  // namespace aa::http
