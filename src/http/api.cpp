#include "http/api.hpp"

#include <filesystem>
#include <limits>
#include <system_error>

#include "api/wire.hpp"
#include "calls/call_manager.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "http/errors.hpp"
#include "http/openapi.hpp"
#include "http/store_handlers.hpp"
#include "http/stream_handlers.hpp"
#include "http/validation.hpp"
#include "http/voice_handlers.hpp"
#include "media/media_store.hpp"
#include "sinks/event_hub.hpp"
#include "store/event_store.hpp"
#include "stream/stream_manager.hpp"

namespace aa::http {

namespace {

net::Response json_response(int status, const json::Writer& w) {
  return net::Response::json(status, w.str());
}

net::Response status_ok(std::string_view status) {
  json::Writer w;
  w.begin_object().field("status", status).end_object();
  return json_response(200, w);
}

void write_recording(json::Writer& w, const ari::StoredRecording& r) {
  w.begin_object().field("name", r.name).field("format", r.format).end_object();
}

std::string content_type_for_format(std::string_view format) {
  if (format == "wav" || format == "wav16") return "audio/wav";
  if (format == "gsm") return "audio/gsm";
  if (format == "ulaw") return "audio/basic";
  if (format == "alaw") return "audio/x-alaw-basic";
  if (format == "sln" || format == "sln16") return "audio/L16";
  return "application/octet-stream";
}

bool is_media_path(std::string_view path) {
  return path.substr(0, 7) == "/media/";
}

/// The answer of an operation that plays (play, play/file), from its outcome:
/// 200 every item done, 202 still playing (wait:false or the wait limit), 422
/// PLAYBACK_FAILED, 409 the call ended first — each with the per-item results.
net::Response play_response(const calls::PlayResult& r, const std::string* sound_name) {
  using calls::PlayOutcome;
  if (r.outcome == PlayOutcome::done || r.outcome == PlayOutcome::pending) {
    const bool done = r.outcome == PlayOutcome::done;
    json::Writer w;
    w.begin_object().field("status", done ? "ok" : "playing");
    if (sound_name) w.field("soundName", *sound_name);
    w.key("playbackIds").begin_array();
    for (const auto& pb : r.playback_ids) w.string(pb);
    w.end_array().key("playbacks");
    api::write_playbacks(w, r.items);
    w.end_object();
    return json_response(done ? 200 : 202, w);
  }
  const bool failed = r.outcome == PlayOutcome::failed;
  Error e(failed ? ErrorCode::playback_failed : ErrorCode::wrong_state,
          failed ? "Asterisk could not play every item"
                 : "The call ended before every item was played");
  for (size_t i = 0; i < r.items.size(); ++i) {
    const auto& item = r.items[i];
    if (item.status != calls::PlaybackStatus::done)
      e.details.push_back("playbacks[" + std::to_string(i) + "] " + item.media + ": " +
                          std::string(calls::to_string(item.status)));
  }
  if (sound_name) {
    json::Writer name;
    name.string(*sound_name);
    e.extra.emplace_back("soundName", name.str());
  }
  json::Writer ids;
  ids.begin_array();
  for (const auto& pb : r.playback_ids) ids.string(pb);
  ids.end_array();
  e.extra.emplace_back("playbackIds", ids.str());
  e.extra.emplace_back("playbacks", api::playbacks_json(r.items));
  return to_response(e);
}

/// A temporary file that is deleted when the last reference goes.
struct TempFile {
  std::string path;
  ~TempFile() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

}  // namespace

// The route handlers. Coroutines take references that outlive them (the
// request and the params live in the server's and the router's frames), and
// name every awaited value before using it (g++ 12, see docs/CODING.md).
struct Api::Handlers {
  using Req = net::Request;
  using P = PathParams;

  static StoreAccess access(Api& api) {
    return {api.opts_.store, api.opts_.pool, api.opts_.webhooks};
  }

  // ---- service ----
  static awaitable<net::Response> index(Api& api, Req&, const P&) {
    json::Writer w;
    w.begin_object()
        .field("name", api.opts_.name)
        .field("description", api.opts_.description)
        .field("version", api.opts_.version);
    w.key("endpoints").begin_object();
    for (const auto& r : api.router_.routes()) w.field(Router::listing_key(r), r.description);
    w.end_object();
    w.end_object();
    co_return json_response(200, w);
  }

  static awaitable<net::Response> health(Api& api, Req&, const P&) {
    const bool ari = api.calls_.ari_connected();
    const auto up = std::chrono::duration_cast<std::chrono::seconds>(
        std::chrono::steady_clock::now() - api.started_);
    // The store failing to write (disk full, read-only) degrades the service too.
    const bool store_ok = !api.opts_.store || api.opts_.store->healthy();
    json::Writer w;
    w.begin_object()
        .field("status", ari && store_ok ? "ok" : "degraded")
        .field_bool("ari", ari)
        .field_int("activeCalls", static_cast<int64_t>(api.calls_.active_count()))
        .field_int("uptimeSeconds", up.count());
    if (api.opts_.store) {
      w.field_bool("store", store_ok);
      if (!store_ok) w.field("storeError", api.opts_.store->last_error());
    }
    w.end_object();
    co_return json_response(200, w);
  }

  // ---- the durable store ----
  static awaitable<net::Response> event_log(Api& api, Req& req, const P&) {
    return handle_event_log(access(api), req);
  }
  static awaitable<net::Response> call_history(Api& api, Req& req, const P&) {
    return handle_call_history(access(api), req);
  }
  static awaitable<net::Response> transcript(Api& api, Req&, const P& p) {
    const std::string id(p["id"]);
    const bool known = api.calls_.get_call(id).ok();
    return handle_transcript(access(api), id, known);
  }
  static awaitable<net::Response> deliveries(Api& api, Req& req, const P&) {
    return handle_deliveries(access(api), req);
  }
  static awaitable<net::Response> delivery_retry(Api& api, Req&, const P& p) {
    std::string id(p["id"]);
    return handle_delivery_retry(access(api), std::move(id));
  }

  static awaitable<net::Response> endpoints(Api& api, Req&, const P&) {
    auto res = co_await api.calls_.list_endpoints();
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object().key("endpoints").begin_array();
    for (const auto& e : *res) ari::write_json(w, e);
    w.end_array().end_object();
    co_return json_response(200, w);
  }

  // ---- calls ----
  static awaitable<net::Response> list_calls(Api& api, Req&, const P&) {
    json::Writer w;
    w.begin_object().key("calls").begin_array();
    for (const auto& c : api.calls_.active_calls()) api::write_call(w, c);
    w.end_array().end_object();
    co_return json_response(200, w);
  }

  static awaitable<net::Response> get_call(Api& api, Req&, const P& p) {
    auto res = api.calls_.get_call(p["id"]);
    if (!res && res.error().code == ErrorCode::call_not_found) {
      // Ended longer ago than the live table keeps: the history has it.
      std::string id(p["id"]);
      const StoreAccess sa = access(api);
      auto old = co_await history_call_response(sa, std::move(id));
      if (old) co_return std::move(*old);
    }
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object().key("call");
    api::write_call(w, *res);
    w.end_object();
    co_return json_response(200, w);
  }

  static awaitable<net::Response> originate(Api& api, Req& req, const P&) {
    auto parsed = parse_originate(req);
    if (!parsed) co_return to_response(parsed.error());
    auto stream = parse_originate_stream(req);
    if (!stream) co_return to_response(stream.error());
    if (*stream && !api.opts_.streams)
      co_return to_response(Error(ErrorCode::voice_unavailable, "Streams are not enabled"));
    calls::OriginateRequest o = std::move(*parsed);
    auto res = co_await api.calls_.originate(std::move(o));
    if (!res) co_return to_response(res.error());
    // Streams from the moment the callee answers.
    if (*stream) api.opts_.streams->arm(res->id, std::move(**stream));
    json::Writer w;
    w.begin_object().key("call");
    api::write_call(w, *res);
    w.field("callId", res->id);  // compat
    w.end_object();
    co_return json_response(201, w);
  }

  static awaitable<net::Response> hangup(Api& api, Req& req, const P& p) {
    auto parsed = parse_hangup(req);
    if (!parsed) co_return to_response(parsed.error());
    std::string id = p["id"];
    std::string reason = std::move(*parsed);
    auto res = co_await api.calls_.hangup(id, std::move(reason));
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object().field("status", "hungup").field("callId", id).end_object();
    co_return json_response(200, w);
  }

  static awaitable<net::Response> play(Api& api, Req& req, const P& p) {
    auto parsed = parse_play(req);
    if (!parsed) co_return to_response(parsed.error());
    std::string id = p["id"];
    calls::PlayRequest pr = std::move(*parsed);
    auto res = co_await api.calls_.play(std::move(id), std::move(pr));
    if (!res) co_return to_response(res.error());
    co_return play_response(*res, nullptr);
  }

  static awaitable<net::Response> play_file(Api& api, Req& req, const P& p) {
    if (auto st = check_upload_content_type(req); !st) co_return to_response(st.error());
    if (req.body.size() > api.opts_.max_upload)
      co_return to_response(
          Error(ErrorCode::payload_too_large,
                "The WAV file is larger than " + std::to_string(api.opts_.max_upload) + " bytes"));
    // The domain converts the WAV (400 when it cannot) before it looks at the call.
    bool wait = true;
    if (auto w = req.param("wait")) {
      if (*w == "false" || *w == "0") {
        wait = false;
      } else if (*w != "true" && *w != "1") {
        Error e(ErrorCode::validation_failed, "Invalid query parameter");
        e.details.push_back("wait: must be true or false");
        co_return to_response(e);
      }
    }
    std::string id = p["id"];
    std::string name = upload_file_name(req);
    std::string bytes = std::move(req.body);
    auto res =
        co_await api.calls_.play_file(std::move(id), std::move(bytes), std::move(name), wait);
    if (!res) {
      net::Response r = to_response(res.error());
      if (res.error().code == ErrorCode::media_store_full)
        r.headers.push_back({"Retry-After", std::to_string(api.media_.retry_after().count())});
      co_return r;
    }
    co_return play_response(res->play, &res->sound_name);
  }

  static awaitable<net::Response> record(Api& api, Req& req, const P& p) {
    auto parsed = parse_record(req);
    if (!parsed) co_return to_response(parsed.error());
    std::string id = p["id"];
    calls::RecordRequest rr = std::move(*parsed);
    auto res = co_await api.calls_.record(std::move(id), std::move(rr));
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object()
        .field("recordingName", res->name)
        .field("state", res->started ? "recording" : "queued")
        .end_object();
    co_return json_response(201, w);
  }

  // ---- voice (http/voice_handlers.cpp) ----
  static awaitable<net::Response> speak(Api& api, Req& req, const P& p) {
    co_return co_await handle_speak(api.opts_.voice, req, p["id"]);
  }
  static awaitable<net::Response> stream_start(Api& api, Req& req, const P& p) {
    co_return co_await handle_stream_start(api.opts_.streams, req, p["id"]);
  }
  static awaitable<net::Response> stream_stop(Api& api, Req& req, const P& p) {
    co_return co_await handle_stream_stop(api.opts_.streams, req, p["id"]);
  }
  static awaitable<net::Response> speak_stop(Api& api, Req& req, const P& p) {
    co_return co_await handle_speak_stop(api.opts_.voice, req, p["id"]);
  }
  static awaitable<net::Response> audio_start(Api& api, Req& req, const P& p) {
    co_return co_await handle_audio_start(api.opts_.voice, req, p["id"]);
  }
  static awaitable<net::Response> audio_stop(Api& api, Req& req, const P& p) {
    co_return co_await handle_audio_stop(api.opts_.voice, req, p["id"]);
  }
  static awaitable<net::Response> allowlist(Api& api, Req&, const P&) {
    co_return allowlist_body(api.opts_.allowlist, "");
  }
  static awaitable<net::Response> allowlist_reload(Api& api, Req&, const P&) {
    co_return handle_allowlist_reload(api.opts_.allowlist);
  }

  static awaitable<net::Response> dtmf(Api& api, Req& req, const P& p) {
    auto parsed = parse_dtmf(req);
    if (!parsed) co_return to_response(parsed.error());
    std::string id = p["id"];
    std::string digits = *parsed;
    auto res = co_await api.calls_.send_dtmf(id, digits);
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object()
        .field("status", "ok")
        .field("callId", id)
        .field("digits", *parsed)
        .end_object();
    co_return json_response(200, w);
  }

  static awaitable<net::Response> transfer(Api& api, Req& req, const P& p) {
    auto parsed = parse_transfer(req);
    if (!parsed) co_return to_response(parsed.error());
    std::string id = p["id"];
    calls::TransferRequest tr = std::move(*parsed);
    auto res = co_await api.calls_.transfer(std::move(id), std::move(tr));
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object()
        .field("bridgeId", res->bridge_id)
        .field("newCallId", res->new_call_id)
        .end_object();
    co_return json_response(201, w);
  }

  // ---- bridges ----
  static awaitable<net::Response> create_bridge(Api& api, Req& req, const P&) {
    auto parsed = parse_bridge_create(req);
    if (!parsed) co_return to_response(parsed.error());
    std::string name = std::move(*parsed);
    auto res = co_await api.calls_.create_bridge(std::move(name));
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object().key("bridge");
    api::write_bridge(w, *res);
    w.end_object();
    co_return json_response(201, w);
  }

  static awaitable<net::Response> list_bridges(Api& api, Req&, const P&) {
    auto res = co_await api.calls_.list_bridges();
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object().key("bridges").begin_array();
    for (const auto& b : res->asterisk) ari::write_json(w, b);
    w.end_array().key("tracked").begin_array();
    for (const auto& b : res->tracked) api::write_bridge(w, b);
    w.end_array().end_object();
    co_return json_response(200, w);
  }

  static awaitable<net::Response> get_bridge(Api& api, Req&, const P& p) {
    std::string id = p["id"];
    auto res = co_await api.calls_.get_bridge(std::move(id));
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object().key("bridge");
    ari::write_json(w, res->asterisk);
    w.key("tracked");
    if (res->tracked)
      api::write_bridge(w, *res->tracked);
    else
      w.null();
    w.end_object();
    co_return json_response(200, w);
  }

  static awaitable<net::Response> destroy_bridge(Api& api, Req&, const P& p) {
    std::string id = p["id"];
    auto res = co_await api.calls_.destroy_bridge(std::move(id));
    if (!res) co_return to_response(res.error());
    co_return status_ok("destroyed");
  }

  static awaitable<net::Response> add_channel(Api& api, Req& req, const P& p) {
    auto parsed = parse_bridge_channel(req);
    if (!parsed) co_return to_response(parsed.error());
    std::string id = p["id"];
    std::string call_id = std::move(*parsed);
    auto res = co_await api.calls_.add_to_bridge(std::move(id), std::move(call_id));
    if (!res) co_return to_response(res.error());
    co_return status_ok("ok");
  }

  static awaitable<net::Response> remove_channel(Api& api, Req& req, const P& p) {
    auto parsed = parse_bridge_channel(req);
    if (!parsed) co_return to_response(parsed.error());
    std::string id = p["id"];
    std::string call_id = std::move(*parsed);
    auto res = co_await api.calls_.remove_from_bridge(std::move(id), std::move(call_id));
    if (!res) co_return to_response(res.error());
    co_return status_ok("ok");
  }

  // ---- recordings ----
  static awaitable<net::Response> list_recordings(Api& api, Req&, const P&) {
    auto res = co_await api.calls_.list_recordings();
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object().key("recordings").begin_array();
    for (const auto& r : *res) write_recording(w, r);
    w.end_array().end_object();
    co_return json_response(200, w);
  }

  static awaitable<net::Response> get_recording(Api& api, Req&, const P& p) {
    std::string name = p["name"];
    auto res = co_await api.calls_.get_recording(std::move(name));
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object().key("recording");
    write_recording(w, *res);
    w.end_object();
    co_return json_response(200, w);
  }

  static awaitable<net::Response> recording_file(Api& api, Req&, const P& p) {
    std::string name = p["name"];
    namespace fs = std::filesystem;
    std::error_code ec;
    fs::path dir =
        api.opts_.temp_dir.empty() ? fs::temp_directory_path(ec) : fs::path(api.opts_.temp_dir);
    if (ec) dir = "/tmp";
    auto tmp = std::make_shared<TempFile>();
    tmp->path = (dir / ("aa-recording-" + random_hex(12))).string();
    std::string path = tmp->path;
    auto res = co_await api.calls_.download_recording(name, std::move(path));
    if (!res) co_return to_response(res.error());
    net::Response r;
    r.status = 200;
    r.content_type = *res;
    if (r.content_type.empty() || r.content_type == "application/octet-stream") {
      // Asterisk did not say: derive it from the stored recording's format.
      auto meta = co_await api.calls_.get_recording(name);
      if (meta) r.content_type = content_type_for_format(meta->format);
      if (r.content_type.empty()) r.content_type = "application/octet-stream";
    }
    r.file_path = tmp->path;
    r.keep_until_sent = tmp;  // deleted once the response is written
    co_return r;
  }

  static awaitable<net::Response> copy_recording(Api& api, Req& req, const P& p) {
    auto parsed = parse_copy(req);
    if (!parsed) co_return to_response(parsed.error());
    std::string name = p["name"];
    std::string dest = std::move(*parsed);
    auto res = co_await api.calls_.copy_recording(std::move(name), std::move(dest));
    if (!res) co_return to_response(res.error());
    json::Writer w;
    w.begin_object().key("recording");
    write_recording(w, *res);
    w.end_object();
    co_return json_response(201, w);
  }

  static awaitable<net::Response> delete_recording(Api& api, Req& req, const P& p) {
    std::string name = p["name"];
    auto stored = req.param("stored");
    const bool delete_stored = stored && (*stored == "true" || *stored == "1");
    if (delete_stored) {
      auto res = co_await api.calls_.delete_recording(std::move(name));
      if (!res) co_return to_response(res.error());
      co_return status_ok("deleted");
    }
    auto res = co_await api.calls_.stop_recording(std::move(name));
    if (!res) co_return to_response(res.error());
    co_return status_ok("stopped");
  }

  // ---- media for Asterisk ----
  static awaitable<net::Response> media_file(Api& api, Req&, const P& p) {
    auto stored = api.media_.find(p["token"], p["file"]);
    if (!stored) co_return to_response(Error(ErrorCode::not_found, "No such media file"));
    net::Response r;
    r.status = 200;
    r.content_type = std::string(media::content_type_for_asterisk(stored->extension()));
    r.file_path = stored->disk_path;  // streamed from disk by the server
    r.headers.push_back({"Cache-Control", "no-store"});
    co_return r;
  }

  static awaitable<net::Response> openapi(Api&, Req&, const P&) {
    co_return net::Response::json(200, std::string(openapi_json()));
  }

  static awaitable<net::Response> metrics(Api& api, Req&, const P&) {
    if (!api.opts_.metrics_text)
      co_return to_response(Error(ErrorCode::not_found, "Metrics are not enabled"));
    net::Response r;
    r.status = 200;
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    r.body = api.opts_.metrics_text();
    r.headers.push_back({"Cache-Control", "no-store"});
    co_return r;
  }

  static awaitable<net::Response> stream_without_upgrade(Api&, Req&, const P&) {
    net::Response r = protocol_error(426, "GET /calls/:id/stream needs a WebSocket upgrade");
    r.headers.push_back({"Upgrade", "websocket"});
    co_return r;
  }

  static awaitable<net::Response> events_without_upgrade(Api&, Req&, const P&) {
    net::Response r = protocol_error(426, "GET /events needs a WebSocket upgrade");
    r.headers.push_back({"Upgrade", "websocket"});
    co_return r;
  }
};

Api::Api(calls::CallManager& calls, media::MediaStore& media, sinks::EventHub& hub, ApiOptions opts)
    : calls_(calls),
      media_(media),
      hub_(hub),
      opts_(std::move(opts)),
      auth_(opts_.api_key),
      started_(std::chrono::steady_clock::now()) {
  hub_.set_snapshot_source([this] { return calls_.active_calls(); });
  build_routes();
}

Api::~Api() {
  hub_.set_snapshot_source(nullptr);
}

void Api::build_routes() {
  using H = Handlers;
  auto bind = [this](awaitable<net::Response> (*fn)(Api&, net::Request&, const PathParams&)) {
    return [this, fn](net::Request& req, const PathParams& p) { return fn(*this, req, p); };
  };
  auto& r = router_;
  r.set_max_param_bytes(limits::kPathParam);
  r.add("GET", "/", "API overview with all available endpoints", bind(&H::index));
  r.add("GET", "/health", "Health check: ARI connection status, active call count",
        bind(&H::health));
  r.add("GET", "/metrics", "Prometheus metrics (text exposition format)", bind(&H::metrics));
  r.add("GET", "/openapi.json", "OpenAPI 3.1 document of this API", bind(&H::openapi));
  r.add("GET", "/endpoints", "List SIP/PJSIP endpoints known to Asterisk", bind(&H::endpoints));
  r.add("GET", "/calls", "List active calls", bind(&H::list_calls));
  r.add("POST", "/calls", "Originate an outbound call", bind(&H::originate));
  r.add("GET", "/calls/history",
        "Call history (ended and active calls within retention), newest first, paginated",
        bind(&H::call_history));
  r.add("GET", "/calls/:id", "Get call details (also ended calls within retention)",
        bind(&H::get_call));
  r.add("GET", "/calls/:id/transcript",
        "The call's final transcriptions and what was spoken to it, in order",
        bind(&H::transcript));
  r.add("DELETE", "/calls/:id", "Hang up a call", bind(&H::hangup));
  r.add("POST", "/calls/:id/play", "Play audio (single sound or sequential playlist)",
        bind(&H::play));
  r.add("POST", "/calls/:id/play/file", "Upload and play a raw WAV file", bind(&H::play_file));
  r.add("POST", "/calls/:id/record", "Start recording", bind(&H::record));
  r.add("POST", "/calls/:id/dtmf", "Send DTMF tones", bind(&H::dtmf));
  r.add("POST", "/calls/:id/transfer", "Transfer call to another endpoint", bind(&H::transfer));
  r.add("POST", "/calls/:id/speak",
        "Speak text to the caller (TTS); answers once heard, or 202 with wait:false",
        bind(&H::speak));
  r.add("POST", "/calls/:id/speak/stop", "Barge-in: stop speaking and flush queued speech",
        bind(&H::speak_stop));
  r.add("POST", "/calls/:id/audio/start",
        "Start audio capture (caller audio, transcription); idempotent", bind(&H::audio_start));
  r.add("POST", "/calls/:id/audio/stop", "Stop audio capture", bind(&H::audio_stop));
  r.add("POST", "/calls/:id/stream",
        "Stream the call to an agent server (Twilio Media Streams protocol)",
        bind(&H::stream_start));
  r.add("DELETE", "/calls/:id/stream", "Stop the call's agent stream", bind(&H::stream_stop));
  r.add("GET", "/calls/:id/stream", "An agent's own stream of the call (WebSocket upgrade)",
        bind(&H::stream_without_upgrade));
  r.add_listing("WS", "/calls/:id/stream",
                "An agent's own stream of the call (WebSocket upgrade, Twilio Media Streams)");
  r.add("GET", "/allowlist", "Inbound and outbound allowlists", bind(&H::allowlist));
  r.add("POST", "/allowlist/reload", "Re-read the allowlist file", bind(&H::allowlist_reload));
  r.add("POST", "/bridges", "Create a mixing bridge", bind(&H::create_bridge));
  r.add("GET", "/bridges", "List all bridges", bind(&H::list_bridges));
  r.add("GET", "/bridges/:id", "Get bridge details", bind(&H::get_bridge));
  r.add("DELETE", "/bridges/:id", "Destroy a bridge", bind(&H::destroy_bridge));
  r.add("POST", "/bridges/:id/addChannel", "Add a call to a bridge", bind(&H::add_channel));
  r.add("POST", "/bridges/:id/removeChannel", "Remove a call from a bridge",
        bind(&H::remove_channel));
  r.add("GET", "/recordings", "List all stored recordings", bind(&H::list_recordings));
  r.add("GET", "/recordings/:name", "Get recording metadata", bind(&H::get_recording));
  r.add("GET", "/recordings/:name/file", "Download recording audio", bind(&H::recording_file));
  r.add("POST", "/recordings/:name/copy", "Copy a stored recording", bind(&H::copy_recording));
  r.add("DELETE", "/recordings/:name", "Stop live recording, or delete stored (?stored=true)",
        bind(&H::delete_recording));
  r.add("GET", "/media/:token/:file",
        "Uploaded audio fetched by Asterisk (no API key: the token is the secret)",
        bind(&H::media_file));
  r.add("GET", "/events/log", "Read the durable event log (since a seq, by call)",
        bind(&H::event_log));
  r.add("GET", "/webhooks/deliveries", "Webhook deliveries that are pending or failed",
        bind(&H::deliveries));
  r.add("POST", "/webhooks/deliveries/:id/retry", "Deliver a webhook again (now)",
        bind(&H::delivery_retry));
  r.add("GET", "/events", "Real-time call event stream (WebSocket upgrade)",
        bind(&H::events_without_upgrade));
  // The WebSocket itself, listed as its own entry in GET / ("WS   /events").
  r.add_listing("WS", "/events",
                "Real-time call event stream: a snapshot, then one message per event");
}

awaitable<net::Response> Api::handle(net::Request& req) {
  // Open without a key: the overview, and the media files Asterisk fetches (the token is
  // their secret).
  const bool read_only = req.method == "GET" || req.method == "HEAD";
  const bool open = read_only && (req.path == "/" || is_media_path(req.path));
  if (!open) {
    if (auto refused = auth_.check(req)) {
      // Label the refusal with its route for metrics (the router never sees it).
      auto m = router_.match(req.method, req.path);
      if (m.route) req.route = m.route->pattern;
      co_return std::move(*refused);
    }
  }
  net::Response res;
  try {
    res = co_await router_.dispatch(req);
  } catch (const std::exception& e) {
    res = to_response(
        Error(ErrorCode::internal, "Internal error", std::string("handler threw: ") + e.what()));
  }
  co_return res;
}

size_t Api::body_limit(const net::Request& req) const {
  // POST /calls/:id/play/file, checked without allocating (every request asks).
  constexpr std::string_view prefix = "/calls/", suffix = "/play/file";
  const std::string_view path = req.path;
  if (req.method == "POST" && path.size() > prefix.size() + suffix.size() &&
      path.starts_with(prefix) && path.ends_with(suffix)) {
    const auto id = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
    if (id.find('/') == std::string_view::npos) return opts_.max_upload;
  }
  return opts_.max_json_body;
}

namespace {
/// The call id of `/calls/<id>/stream`, or "" when `path` is not one.
std::string stream_call_id(std::string_view path) {
  constexpr std::string_view prefix = "/calls/", suffix = "/stream";
  if (path.size() <= prefix.size() + suffix.size() || !path.starts_with(prefix) ||
      !path.ends_with(suffix))
    return {};
  const auto id = path.substr(prefix.size(), path.size() - prefix.size() - suffix.size());
  if (id.find('/') != std::string_view::npos || id.size() > 256) return {};
  return std::string(id);
}
}  // namespace

std::optional<net::Response> Api::check_websocket(const net::Request& req) const {
  const std::string stream_call = stream_call_id(req.path);
  if (req.path != "/events" && stream_call.empty())
    return to_response(Error(ErrorCode::not_found, "No WebSocket endpoint at " + req.path));
  if (auto refused = auth_.check(req)) return refused;
  if (stream_call.empty()) {
    if (auto q = parse_events_query(req); !q) return to_response(q.error());
  }
  if (!stream_call.empty()) {
    if (!opts_.streams)
      return to_response(Error(ErrorCode::voice_unavailable, "Streams are not enabled"));
    if (auto q = parse_stream_query(req); !q) return to_response(q.error());
    if (auto refused = opts_.streams->check_accept(stream_call)) return to_response(*refused);
  }
  return std::nullopt;
}

void Api::open_websocket(std::shared_ptr<net::WsConnection> conn, const net::Request& req) {
  if (const std::string call_id = stream_call_id(req.path); !call_id.empty()) {
    log::info("call {}: an agent opened its stream from {}", call_id, req.remote);
    auto q = parse_stream_query(req);
    if (!q || !opts_.streams) {
      conn->close(1008, "invalid stream parameters");
      return;
    }
    opts_.streams->accept(std::move(conn), call_id, std::move(*q));
    return;
  }
  log::info("events: client connected from {}", req.remote);
  sinks::EventHub::ClientOptions o;
  const auto audio = req.param("audio");
  o.audio_frames = audio && (*audio == "1" || *audio == "true");
  if (auto q = parse_events_query(req)) {
    o.since = q->since;
    o.call_id = std::move(q->call_id);
    o.types = std::move(q->types);
  }
  hub_.add_client(std::move(conn), o);
}

void Api::request_done(const net::Request& req, const net::Response& res,
                       std::chrono::microseconds elapsed) const {
  if (opts_.access_log && spdlog::should_log(spdlog::level::info))
    log::info("{} {} {} {:.1f}ms", req.method, redact_target(req.target), res.status,
              static_cast<double>(elapsed.count()) / 1000.0);
  if (opts_.on_request_done) opts_.on_request_done(req, res, elapsed);
}

namespace {
// The server checks a declared Content-Length against default_body_limit while it
// reads the headers, before our per-request limit is asked; a failure there is
// reported as a malformed request (400). Leave that first check open so the
// per-request limit decides, and answers 413.
void open_header_limit(net::ServerOptions& o) {
  o.default_body_limit = std::numeric_limits<size_t>::max();
}
}  // namespace

void Api::configure(net::ServerOptions& o) {
  open_header_limit(o);
  o.body_limit = [this](const net::Request& req) { return body_limit(req); };
  o.error_response = [](int status, std::string_view message) {
    return protocol_error(status, message);
  };
  o.on_complete = [this](const net::Request& req, const net::Response& res,
                         std::chrono::microseconds us) { request_done(req, res, us); };
}

void Api::configure_deferred(net::ServerOptions& o, const std::unique_ptr<Api>& api) {
  open_header_limit(o);
  const std::unique_ptr<Api>* holder = &api;
  o.body_limit = [holder](const net::Request& req) -> size_t {
    return *holder ? (*holder)->body_limit(req) : ApiOptions{}.max_json_body;
  };
  o.error_response = [](int status, std::string_view message) {
    return protocol_error(status, message);
  };
  o.on_complete = [holder](const net::Request& req, const net::Response& res,
                           std::chrono::microseconds us) {
    if (*holder) (*holder)->request_done(req, res, us);
  };
}

void Api::attach(net::HttpServer& server) {
  server.on_request([this](net::Request& req) { return handle(req); });
  server.on_websocket([this](const net::Request& req) { return check_websocket(req); },
                      [this](std::shared_ptr<net::WsConnection> c, const net::Request& req) {
                        open_websocket(std::move(c), req);
                      });
}

}  // namespace aa::http
