#include "stream/stream_manager.hpp"

#include <unordered_set>

#include "calls/call_manager.hpp"
#include "calls/voice_events.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "net/ws_client.hpp"
#include "voice/voice_manager.hpp"

namespace aa::stream {

struct StreamManager::Impl : std::enable_shared_from_this<StreamManager::Impl> {
  asio::any_io_executor ex;
  calls::CallManager& calls;
  voice::VoiceManager& voice;
  StreamManagerOptions opts;
  std::unordered_map<std::string, std::shared_ptr<AgentStream>> by_call;
  std::unordered_set<std::string> starting;  // a stream is being set up
  std::unordered_map<std::string, StreamRequest> armed;
  StreamStats totals;  // counters of ended streams
  std::function<void(std::chrono::microseconds)> mark_rtt;
  bool closing = false;  // shutting down: no more events or hang-ups

  Impl(asio::any_io_executor e, calls::CallManager& c, voice::VoiceManager& v,
       StreamManagerOptions o)
      : ex(std::move(e)), calls(c), voice(v), opts(std::move(o)) {}

  void emit(calls::EventKind kind, const std::string& call_id, calls::VoiceEvent v) {
    calls::publish_voice(calls, kind, call_id, std::move(v));
  }

  void emit_error(const std::string& call_id, const std::string& sid, const std::string& error) {
    calls::VoiceEvent v;
    v.stream_sid = sid;
    v.error = error;
    emit(calls::EventKind::call_stream_error, call_id, std::move(v));
  }

  std::optional<Error> can_start(const std::string& call_id) const {
    auto rec = calls.get_call(call_id);
    if (!rec) return rec.error();
    if (calls::is_final(rec->state)) return Error(ErrorCode::wrong_state, "Call has already ended");
    if (!calls.media_ready(call_id))
      return Error(ErrorCode::wrong_state, "Call is not answered yet: it cannot stream audio");
    if (by_call.count(call_id) || starting.count(call_id))
      return Error(ErrorCode::stream_exists, "Call already has a stream (DELETE it first)");
    return std::nullopt;
  }

  std::shared_ptr<AgentStream> make_stream(const std::string& call_id, const StreamRequest& req) {
    const std::string sid = "MZ" + random_hex(16);
    std::weak_ptr<Impl> weak = shared_from_this();
    AgentStream::Hooks h;
    h.on_ended = [weak, call_id, sid, url = req.url, hangup = req.hangup_on_end](
                     const std::string& reason, const std::string& error) {
      if (auto me = weak.lock()) me->stream_ended(call_id, sid, url, hangup, reason, error);
    };
    h.on_hangup = [weak, call_id] {
      if (auto me = weak.lock()) me->hang_up(call_id, "the agent hung up");
    };
    h.on_mark_rtt = [weak](std::chrono::microseconds us) {
      if (auto me = weak.lock(); me && me->mark_rtt) me->mark_rtt(us);
    };
    return std::make_shared<AgentStream>(ex, call_id, sid, req, opts.stream, std::move(h));
  }

  void hang_up(const std::string& call_id, std::string why) {
    if (closing) return;
    auto task = [](std::shared_ptr<Impl> me, std::string id, std::string why) -> awaitable<void> {
      log::info("call {}: hanging up: {}", id, why);
      std::string cause = "normal";  // named: no temporary in the co_await (g++ 12)
      auto st = co_await me->calls.hangup(id, std::move(cause));
      if (!st) log::debug("call {}: hang-up: {}", id, st.error().message);
    };
    spawn(ex, task(shared_from_this(), call_id, std::move(why)), "stream hang-up");
  }

  /// The media session for `s`, with the stream as its tap.
  awaitable<Outcome<std::shared_ptr<media::MediaSession>>> attach(std::shared_ptr<AgentStream> s) {
    std::weak_ptr<AgentStream> ws = s;
    voice::MediaTap tap;
    tap.on_audio = [ws](std::span<const int16_t> pcm) {
      if (auto st = ws.lock()) st->on_caller_audio(pcm);
    };
    tap.on_closed = [ws](const std::string& reason) {
      auto st = ws.lock();
      // Before run() the starter sees the session down and reports it itself.
      if (!st || !st->running()) return;
      if (reason == "call ended")
        st->stop("hangup");
      else
        st->media_lost("media session lost: " + reason);
    };
    auto r = co_await voice.attach_media(s->call_id(), s->stream_sid(), std::move(tap));
    co_return r;
  }

  void begin(const std::shared_ptr<AgentStream>& s, std::shared_ptr<net::WsConnection> ws,
             std::shared_ptr<media::MediaSession> session) {
    by_call[s->call_id()] = s;
    ++totals.started;
    log::info("call {}: stream {} started ({}, {}, {})", s->call_id(), s->stream_sid(),
              s->request().url.empty() ? "agent dialled in" : s->request().url,
              to_string(s->request().format), to_string(s->request().tracks));
    calls::VoiceEvent v;
    v.stream_sid = s->stream_sid();
    v.url = s->request().url;
    emit(calls::EventKind::call_stream_started, s->call_id(), std::move(v));
    s->run(std::move(ws), std::move(session));
  }

  awaitable<Outcome<std::string>> start(std::string call_id, StreamRequest req) {
    auto self = shared_from_this();
    if (auto refused = can_start(call_id)) co_return *refused;
    starting.insert(call_id);
    auto s = make_stream(call_id, req);
    auto fail = [&](Error e) -> Error {
      starting.erase(call_id);
      voice.detach_media(call_id, s->stream_sid());
      ++totals.failed;
      log::warn("call {}: stream to {} did not start: {}", call_id, req.url, e.message);
      emit_error(call_id, s->stream_sid(), e.message);
      return e;
    };
    auto session = co_await attach(s);
    // Shutting down: the voice and calls modules may be gone; touch nothing.
    if (closing) co_return Error(ErrorCode::wrong_state, "The service is shutting down");
    if (!session) co_return fail(session.error());
    auto url = parse_url(req.url);
    if (!url) co_return fail(Error(ErrorCode::validation_failed, "url is not a ws(s) URL"));
    net::WsClientOptions wo;
    wo.connect_timeout = opts.stream.connect_timeout;
    wo.verify_tls = opts.stream.verify_tls;
    // The stream keeps its own, smaller bound (max_queued_messages): these
    // only stop a runaway before it does.
    wo.max_queue = opts.stream.max_queued_messages + 16;
    wo.max_queued_bytes = 8 * 1024 * 1024;
    wo.max_message = 1024 * 1024;
    // Named, not a temporary in the co_await (g++ 12, docs/CODING.md).
    std::string target = url->path.empty() ? std::string("/") : url->path;
    auto r = co_await net::ws_connect(*url, std::move(target), std::move(wo));
    if (closing) {
      if (r.connection) r.connection->close(1001, "shutting down");
      co_return Error(ErrorCode::wrong_state, "The service is shutting down");
    }
    if (!r.connection) {
      std::string why = "agent server " + req.url + " not reachable: " + r.error;
      if (r.http_status)
        why = "agent server " + req.url + " refused the WebSocket (HTTP " +
              std::to_string(r.http_status) + ")";
      else if (r.timed_out)
        why = "agent server " + req.url + " did not answer within " +
              std::to_string(opts.stream.connect_timeout.count()) + " ms";
      co_return fail(
          Error(r.timed_out ? ErrorCode::stream_timeout : ErrorCode::stream_connect_failed, why));
    }
    auto rec = calls.get_call(call_id);
    if (!rec || calls::is_final(rec->state) || !(*session)->up()) {
      r.connection->close(1000, "call ended");
      co_return fail(Error(ErrorCode::wrong_state, "Call ended while the agent was dialled"));
    }
    starting.erase(call_id);
    begin(s, std::move(r.connection), std::move(*session));
    co_return s->stream_sid();
  }

  void accept(std::shared_ptr<net::WsConnection> ws, std::string call_id, StreamRequest req) {
    auto task = [](std::shared_ptr<Impl> me, std::shared_ptr<net::WsConnection> ws,
                   std::string call_id, StreamRequest req) -> awaitable<void> {
      if (auto refused = me->can_start(call_id)) {
        ws->close(1008, refused->message.substr(0, 120));
        co_return;
      }
      me->starting.insert(call_id);
      auto s = me->make_stream(call_id, req);
      auto session = co_await me->attach(s);
      if (me->closing) {
        ws->close(1001, "shutting down");
        co_return;
      }
      me->starting.erase(call_id);
      if (!session) {
        me->voice.detach_media(call_id, s->stream_sid());
        ++me->totals.failed;
        me->emit_error(call_id, s->stream_sid(), session.error().message);
        ws->close(1011, session.error().message.substr(0, 120));
        co_return;
      }
      me->begin(s, std::move(ws), std::move(*session));
    };
    spawn(ex, task(shared_from_this(), std::move(ws), std::move(call_id), std::move(req)),
          "agent stream accept");
  }

  void start_async(const std::string& call_id, StreamRequest req, const char* why) {
    auto task = [](std::shared_ptr<Impl> me, std::string id, StreamRequest req,
                   std::string why) -> awaitable<void> {
      auto r = co_await me->start(id, std::move(req));
      if (!r && r.error().code != ErrorCode::stream_exists)
        log::warn("call {}: {} stream did not start: {}", id, why, r.error().message);
    };
    spawn(ex, task(shared_from_this(), call_id, std::move(req), why), "agent stream start");
  }

  void stream_ended(const std::string& call_id, const std::string& sid, const std::string& url,
                    bool hangup, const std::string& reason, const std::string& error) {
    (void)url;
    if (closing) return;
    auto it = by_call.find(call_id);
    if (it != by_call.end() && it->second->stream_sid() == sid) {
      const auto& c = it->second->counters();
      totals.frames_out += c.frames_out;
      totals.frames_in += c.frames_in;
      totals.late_frames += c.late_frames;
      totals.clears += c.clears;
      totals.marks += c.marks;
      by_call.erase(it);
    }
    voice.detach_media(call_id, sid);
    log::info("call {}: stream {} stopped: {}{}", call_id, sid, reason,
              error.empty() ? std::string{} : " (" + error + ")");
    if (!error.empty()) emit_error(call_id, sid, error);
    calls::VoiceEvent v;
    v.stream_sid = sid;
    v.reason = reason;
    emit(calls::EventKind::call_stream_stopped, call_id, std::move(v));
    if (hangup && reason != "hangup") hang_up(call_id, "its stream ended (onStreamEnd: hangup)");
  }
};

StreamManager::StreamManager(asio::any_io_executor ex, calls::CallManager& calls,
                             voice::VoiceManager& voice, StreamManagerOptions opts)
    : impl_(std::make_shared<Impl>(std::move(ex), calls, voice, std::move(opts))) {}

StreamManager::~StreamManager() {
  // No events from here on: the calls domain may be going too.
  impl_->closing = true;
  auto streams = impl_->by_call;
  impl_->by_call.clear();
  for (auto& [_, s] : streams) s->stop("shutdown", 1001);
}

awaitable<Outcome<std::string>> StreamManager::start(std::string call_id, StreamRequest req) {
  auto im = impl_;
  auto r = co_await im->start(std::move(call_id), std::move(req));
  co_return r;
}

Outcome<std::string> StreamManager::stop(const std::string& call_id) {
  auto rec = impl_->calls.get_call(call_id);
  if (!rec) return rec.error();
  impl_->armed.erase(call_id);
  auto it = impl_->by_call.find(call_id);
  if (it == impl_->by_call.end()) return Error(ErrorCode::stream_not_found, "Call has no stream");
  auto s = it->second;
  s->stop("api");
  return s->stream_sid();
}

void StreamManager::arm(const std::string& call_id, StreamRequest req) {
  auto rec = impl_->calls.get_call(call_id);
  if (!rec || calls::is_final(rec->state)) return;  // gone already: nothing to stream
  if (impl_->calls.media_ready(call_id)) {
    impl_->start_async(call_id, std::move(req), "requested");
    return;
  }
  impl_->armed[call_id] = std::move(req);
}

std::optional<Error> StreamManager::check_accept(const std::string& call_id) const {
  return impl_->can_start(call_id);
}

void StreamManager::accept(std::shared_ptr<net::WsConnection> ws, std::string call_id,
                           StreamRequest req) {
  impl_->accept(std::move(ws), std::move(call_id), std::move(req));
}

void StreamManager::publish(const calls::DomainEvent& e) {
  auto& im = *impl_;
  using K = calls::EventKind;
  switch (e.kind) {
    case K::call_ready: {
      if (auto it = im.armed.find(e.call_id); it != im.armed.end()) {
        auto req = std::move(it->second);
        im.armed.erase(it);
        im.start_async(e.call_id, std::move(req), "requested");
      } else if (im.opts.inbound && e.call && e.call->direction == calls::Direction::inbound) {
        im.start_async(e.call_id, *im.opts.inbound, "STREAM_URL");
      }
      break;
    }
    case K::call_dtmf:
      if (auto it = im.by_call.find(e.call_id); it != im.by_call.end()) {
        auto s = it->second;  // a failed send ends the stream and erases it
        s->dtmf(e.digit);
      }
      break;
    case K::call_ended:
      im.armed.erase(e.call_id);
      if (auto it = im.by_call.find(e.call_id); it != im.by_call.end()) {
        auto s = it->second;
        s->stop("hangup");
      }
      break;
    default:
      break;
  }
}

void StreamManager::stop_all(const std::string& reason) {
  auto streams = impl_->by_call;
  impl_->armed.clear();
  impl_->by_call.clear();
  impl_->closing = true;  // no events, no hang-ups (onStreamEnd) from here on
  for (auto& [_, s] : streams) s->stop(reason, 1001);
}

void StreamManager::set_mark_rtt_observer(std::function<void(std::chrono::microseconds)> fn) {
  impl_->mark_rtt = std::move(fn);
}

StreamStats StreamManager::stats() const {
  StreamStats s = impl_->totals;
  s.active = impl_->by_call.size();
  for (const auto& [_, st] : impl_->by_call) {
    const auto& c = st->counters();
    s.frames_out += c.frames_out;
    s.frames_in += c.frames_in;
    s.late_frames += c.late_frames;
    s.clears += c.clears;
    s.marks += c.marks;
  }
  return s;
}

std::shared_ptr<AgentStream> StreamManager::find(const std::string& call_id) const {
  auto it = impl_->by_call.find(call_id);
  return it == impl_->by_call.end() ? nullptr : it->second;
}

}  // namespace aa::stream
