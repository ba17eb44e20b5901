// The agent stream routes (Twilio Media Streams–compatible): validate → the
// stream manager → map the result. Registered by Api.
#include "http/stream_handlers.hpp"

#include "http/errors.hpp"
#include "http/validation.hpp"
#include "stream/stream_manager.hpp"

namespace aa::http {

namespace {
constexpr size_t kMaxUrl = 2048;
constexpr size_t kMaxParams = 32;
constexpr size_t kMaxParamName = 128;
constexpr size_t kMaxParamValue = 1024;
}  // namespace

stream::StreamRequest read_stream_request(FieldReader& f) {
  stream::StreamRequest out;
  if (auto u = f.string("url", true, true, kMaxUrl)) {
    auto parsed = parse_url(*u);
    if (!parsed || (parsed->scheme != "ws" && parsed->scheme != "wss"))
      f.problem("url", "must be a ws:// or wss:// URL of an agent server");
    out.url = std::move(*u);
  }
  if (const json::Value* cp = f.raw("customParameters")) {
    if (!cp->IsObject()) {
      f.problem("customParameters", "must be an object of string values");
    } else if (cp->MemberCount() > kMaxParams) {
      f.problem("customParameters", "must have at most " + std::to_string(kMaxParams) + " entries");
    } else {
      for (const auto& m : cp->GetObject()) {
        const std::string_view k = json::as_view(m.name);
        if (k.empty() || k.size() > kMaxParamName) {
          f.problem("customParameters",
                    "names must be 1 to " + std::to_string(kMaxParamName) + " bytes long");
        } else if (!m.value.IsString()) {
          f.problem("customParameters." + std::string(k), "must be a string");
        } else if (m.value.GetStringLength() > kMaxParamValue) {
          f.problem("customParameters." + std::string(k),
                    "must be at most " + std::to_string(kMaxParamValue) + " bytes long");
        } else {
          out.custom_parameters.emplace_back(std::string(k), std::string(json::as_view(m.value)));
        }
      }
    }
  }
  if (auto v = f.string("format", false, true, 16)) {
    if (auto fmt = stream::parse_format(*v))
      out.format = *fmt;
    else
      f.problem("format", "must be mulaw8k or slin16");
  }
  if (auto v = f.string("tracks", false, true, 16)) {
    if (auto t = stream::parse_tracks(*v))
      out.tracks = *t;
    else
      f.problem("tracks", "must be inbound or both");
  }
  if (auto v = f.string("onStreamEnd", false, true, 16)) {
    if (*v == "hangup")
      out.hangup_on_end = true;
    else if (*v != "continue")
      f.problem("onStreamEnd", "must be continue or hangup");
  }
  return out;
}

Outcome<std::optional<stream::StreamRequest>> parse_originate_stream(const net::Request& req) {
  auto doc = read_json_object(req);
  if (!doc) return doc.error();
  const json::Value* s = json::find(*doc, "stream");
  if (!s || s->IsNull()) return std::optional<stream::StreamRequest>{};
  if (!s->IsObject()) {
    FieldReader f(*doc);
    f.problem("stream", "must be an object {url, customParameters?, format?, tracks?}");
    return f.error();
  }
  FieldReader f(*s, "stream.");
  auto r = read_stream_request(f);
  if (!f.ok()) return f.error();
  return std::optional<stream::StreamRequest>(std::move(r));
}

Outcome<stream::StreamRequest> parse_stream_query(const net::Request& req) {
  stream::StreamRequest out;
  std::vector<std::string> problems;
  for (const auto& [k, v] : req.query) {
    if (k == "format") {
      if (auto f = stream::parse_format(v))
        out.format = *f;
      else
        problems.push_back("format: must be mulaw8k or slin16");
    } else if (k == "tracks") {
      if (auto t = stream::parse_tracks(v))
        out.tracks = *t;
      else
        problems.push_back("tracks: must be inbound or both");
    } else if (k == "onStreamEnd") {
      if (v == "hangup")
        out.hangup_on_end = true;
      else if (v != "continue")
        problems.push_back("onStreamEnd: must be continue or hangup");
    } else if (k == "key" || k == "api_key" || k == "token" || k == "access_token") {
      // credentials never travel on to the agent
    } else if (out.custom_parameters.size() < kMaxParams && !k.empty() &&
               k.size() <= kMaxParamName && v.size() <= kMaxParamValue) {
      out.custom_parameters.emplace_back(k, v);
    }
  }
  if (!problems.empty()) {
    Error e(ErrorCode::validation_failed, "Invalid stream parameters");
    e.details = std::move(problems);
    return e;
  }
  return out;
}

awaitable<net::Response> handle_stream_start(stream::StreamManager* sm, net::Request& req,
                                             std::string call_id) {
  if (!sm) co_return to_response(Error(ErrorCode::voice_unavailable, "Streams are not enabled"));
  auto doc = read_json_object(req);
  if (!doc) co_return to_response(doc.error());
  FieldReader f(*doc);
  auto r = read_stream_request(f);
  if (!f.ok()) co_return to_response(f.error());
  auto res = co_await sm->start(call_id, std::move(r));
  if (!res) co_return to_response(res.error());
  json::Writer w;
  w.begin_object().field("streamSid", *res).field("callId", call_id).end_object();
  co_return net::Response::json(201, w.str());
}

awaitable<net::Response> handle_stream_stop(stream::StreamManager* sm, net::Request& req,
                                            std::string call_id) {
  (void)req;
  if (!sm) co_return to_response(Error(ErrorCode::voice_unavailable, "Streams are not enabled"));
  auto res = sm->stop(call_id);
  if (!res) co_return to_response(res.error());
  json::Writer w;
  w.begin_object().field("status", "stopped").field("streamSid", *res).end_object();
  co_return net::Response::json(200, w.str());
}

}  // namespace aa::http
