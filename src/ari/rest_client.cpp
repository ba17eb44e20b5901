#include "ari/rest_client.hpp"

#include <cstdio>
#include <stdexcept>

#include "common/json.hpp"
#include "common/log.hpp"
#include "net/http_client.hpp"

namespace aa::ari {

namespace {

using Clock = std::chrono::steady_clock;

/// Query string builder: values are percent-encoded; empty optional values are skipped.
class Query {
 public:
  Query& add(std::string_view key, std::string_view value) {
    if (!value.empty()) append(key, value);
    return *this;
  }
  Query& add(std::string_view key, std::optional<int64_t> value) {
    if (value) append(key, std::to_string(*value));
    return *this;
  }
  Query& add(std::string_view key, std::optional<int> value) {
    if (value) append(key, std::to_string(*value));
    return *this;
  }
  Query& add(std::string_view key, std::optional<bool> value) {
    if (value) append(key, *value ? "true" : "false");
    return *this;
  }
  std::string str() const { return s_.empty() ? std::string{} : "?" + s_; }

 private:
  void append(std::string_view key, std::string_view value) {
    if (!s_.empty()) s_ += '&';
    s_ += url_encode(key);
    s_ += '=';
    s_ += url_encode(value);
  }
  std::string s_;
};

/// One percent-encoded path segment.
std::string seg(std::string_view s) {
  return url_encode(s);
}

std::string join(const std::vector<std::string>& v, char sep = ',') {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string variables_body(const std::vector<std::pair<std::string, std::string>>& vars) {
  if (vars.empty()) return {};
  json::Writer w;
  w.begin_object().key("variables").begin_object();
  for (const auto& [k, v] : vars) w.field(k, v);
  w.end_object().end_object();
  return w.str();
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 422:
      return "Unprocessable Entity";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    default:
      return status >= 500 ? "Server Error" : "Client Error";
  }
}

bool starts_with(std::string_view s, std::string_view p) {
  return s.substr(0, p.size()) == p;
}

AriError transport_error(const net::ClientResponse& r) {
  AriError e;
  e.message = r.error_message;
  switch (r.error) {
    case net::ClientResponse::Error::timeout:
      // The net layer reports a connect timeout as a timeout too; for us an
      // Asterisk we cannot reach is unavailable, not slow.
      e.kind = starts_with(r.error_message, "cannot connect") ? AriError::Kind::unavailable
                                                              : AriError::Kind::timeout;
      break;
    case net::ClientResponse::Error::too_large:
      e.kind = AriError::Kind::bad_response;
      break;
    case net::ClientResponse::Error::connect:
    case net::ClientResponse::Error::io:
    case net::ClientResponse::Error::none:
      e.kind = AriError::Kind::unavailable;
      break;
  }
  return e;
}

AriError bad_response(std::string msg) {
  AriError e;
  e.kind = AriError::Kind::bad_response;
  e.message = std::move(msg);
  return e;
}

/// What one request produced: the body of a 2xx answer, or the error.
struct Raw {
  AriError error;
  int status = 0;
  std::string body;
  std::string content_type;
  bool ok() const { return error.kind == AriError::Kind::none; }
};

template <typename T>
Result<T> fail(AriError e) {
  return Result<T>::fail(std::move(e));
}

template <typename T>
Result<T> ok(T v) {
  Result<T> r;
  r.value = std::move(v);
  return r;
}

/// Parse a 2xx body as one object of a model. `valid` says whether the model
/// got what it needs (e.g. an id).
template <typename T, typename Parse, typename Valid>
Result<T> to_model(const Raw& raw, std::string_view what, Parse parse, Valid valid) {
  if (!raw.ok()) return fail<T>(raw.error);
  auto doc = json::parse(raw.body);
  if (!doc || !doc->IsObject())
    return fail<T>(bad_response(std::string(what) + ": expected a JSON object"));
  T v = parse(*doc);
  if (!valid(v)) return fail<T>(bad_response(std::string(what) + ": required field missing"));
  return ok(std::move(v));
}

template <typename T, typename Parse, typename Valid>
Result<std::vector<T>> to_list(const Raw& raw, std::string_view what, Parse parse, Valid valid) {
  if (!raw.ok()) return fail<std::vector<T>>(raw.error);
  auto doc = json::parse(raw.body);
  if (!doc || !doc->IsArray())
    return fail<std::vector<T>>(bad_response(std::string(what) + ": expected a JSON array"));
  std::vector<T> out;
  out.reserve(doc->Size());
  for (const auto& item : doc->GetArray()) {
    T v = parse(item);
    // Skip malformed entries rather than lose the whole list.
    if (valid(v)) out.push_back(std::move(v));
  }
  return ok(std::move(out));
}

Status to_status(const Raw& raw) {
  if (!raw.ok()) return Status::fail(raw.error);
  return ok(Unit{});
}

const auto channel_ok = [](const Channel& c) { return !c.id.empty(); };
const auto bridge_ok = [](const Bridge& b) { return !b.id.empty(); };
const auto playback_ok = [](const Playback& p) { return !p.id.empty(); };
const auto live_ok = [](const LiveRecording& r) { return !r.name.empty(); };
const auto stored_ok = [](const StoredRecording& r) { return !r.name.empty(); };
const auto endpoint_ok = [](const Endpoint& e) {
  return !e.technology.empty() || !e.resource.empty();
};

Url make_base(std::string_view base_url) {
  auto u = parse_url(base_url);
  if (!u || (u->scheme != "http" && u->scheme != "https"))
    throw std::invalid_argument("ARI base URL must be http(s)://host[:port]: " +
                                std::string(base_url));
  if (u->path.size() < 4 || u->path.substr(u->path.size() - 4) != "/ari") u->path += "/ari";
  return *u;
}

Query play_query(const PlayParams& p) {
  Query q;
  q.add("media", join(p.media))
      .add("lang", p.lang)
      .add("offsetms", p.offsetms)
      .add("skipms", p.skipms)
      .add("playbackId", p.playback_id);
  return q;
}

Query record_query(const RecordParams& p) {
  Query q;
  q.add("name", p.name)
      .add("format", p.format)
      .add("maxDurationSeconds", p.max_duration_seconds)
      .add("maxSilenceSeconds", p.max_silence_seconds)
      .add("ifExists", p.if_exists)
      .add("beep", p.beep)
      .add("terminateOn", p.terminate_on);
  return q;
}

}  // namespace

AriError error_from_response(int status, std::string_view content_type, std::string_view body) {
  AriError e;
  e.kind = AriError::Kind::http;
  e.status = status;
  if (auto doc = json::parse(body); doc && doc->IsObject()) {
    std::string_view m = json::get_string(*doc, "message");
    if (m.empty()) m = json::get_string(*doc, "error");
    e.message = std::string(m);
  } else if (!body.empty() && body.size() <= 200 &&
             content_type.find("html") == std::string::npos &&
             body.find('<') == std::string_view::npos) {
    e.message = std::string(body);
    while (!e.message.empty() && (e.message.back() == '\n' || e.message.back() == '\r'))
      e.message.pop_back();
  }
  if (e.message.empty()) e.message = std::string(reason_phrase(status));
  return e;
}

std::string describe(const AriError& e) {
  switch (e.kind) {
    case AriError::Kind::none:
      return "ok";
    case AriError::Kind::http:
      return "http " + std::to_string(e.status) + ": " + e.message;
    case AriError::Kind::unavailable:
      return "unavailable: " + e.message;
    case AriError::Kind::timeout:
      return "timeout: " + e.message;
    case AriError::Kind::bad_response:
      return "bad response: " + e.message;
  }
  return e.message;
}

struct RestClient::Impl {
  Impl(asio::any_io_executor ex, RestClientOptions o) : opts(std::move(o)) {
    base = make_base(opts.base_url);
    net::ClientOptions co;
    co.connect_timeout = opts.connect_timeout;
    co.request_timeout = opts.request_timeout;
    co.max_idle_connections = opts.max_idle_connections;
    co.verify_tls = opts.verify_tls;
    if (!opts.username.empty() || !opts.password.empty())
      co.basic_auth = opts.username + ":" + opts.password;
    co.user_agent = "asterisk-api";
    http = std::make_unique<net::HttpClient>(std::move(ex), base, std::move(co));
  }

  void observe(std::string_view op, int status, Clock::time_point start) {
    if (!observer) return;
    try {
      observer(op, status,
               std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start));
    } catch (const std::exception& ex) {
      log::warn("ari: request observer threw: {}", ex.what());
    }
  }

  static Raw finish(net::ClientResponse r) {
    Raw out;
    out.status = r.status;
    if (!r.ok()) {
      out.error = transport_error(r);
      return out;
    }
    if (r.status < 200 || r.status > 299) {
      out.error = error_from_response(r.status, r.content_type, r.body);
      return out;
    }
    out.body = std::move(r.body);
    out.content_type = std::move(r.content_type);
    return out;
  }

  awaitable<Raw> send(std::string_view op, std::string_view method, std::string target,
                      std::string json_body = {}) {
    auto start = Clock::now();
    std::string_view ct = json_body.empty() ? std::string_view{} : "application/json";
    net::ClientResponse r = co_await http->request(method, target, std::move(json_body), ct);
    observe(op, r.status, start);
    if (!r.ok()) log::debug("ari: {} {} {}: {}", op, method, target, r.error_message);
    co_return finish(std::move(r));
  }

  RestClientOptions opts;
  Url base;
  std::unique_ptr<net::HttpClient> http;
  RequestObserver observer;
};

RestClient::RestClient(asio::any_io_executor ex, std::string_view base_url, std::string username,
                       std::string password, std::chrono::milliseconds request_timeout)
    : RestClient(std::move(ex), [&] {
        RestClientOptions o;
        o.base_url = std::string(base_url);
        o.username = std::move(username);
        o.password = std::move(password);
        o.request_timeout = request_timeout;
        return o;
      }()) {}

RestClient::RestClient(asio::any_io_executor ex, RestClientOptions opts)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts))) {}

RestClient::~RestClient() = default;

void RestClient::set_observer(RequestObserver observer) {
  impl_->observer = std::move(observer);
}
void RestClient::set_request_timeout(std::chrono::milliseconds t) {
  impl_->opts.request_timeout = t;
  impl_->http->set_request_timeout(t);
}
void RestClient::close_idle() {
  impl_->http->close_idle();
}
const Url& RestClient::base() const {
  return impl_->base;
}

awaitable<Result<std::string>> RestClient::raw_request(std::string_view op, std::string_view method,
                                                       std::string target, std::string json_body) {
  auto impl = impl_;
  Raw r = co_await impl->send(op, method, std::move(target), std::move(json_body));
  if (!r.ok()) co_return fail<std::string>(r.error);
  co_return ok(std::move(r.body));
}

// ---------------------------------------------------------------- channels

awaitable<Result<Channel>> RestClient::originate(const OriginateParams& p) {
  auto impl = impl_;
  Query q;
  q.add("endpoint", p.endpoint)
      .add("extension", p.extension)
      .add("context", p.context)
      .add("priority", p.priority)
      .add("app", p.app)
      .add("appArgs", p.app_args)
      .add("callerId", p.caller_id)
      .add("timeout", p.timeout)
      .add("channelId", p.channel_id)
      .add("otherChannelId", p.other_channel_id)
      .add("originator", p.originator)
      .add("formats", p.formats);
  Raw r =
      co_await impl->send("originate", "POST", "/channels" + q.str(), variables_body(p.variables));
  co_return to_model<Channel>(r, "originate", parse_channel, channel_ok);
}

awaitable<Result<Channel>> RestClient::get_channel(std::string_view id) {
  auto impl = impl_;
  Raw r = co_await impl->send("get_channel", "GET", "/channels/" + seg(id));
  co_return to_model<Channel>(r, "get_channel", parse_channel, channel_ok);
}

awaitable<Result<std::vector<Channel>>> RestClient::list_channels() {
  auto impl = impl_;
  Raw r = co_await impl->send("list_channels", "GET", "/channels");
  co_return to_list<Channel>(r, "list_channels", parse_channel, channel_ok);
}

awaitable<Status> RestClient::hangup(std::string_view id, std::string_view reason) {
  auto impl = impl_;
  Query q;
  q.add("reason", reason);
  Raw r = co_await impl->send("hangup", "DELETE", "/channels/" + seg(id) + q.str());
  co_return to_status(r);
}

awaitable<Status> RestClient::answer(std::string_view id) {
  auto impl = impl_;
  Raw r = co_await impl->send("answer", "POST", "/channels/" + seg(id) + "/answer");
  co_return to_status(r);
}

awaitable<Status> RestClient::ring(std::string_view id) {
  auto impl = impl_;
  Raw r = co_await impl->send("ring", "POST", "/channels/" + seg(id) + "/ring");
  co_return to_status(r);
}

awaitable<Result<Playback>> RestClient::play(std::string_view channel_id, const PlayParams& p) {
  auto impl = impl_;
  Raw r = co_await impl->send("play", "POST",
                              "/channels/" + seg(channel_id) + "/play" + play_query(p).str());
  co_return to_model<Playback>(r, "play", parse_playback, playback_ok);
}

awaitable<Result<LiveRecording>> RestClient::record(std::string_view channel_id,
                                                    const RecordParams& p) {
  auto impl = impl_;
  Raw r = co_await impl->send("record", "POST",
                              "/channels/" + seg(channel_id) + "/record" + record_query(p).str());
  co_return to_model<LiveRecording>(r, "record", parse_live_recording, live_ok);
}

awaitable<Status> RestClient::send_dtmf(std::string_view channel_id, const DtmfParams& p) {
  auto impl = impl_;
  Query q;
  q.add("dtmf", p.dtmf)
      .add("before", p.before)
      .add("between", p.between)
      .add("duration", p.duration)
      .add("after", p.after);
  Raw r =
      co_await impl->send("send_dtmf", "POST", "/channels/" + seg(channel_id) + "/dtmf" + q.str());
  co_return to_status(r);
}

awaitable<Status> RestClient::continue_in_dialplan(std::string_view id, std::string_view context,
                                                   std::string_view extension,
                                                   std::optional<int64_t> priority) {
  auto impl = impl_;
  Query q;
  q.add("context", context).add("extension", extension).add("priority", priority);
  Raw r = co_await impl->send("continue_in_dialplan", "POST",
                              "/channels/" + seg(id) + "/continue" + q.str());
  co_return to_status(r);
}

awaitable<Status> RestClient::redirect(std::string_view id, std::string_view endpoint) {
  auto impl = impl_;
  Query q;
  q.add("endpoint", endpoint);
  Raw r = co_await impl->send("redirect", "POST", "/channels/" + seg(id) + "/redirect" + q.str());
  co_return to_status(r);
}

awaitable<Result<Channel>> RestClient::snoop(std::string_view channel_id, const SnoopParams& p) {
  auto impl = impl_;
  Query q;
  q.add("spy", p.spy)
      .add("whisper", p.whisper)
      .add("app", p.app)
      .add("appArgs", p.app_args)
      .add("snoopId", p.snoop_id);
  Raw r = co_await impl->send("snoop", "POST", "/channels/" + seg(channel_id) + "/snoop" + q.str());
  co_return to_model<Channel>(r, "snoop", parse_channel, channel_ok);
}

awaitable<Result<Channel>> RestClient::external_media(const ExternalMediaParams& p) {
  auto impl = impl_;
  Query q;
  q.add("channelId", p.channel_id)
      .add("app", p.app)
      .add("external_host", p.external_host)
      .add("encapsulation", p.encapsulation)
      .add("transport", p.transport)
      .add("connection_type", p.connection_type)
      .add("format", p.format)
      .add("direction", p.direction);
  Raw r = co_await impl->send("external_media", "POST", "/channels/externalMedia" + q.str(),
                              variables_body(p.variables));
  co_return to_model<Channel>(r, "external_media", parse_channel, channel_ok);
}

awaitable<Result<std::string>> RestClient::get_variable(std::string_view channel_id,
                                                        std::string_view name) {
  auto impl = impl_;
  Query q;
  q.add("variable", name);
  Raw r = co_await impl->send("get_variable", "GET",
                              "/channels/" + seg(channel_id) + "/variable" + q.str());
  if (!r.ok()) co_return fail<std::string>(r.error);
  auto doc = json::parse(r.body);
  const json::Value* v = doc ? json::find(*doc, "value") : nullptr;
  if (!v || !v->IsString()) co_return fail<std::string>(bad_response("get_variable: no value"));
  co_return ok(std::string(json::as_view(*v)));
}

awaitable<Status> RestClient::set_variable(std::string_view channel_id, std::string_view name,
                                           std::string_view value) {
  auto impl = impl_;
  Query q;
  q.add("variable", name).add("value", value);
  Raw r = co_await impl->send("set_variable", "POST",
                              "/channels/" + seg(channel_id) + "/variable" + q.str());
  co_return to_status(r);
}

// ---------------------------------------------------------------- bridges

awaitable<Result<Bridge>> RestClient::create_bridge(std::string_view type, std::string_view id,
                                                    std::string_view name) {
  auto impl = impl_;
  Query q;
  q.add("type", type).add("bridgeId", id).add("name", name);
  Raw r = co_await impl->send("create_bridge", "POST", "/bridges" + q.str());
  co_return to_model<Bridge>(r, "create_bridge", parse_bridge, bridge_ok);
}

awaitable<Result<Bridge>> RestClient::get_bridge(std::string_view id) {
  auto impl = impl_;
  Raw r = co_await impl->send("get_bridge", "GET", "/bridges/" + seg(id));
  co_return to_model<Bridge>(r, "get_bridge", parse_bridge, bridge_ok);
}

awaitable<Result<std::vector<Bridge>>> RestClient::list_bridges() {
  auto impl = impl_;
  Raw r = co_await impl->send("list_bridges", "GET", "/bridges");
  co_return to_list<Bridge>(r, "list_bridges", parse_bridge, bridge_ok);
}

awaitable<Status> RestClient::destroy_bridge(std::string_view id) {
  auto impl = impl_;
  Raw r = co_await impl->send("destroy_bridge", "DELETE", "/bridges/" + seg(id));
  co_return to_status(r);
}

awaitable<Status> RestClient::add_channels(std::string_view bridge_id,
                                           const std::vector<std::string>& channel_ids) {
  auto impl = impl_;
  Query q;
  q.add("channel", join(channel_ids));
  Raw r = co_await impl->send("add_channels", "POST",
                              "/bridges/" + seg(bridge_id) + "/addChannel" + q.str());
  co_return to_status(r);
}

awaitable<Status> RestClient::remove_channels(std::string_view bridge_id,
                                              const std::vector<std::string>& channel_ids) {
  auto impl = impl_;
  Query q;
  q.add("channel", join(channel_ids));
  Raw r = co_await impl->send("remove_channels", "POST",
                              "/bridges/" + seg(bridge_id) + "/removeChannel" + q.str());
  co_return to_status(r);
}

awaitable<Result<Playback>> RestClient::play_bridge(std::string_view bridge_id,
                                                    const PlayParams& p) {
  auto impl = impl_;
  Raw r = co_await impl->send("play_bridge", "POST",
                              "/bridges/" + seg(bridge_id) + "/play" + play_query(p).str());
  co_return to_model<Playback>(r, "play_bridge", parse_playback, playback_ok);
}

awaitable<Result<LiveRecording>> RestClient::record_bridge(std::string_view bridge_id,
                                                           const RecordParams& p) {
  auto impl = impl_;
  Raw r = co_await impl->send("record_bridge", "POST",
                              "/bridges/" + seg(bridge_id) + "/record" + record_query(p).str());
  co_return to_model<LiveRecording>(r, "record_bridge", parse_live_recording, live_ok);
}

// ---------------------------------------------------------------- playbacks

awaitable<Result<Playback>> RestClient::get_playback(std::string_view id) {
  auto impl = impl_;
  Raw r = co_await impl->send("get_playback", "GET", "/playbacks/" + seg(id));
  co_return to_model<Playback>(r, "get_playback", parse_playback, playback_ok);
}

awaitable<Status> RestClient::stop_playback(std::string_view id) {
  auto impl = impl_;
  Raw r = co_await impl->send("stop_playback", "DELETE", "/playbacks/" + seg(id));
  co_return to_status(r);
}

awaitable<Status> RestClient::control_playback(std::string_view id, std::string_view operation) {
  auto impl = impl_;
  Query q;
  q.add("operation", operation);
  Raw r = co_await impl->send("control_playback", "POST",
                              "/playbacks/" + seg(id) + "/control" + q.str());
  co_return to_status(r);
}

// ---------------------------------------------------------------- recordings

awaitable<Result<LiveRecording>> RestClient::get_live_recording(std::string_view name) {
  auto impl = impl_;
  Raw r = co_await impl->send("get_live_recording", "GET", "/recordings/live/" + seg(name));
  co_return to_model<LiveRecording>(r, "get_live_recording", parse_live_recording, live_ok);
}

awaitable<Status> RestClient::stop_live_recording(std::string_view name) {
  auto impl = impl_;
  Raw r =
      co_await impl->send("stop_live_recording", "POST", "/recordings/live/" + seg(name) + "/stop");
  co_return to_status(r);
}

awaitable<Status> RestClient::cancel_live_recording(std::string_view name) {
  auto impl = impl_;
  Raw r = co_await impl->send("cancel_live_recording", "DELETE", "/recordings/live/" + seg(name));
  co_return to_status(r);
}

awaitable<Result<std::vector<StoredRecording>>> RestClient::list_stored_recordings() {
  auto impl = impl_;
  Raw r = co_await impl->send("list_stored_recordings", "GET", "/recordings/stored");
  co_return to_list<StoredRecording>(r, "list_stored_recordings", parse_stored_recording,
                                     stored_ok);
}

awaitable<Result<StoredRecording>> RestClient::get_stored_recording(std::string_view name) {
  auto impl = impl_;
  Raw r = co_await impl->send("get_stored_recording", "GET", "/recordings/stored/" + seg(name));
  co_return to_model<StoredRecording>(r, "get_stored_recording", parse_stored_recording, stored_ok);
}

awaitable<Result<std::string>> RestClient::download_stored_recording(std::string_view name,
                                                                     const std::string& file_path) {
  auto impl = impl_;
  auto start = Clock::now();
  net::ClientResponse resp =
      co_await impl->http->download("/recordings/stored/" + seg(name) + "/file", file_path);
  impl->observe("download_stored_recording", resp.status, start);
  bool transport_failed_in_body = !resp.ok() && resp.status >= 200 && resp.status <= 299;
  Raw r = Impl::finish(std::move(resp));
  if (!r.ok()) {
    // Do not leave half a file behind.
    if (transport_failed_in_body || r.error.kind == AriError::Kind::timeout) {
      std::remove(file_path.c_str());
    }
    co_return fail<std::string>(r.error);
  }
  co_return ok(r.content_type);
}

awaitable<Result<StoredRecording>> RestClient::copy_stored_recording(std::string_view name,
                                                                     std::string_view destination) {
  auto impl = impl_;
  Query q;
  q.add("destinationRecordingName", destination);
  Raw r = co_await impl->send("copy_stored_recording", "POST",
                              "/recordings/stored/" + seg(name) + "/copy" + q.str());
  co_return to_model<StoredRecording>(r, "copy_stored_recording", parse_stored_recording,
                                      stored_ok);
}

awaitable<Status> RestClient::delete_stored_recording(std::string_view name) {
  auto impl = impl_;
  Raw r =
      co_await impl->send("delete_stored_recording", "DELETE", "/recordings/stored/" + seg(name));
  co_return to_status(r);
}

// ---------------------------------------------------------------- endpoints

awaitable<Result<std::vector<Endpoint>>> RestClient::list_endpoints() {
  auto impl = impl_;
  Raw r = co_await impl->send("list_endpoints", "GET", "/endpoints");
  co_return to_list<Endpoint>(r, "list_endpoints", parse_endpoint, endpoint_ok);
}

awaitable<Result<std::vector<Endpoint>>> RestClient::list_endpoints_by_tech(std::string_view tech) {
  auto impl = impl_;
  Raw r = co_await impl->send("list_endpoints_by_tech", "GET", "/endpoints/" + seg(tech));
  co_return to_list<Endpoint>(r, "list_endpoints_by_tech", parse_endpoint, endpoint_ok);
}

awaitable<Result<Endpoint>> RestClient::get_endpoint(std::string_view tech,
                                                     std::string_view resource) {
  auto impl = impl_;
  Raw r =
      co_await impl->send("get_endpoint", "GET", "/endpoints/" + seg(tech) + "/" + seg(resource));
  co_return to_model<Endpoint>(r, "get_endpoint", parse_endpoint, endpoint_ok);
}

// ---------------------------------------------------------------- applications / asterisk

awaitable<Status> RestClient::subscribe(std::string_view app, std::string_view event_source) {
  auto impl = impl_;
  Query q;
  q.add("eventSource", event_source);
  Raw r = co_await impl->send("subscribe", "POST",
                              "/applications/" + seg(app) + "/subscription" + q.str());
  co_return to_status(r);
}

awaitable<Status> RestClient::unsubscribe(std::string_view app, std::string_view event_source) {
  auto impl = impl_;
  Query q;
  q.add("eventSource", event_source);
  Raw r = co_await impl->send("unsubscribe", "DELETE",
                              "/applications/" + seg(app) + "/subscription" + q.str());
  co_return to_status(r);
}

awaitable<Result<AsteriskInfo>> RestClient::asterisk_info() {
  auto impl = impl_;
  Raw r = co_await impl->send("asterisk_info", "GET", "/asterisk/info");
  if (!r.ok()) co_return fail<AsteriskInfo>(r.error);
  auto doc = json::parse(r.body);
  if (!doc || !doc->IsObject())
    co_return fail<AsteriskInfo>(bad_response("asterisk_info: expected a JSON object"));
  AsteriskInfo info = parse_asterisk_info(*doc, r.body);
  co_return ok(std::move(info));
}

}  // namespace aa::ari
