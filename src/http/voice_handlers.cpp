// The voice routes of the HTTP API (speak, barge-in, audio capture, allowlist):
// validate → call the voice/calls domain → map the result. Registered by Api.
#include "http/voice_handlers.hpp"

#include <cmath>

#include "api/wire.hpp"
#include "calls/allowlist.hpp"
#include "common/json.hpp"
#include "http/errors.hpp"
#include "http/validation.hpp"
#include "voice/voice_manager.hpp"

namespace aa::http {

namespace {

net::Response json_response(int status, const json::Writer& w) {
  return net::Response::json(status, w.str());
}

/// UTF-8 code points in `s` (the body is valid UTF-8 by now).
size_t code_points(std::string_view s) {
  size_t n = 0;
  for (unsigned char c : s)
    if ((c & 0xC0) != 0x80) ++n;
  return n;
}

void write_speak(json::Writer& w, const voice::SpeakResult& r) {
  w.field("speakId", r.speak_id)
      .field("text", r.text)
      .field("voice", r.voice)
      .field("language", r.language)
      .key("durationSeconds")
      .number(std::round(r.duration_s * 1000.0) / 1000.0);
  if (r.interrupted) w.field_bool("interrupted", true);
}

void write_list(json::Writer& w, std::string_view key, const std::vector<std::string>& v) {
  w.key(key).begin_array();
  for (const auto& s : v) w.string(s);
  w.end_array();
}

}  // namespace

Outcome<voice::SpeakRequest> parse_speak(const net::Request& req) {
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  FieldReader f(*doc);
  voice::SpeakRequest out;
  if (auto t = f.string("text", true, true, 4 * 5000)) {
    const size_t n = code_points(*t);
    if (n > 5000)
      f.problem("text", "must be at most 5000 characters (got " + std::to_string(n) + ")");
    out.text = std::move(*t);
  }
  if (auto v = f.string("voice", false, false, 64)) out.voice = std::move(*v);
  if (auto l = f.string("language", false, false, 64)) out.language = std::move(*l);
  if (const json::Value* s = f.raw("speed")) {
    if (!s->IsNumber()) {
      f.problem("speed", "must be a number between 0.25 and 4");
    } else {
      const double d = s->GetDouble();
      if (!std::isfinite(d) || d < 0.25 || d > 4.0)
        f.problem("speed", "must be a number between 0.25 and 4");
      else
        out.speed = d;
    }
  }
  if (auto w = f.boolean("wait", false)) out.wait = *w;
  if (auto i = f.boolean("interrupt", false)) out.interrupt = *i;
  if (!f.ok()) return f.error();
  return out;
}

awaitable<net::Response> handle_speak(voice::VoiceManager* vm, net::Request& req,
                                      std::string call_id) {
  auto parsed = parse_speak(req);
  if (!parsed) co_return to_response(parsed.error());
  if (!vm) co_return to_response(Error(ErrorCode::voice_unavailable, "Speech is not configured"));
  voice::SpeakRequest sr = std::move(*parsed);
  const bool wait = sr.wait;
  auto res = co_await vm->speak(std::move(call_id), std::move(sr));
  if (!res) co_return to_response(res.error());
  json::Writer w;
  w.begin_object().field("status", wait && res->finished ? "ok" : "speaking");
  write_speak(w, *res);
  w.end_object();
  co_return json_response(wait && res->finished ? 200 : 202, w);
}

awaitable<net::Response> handle_speak_stop(voice::VoiceManager* vm, net::Request&,
                                           std::string call_id) {
  if (!vm) co_return to_response(Error(ErrorCode::voice_unavailable, "Speech is not configured"));
  auto res = co_await vm->stop_speaking(std::move(call_id));
  if (!res) co_return to_response(res.error());
  json::Writer w;
  w.begin_object()
      .field("status", "stopped")
      .field_int("interrupted", static_cast<int64_t>(res->interrupted))
      .end_object();
  co_return json_response(200, w);
}

awaitable<net::Response> handle_audio_start(voice::VoiceManager* vm, net::Request&,
                                            std::string call_id) {
  if (!vm)
    co_return to_response(Error(ErrorCode::voice_unavailable, "Audio capture is not configured"));
  auto res = co_await vm->start_capture(std::move(call_id));
  if (!res) co_return to_response(res.error());
  json::Writer w;
  w.begin_object().key("audioCapture");
  api::write_audio_capture(w, *res);
  w.end_object();
  co_return json_response(200, w);
}

awaitable<net::Response> handle_audio_stop(voice::VoiceManager* vm, net::Request&,
                                           std::string call_id) {
  if (!vm)
    co_return to_response(Error(ErrorCode::voice_unavailable, "Audio capture is not configured"));
  auto res = co_await vm->stop_capture(std::move(call_id));
  if (!res) co_return to_response(res.error());
  json::Writer w;
  w.begin_object().field("status", "stopped").end_object();
  co_return json_response(200, w);
}

net::Response allowlist_body(const calls::AllowlistFile* file, std::string_view status) {
  json::Writer w;
  w.begin_object();
  if (!status.empty()) w.field("status", status);
  static const calls::AllowlistEntries kNone;
  const auto& e = file ? file->list().entries() : kNone;
  write_list(w, "inbound", e.inbound);
  write_list(w, "outbound", e.outbound);
  w.field("note", "Empty arrays = allow all (open mode)");
  w.key("file");
  if (file && !file->path().empty())
    w.string(file->path());
  else
    w.null();
  w.end_object();
  return json_response(200, w);
}

net::Response handle_allowlist_reload(calls::AllowlistFile* file) {
  if (!file || file->path().empty())
    return to_response(
        Error(ErrorCode::not_found, "No allowlist file is configured (set ALLOWLIST_FILE)"));
  auto st = file->load();
  if (!st) return to_response(st.error());
  return allowlist_body(file, "reloaded");
}

}  // namespace aa::http
