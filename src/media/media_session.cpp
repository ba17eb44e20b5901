#include "media/media_session.hpp"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/log.hpp"
#include "net/ws_client.hpp"

namespace aa::media {

namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

Error ari_failure(const ari::AriError& e, std::string_view step) {
  using K = ari::AriError::Kind;
  const std::string detail = std::string(step) + ": " + e.message;
  switch (e.kind) {
    case K::unavailable:
      return Error(ErrorCode::ari_unavailable, "Asterisk is not connected", detail);
    case K::timeout:
      return Error(ErrorCode::ari_timeout, "Asterisk did not answer in time", detail);
    default:
      return Error(ErrorCode::ari_error, "Asterisk could not set up the media path",
                   std::to_string(e.status) + " " + detail);
  }
}

std::string channel_var(const ari::Channel& ch, std::string_view name) {
  for (const auto& [k, v] : ch.channelvars)
    if (k == name) return v;
  return {};
}

Clock::duration bytes_to_duration(size_t bytes, uint32_t rate_hz) {
  // 16-bit mono: 2 bytes per sample.
  const auto us = static_cast<int64_t>(bytes) * 1'000'000 / (2 * static_cast<int64_t>(rate_hz));
  return std::chrono::microseconds(us);
}

}  // namespace

// ---------------------------------------------------------------- Utterance

void Utterance::push(std::span<const int16_t> pcm) {
  if (ended_ || finished_ || pcm.empty()) return;
  pending_.append(reinterpret_cast<const char*>(pcm.data()), pcm.size_bytes());
  pushed_bytes_ += pcm.size_bytes();
  if (notify_) notify_();
}

void Utterance::end() {
  if (ended_) return;
  ended_ = true;
  if (notify_) notify_();
}

void Utterance::cue(std::string name) {
  if (ended_ || finished_) return;
  cues_.push_back(Cue{++cue_seq_, pushed_bytes_, std::move(name), false});
  if (notify_) notify_();
}

void Utterance::fire_cues(uint64_t seq, PlayoutEnd end) {
  while (!cues_.empty() && cues_.front().seq <= seq) {
    Cue c = std::move(cues_.front());
    cues_.pop_front();
    if (on_cue) on_cue(c.name, end);
  }
}

namespace {
constexpr char kCueSeparator = '~';
std::string cue_id(const Utterance& u, uint64_t seq) {
  return u.id() + kCueSeparator + std::to_string(seq);
}
}  // namespace

// ---------------------------------------------------------------- MediaSession

MediaSession::MediaSession(asio::any_io_executor ex, ari::AriApi& ari, MediaSessionOptions opts,
                           std::string call_id, std::string call_channel_id)
    : ex_(ex),
      ari_(ari),
      opts_(std::move(opts)),
      call_id_(std::move(call_id)),
      call_channel_id_(std::move(call_channel_id)),
      changed_(ex) {
  frame_bytes_ = static_cast<size_t>(opts_.rate_hz) * 2 / 50;  // 20 ms
}

MediaSession::~MediaSession() {
  if (ws_) {
    ws_->on_message = nullptr;
    ws_->on_binary = nullptr;
    ws_->on_close = nullptr;
    ws_->close(1000);
  }
}

awaitable<Status> MediaSession::start() {
  auto self = shared_from_this();
  if (state_ == State::up) co_return ok_status();
  if (state_ == State::closing || state_ == State::closed)
    co_return Error(ErrorCode::wrong_state, "The call's media session has ended");
  if (state_ == State::starting) {
    while (state_ == State::starting) co_await changed_.wait_for(std::chrono::seconds(1));
    if (state_ == State::up) co_return ok_status();
    co_return start_result_;
  }
  state_ = State::starting;
  Status st = co_await setup(self);
  start_result_ = st;
  if (!st) {
    log::warn("call {}: media session failed: {} ({})", call_id_, st.error().message,
              st.error().internal_detail);
    co_await teardown(self, "setup failed");
  }
  changed_.notify_all();
  co_return st;
}

awaitable<Status> MediaSession::setup(std::shared_ptr<MediaSession> self) {
  const auto started = Clock::now();
  media_channel_id_ = std::string(kMediaChannelPrefix) + uuid_v4();
  bridge_id_ = std::string(kVoiceBridgePrefix) + uuid_v4();

  ari::ExternalMediaParams p;
  p.app = opts_.app;
  p.channel_id = media_channel_id_;
  p.format = opts_.format;
  p.transport = "websocket";
  p.encapsulation = "none";
  p.connection_type = "server";
  auto ch = co_await ari_.external_media(p);
  if (!ch.ok()) {
    media_channel_id_.clear();  // nothing to hang up
    co_return ari_failure(ch.error, "externalMedia");
  }
  connection_id_ = channel_var(*ch, "MEDIA_WEBSOCKET_CONNECTION_ID");
  if (const auto fs = channel_var(*ch, "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE"); !fs.empty()) {
    const long n = std::strtol(fs.c_str(), nullptr, 10);
    if (n > 0 && n <= 65'000) frame_bytes_ = static_cast<size_t>(n);
  }
  if (connection_id_.empty())
    co_return Error(ErrorCode::voice_unavailable,
                    "Asterisk did not open a WebSocket media channel (chan_websocket needs "
                    "Asterisk 22.6, 21.11 or 20.16 or later)",
                    "externalMedia reply without MEDIA_WEBSOCKET_CONNECTION_ID");

  auto br = co_await ari_.create_bridge("mixing", bridge_id_, "voice-" + call_id_);
  if (!br.ok()) {
    bridge_id_.clear();
    co_return ari_failure(br.error, "create bridge");
  }
  if (state_ != State::starting) co_return Error(ErrorCode::wrong_state, "The call ended");

  net::WsClientOptions wo;
  wo.connect_timeout = opts_.setup_timeout;
  wo.headers.push_back({"Sec-WebSocket-Protocol", "media"});
  wo.verify_tls = opts_.verify_tls;
  wo.max_queue = 4096;
  wo.max_message = 1024 * 1024;
  auto conn = co_await net::ws_connect(opts_.asterisk, "/media/" + connection_id_, wo);
  if (!conn.connection) {
    co_return Error(
        ErrorCode::ari_error, "Asterisk refused the media connection",
        "/media/" + connection_id_ + ": " + std::to_string(conn.http_status) + " " + conn.error);
  }
  ws_ = conn.connection;
  std::weak_ptr<MediaSession> weak = self;
  ws_->on_message = [weak](std::string_view text) {
    if (auto s = weak.lock()) s->on_text(text);
  };
  ws_->on_binary = [weak](std::string_view data) {
    if (auto s = weak.lock()) s->on_binary(data);
  };
  ws_->on_close = [weak] {
    if (auto s = weak.lock()) s->on_socket_closed();
  };

  // A server-mode channel enters Stasis once its socket is connected.
  const auto deadline = Clock::now() + opts_.setup_timeout;
  while (!stasis_started_ && !socket_closed_ && !channel_gone_ && state_ == State::starting &&
         Clock::now() < deadline)
    co_await changed_.wait_until(deadline);
  if (socket_closed_ || channel_gone_)
    co_return Error(ErrorCode::ari_error, "The media connection closed during set-up");
  if (state_ != State::starting) co_return Error(ErrorCode::wrong_state, "The call ended");
  if (!stasis_started_)
    co_return Error(ErrorCode::ari_timeout, "Asterisk did not start the media channel in time",
                    "no StasisStart for " + media_channel_id_);

  // The caller and our channel meet in the private bridge, unless the call is
  // already in a bridge of its own: then our channel joins that one.
  std::vector<std::string> members;
  std::string target = bridge_id_;
  if (!call_bridge_.empty() && call_bridge_ != bridge_id_) {
    target = call_bridge_;
    members = {media_channel_id_};
  } else {
    members = {call_channel_id_, media_channel_id_};
  }
  auto add = co_await ari_.add_channels(target, members);
  if (!add.ok()) {
    if (add.error.kind == ari::AriError::Kind::http &&
        (add.error.status == 400 || add.error.status == 404 || add.error.status == 422))
      co_return Error(ErrorCode::wrong_state, "The call cannot take audio now (has it ended?)",
                      "addChannel: " + add.error.message);
    co_return ari_failure(add.error, "addChannel");
  }
  // MEDIA_START comes with the connection; wait briefly if it has not arrived.
  const auto ms_deadline = Clock::now() + milliseconds(2'000);
  while (!media_started_ && !socket_closed_ && Clock::now() < ms_deadline)
    co_await changed_.wait_until(ms_deadline);
  if (socket_closed_ || channel_gone_)
    co_return Error(ErrorCode::ari_error, "The media connection closed during set-up");
  if (state_ != State::starting) co_return Error(ErrorCode::wrong_state, "The call ended");
  if (!media_started_)
    log::warn("call {}: no MEDIA_START on the media socket; assuming plain-text control", call_id_);
  state_ = State::up;
  log::info("call {}: media session up (channel {}, bridge {}, {} control, marks {}, {} ms)",
            call_id_, media_channel_id_, target, form_ == cws::Form::json ? "json" : "plain",
            marks_ ? "yes" : "no",
            std::chrono::duration_cast<milliseconds>(Clock::now() - started).count());
  co_return ok_status();
}

awaitable<void> MediaSession::stop(std::string reason) {
  auto self = shared_from_this();
  while (state_ == State::starting) co_await changed_.wait_for(std::chrono::seconds(1));
  if (state_ == State::up || state_ == State::idle) {
    co_await teardown(self, std::move(reason));
    co_return;
  }
  while (state_ == State::closing) co_await changed_.wait_for(std::chrono::seconds(1));
}

awaitable<void> MediaSession::teardown(std::shared_ptr<MediaSession> self, std::string reason) {
  if (state_ == State::closing || state_ == State::closed) co_return;
  state_ = State::closing;
  // Whatever was still to be heard will not be.
  auto cut = [&](std::deque<std::shared_ptr<Utterance>>& q) {
    auto copy = std::move(q);
    q.clear();
    for (auto& u : copy) finish_utterance(u, PlayoutEnd::failed);
  };
  cut(queue_);
  cut(awaiting_);
  cue_awaiting_.clear();
  pending_bytes_ = 0;
  changed_.notify_all();

  // 1. Close the socket and wait for its close: Asterisk hangs the channel up then.
  if (ws_ && !socket_closed_) {
    ws_->close(1000, "");
    const auto deadline = Clock::now() + opts_.close_timeout;
    while (!socket_closed_ && Clock::now() < deadline) co_await changed_.wait_until(deadline);
  }
  // 2. The private bridge (the call leaves it, back to plain Stasis).
  if (!bridge_id_.empty()) {
    auto r = co_await ari_.destroy_bridge(bridge_id_);
    if (!r.ok() && !(r.error.kind == ari::AriError::Kind::http && r.error.status == 404))
      log::warn("call {}: destroying media bridge {} failed: {}", call_id_, bridge_id_,
                r.error.message);
  }
  // 3. A channel the socket close did not take with it.
  if (!media_channel_id_.empty() && !channel_gone_) {
    const auto deadline = Clock::now() + milliseconds(300);
    while (!channel_gone_ && Clock::now() < deadline) co_await changed_.wait_until(deadline);
    if (!channel_gone_) {
      auto r = co_await ari_.hangup(media_channel_id_, "normal");
      if (!r.ok() && !(r.error.kind == ari::AriError::Kind::http && r.error.status == 404))
        log::warn("call {}: hanging up media channel {} failed: {}", call_id_, media_channel_id_,
                  r.error.message);
    }
  }
  state_ = State::closed;
  log::info("call {}: media session closed ({})", call_id_, reason);
  changed_.notify_all();
  if (!closed_notified_) {
    closed_notified_ = true;
    if (on_closed) on_closed(reason);
  }
  (void)self;
}

void MediaSession::lost(const std::string& reason) {
  if (state_ != State::up) return;
  log::warn("call {}: media session lost: {}", call_id_, reason);
  spawn(ex_, teardown(shared_from_this(), reason), "media session teardown");
}

// ---------------------------------------------------------------- events

void MediaSession::on_ari_event(const ari::Event& e) {
  using T = ari::EventType;
  const std::string& id = e.channel_id();
  if (id.empty()) return;
  const bool ours = !media_channel_id_.empty() && id == media_channel_id_;
  const bool call = id == call_channel_id_;
  if (!ours && !call) return;
  switch (e.type) {
    case T::StasisStart:
      if (ours) {
        stasis_started_ = true;
        changed_.notify_all();
      }
      break;
    case T::StasisEnd:
    case T::ChannelDestroyed:
      if (ours) {
        channel_gone_ = true;
        changed_.notify_all();
        lost("media channel hung up");
      }
      break;
    case T::ChannelEnteredBridge:
    case T::ChannelLeftBridge: {
      if (!e.bridge) break;
      std::string& where = ours ? media_bridge_ : call_bridge_;
      if (e.type == T::ChannelEnteredBridge) {
        where = e.bridge->id;
      } else if (where == e.bridge->id) {
        where.clear();
      }
      place();
      break;
    }
    default:
      break;
  }
}

void MediaSession::place() {
  if (state_ != State::up) return;
  if (placing_) {
    place_again_ = true;
    return;
  }
  placing_ = true;
  spawn(ex_, placer(shared_from_this()), "media session placement");
}

awaitable<void> MediaSession::placer(std::shared_ptr<MediaSession> self) {
  // Let a burst of bridge events settle before acting on it.
  co_await sleep_for(milliseconds(20));
  do {
    place_again_ = false;
    if (state_ != State::up) break;
    const bool call_free = call_bridge_.empty() || call_bridge_ == bridge_id_;
    const std::string target = call_free ? bridge_id_ : call_bridge_;
    std::vector<std::string> members;
    if (call_free && call_bridge_.empty()) members.push_back(call_channel_id_);
    if (media_bridge_ != target) members.push_back(media_channel_id_);
    if (members.empty()) continue;
    log::debug("call {}: media follows the call into bridge {}", call_id_, target);
    auto r = co_await ari_.add_channels(target, members);
    if (!r.ok())
      log::debug("call {}: moving media into bridge {}: {} {}", call_id_, target, r.error.status,
                 r.error.message);
  } while (place_again_);
  placing_ = false;
  (void)self;
}

void MediaSession::on_text(std::string_view text) {
  auto ev = cws::parse_event(text);
  if (!ev) {
    log::debug("call {}: unreadable control message on the media socket", call_id_);
    return;
  }
  using E = cws::EventType;
  switch (ev->type) {
    case E::media_start:
      media_started_ = true;
      form_ = ev->form;
      // channel_id in MEDIA_START and the JSON form both arrived with 22.8, as did MARK_MEDIA.
      marks_ = ev->form == cws::Form::json || !ev->channel_id.empty();
      if (ev->optimal_frame_size > 0 && ev->optimal_frame_size <= 65'000)
        frame_bytes_ = static_cast<size_t>(ev->optimal_frame_size);
      changed_.notify_all();
      break;
    case E::media_xoff:
      xoff_ = true;
      ++stats_.xoff;
      log::debug("call {}: MEDIA_XOFF", call_id_);
      break;
    case E::media_xon:
      xoff_ = false;
      changed_.notify_all();
      break;
    case E::media_mark_processed:
      if (marks_) heard(ev->correlation_id);
      break;
    case E::media_buffering_completed:
      if (!marks_) heard(ev->correlation_id);
      break;
    case E::error:
      log::warn("call {}: chan_websocket error: {}", call_id_, ev->error_text);
      break;
    default:
      break;  // QUEUE_DRAINED, STATUS, DTMF_END (ARI reports DTMF already)
  }
}

void MediaSession::on_binary(std::string_view data) {
  ++stats_.frames_in;
  if (!on_audio || data.size() < 2) return;
  in_buf_.resize(data.size() / 2);
  std::memcpy(in_buf_.data(), data.data(), in_buf_.size() * 2);
  on_audio(std::span<const int16_t>(in_buf_));
}

void MediaSession::on_socket_closed() {
  socket_closed_ = true;
  changed_.notify_all();
  lost("media socket closed");
}

void MediaSession::send_command(cws::CommandType t, std::string_view id) {
  if (ws_) ws_->send(cws::format_command(t, form_, id));
}

// ---------------------------------------------------------------- sending

bool MediaSession::play(std::shared_ptr<Utterance> u) {
  if (state_ != State::up) return false;
  size_t pending = 0;
  for (const auto& q : queue_) pending += q->pending_.size();
  if (pending > opts_.max_pending_bytes) return false;
  std::weak_ptr<MediaSession> weak = shared_from_this();
  u->notify_ = [weak] {
    if (auto s = weak.lock()) s->changed_.notify_all();
  };
  queue_.push_back(std::move(u));
  if (!sender_running_) {
    sender_running_ = true;
    spawn(ex_, sender(shared_from_this()), "media session sender");
  } else {
    changed_.notify_all();
  }
  return true;
}

awaitable<void> MediaSession::sender(std::shared_ptr<MediaSession> self) {
  const size_t max_message = (cws::kMaxBinaryMessage / frame_bytes_) * frame_bytes_;
  const auto lookahead = std::chrono::duration_cast<Clock::duration>(opts_.lookahead);
  const auto refill_below = lookahead * 3 / 4;
  while (state_ == State::up && !queue_.empty()) {
    auto u = queue_.front();
    if (xoff_) {
      co_await changed_.wait_for(milliseconds(500));
      continue;
    }
    const auto now = Clock::now();
    if (playout_end_ < now) playout_end_ = now;
    dispatch_cues(u);
    const auto ahead = playout_end_ - now;
    const size_t avail = u->pending_.size();
    if (avail == 0 && !u->ended_) {
      co_await changed_.wait_for(std::chrono::seconds(1));  // more audio, or the end
      continue;
    }
    if (avail > 0) {
      if (ahead >= refill_below) {
        co_await changed_.wait_until(playout_end_ - refill_below + milliseconds(1));
        continue;
      }
      const auto room = lookahead - ahead;
      size_t n =
          static_cast<size_t>(std::chrono::duration_cast<std::chrono::microseconds>(room).count()) *
          opts_.rate_hz * 2 / 1'000'000;
      n = std::min({n, avail, max_message});
      // Stop at the next cue's frame, so that its MARK_MEDIA follows that audio.
      for (const auto& c : u->cues_) {
        if (c.dispatched) continue;
        const size_t boundary = c.offset / frame_bytes_ * frame_bytes_;
        if (boundary > u->sent_bytes_) n = std::min(n, boundary - u->sent_bytes_);
        break;
      }
      // Whole frames only, except the very last piece of an ended utterance
      // (kept by buffering mode and played as a short frame).
      const bool last_piece = u->ended_ && n == avail;
      if (!last_piece) n -= n % frame_bytes_;
      if (n == 0) {
        co_await changed_.wait_for(std::chrono::seconds(1));
        continue;
      }
      if (!u->started_) {
        u->started_ = true;
        send_command(cws::CommandType::start_media_buffering);
        u->play_start = playout_end_;
      }
      const bool first = u->sent_bytes_ == 0;
      if (!ws_->send_binary(std::string_view(u->pending_.data(), n))) {
        lost("media socket would not take more audio");
        break;
      }
      if (on_sent) on_sent(std::string_view(u->pending_.data(), n), playout_end_);
      u->pending_.erase(0, n);
      u->sent_bytes_ += n;
      ++stats_.messages_out;
      stats_.bytes_out += n;
      playout_end_ += bytes_to_duration(n, opts_.rate_hz);
      u->play_end = playout_end_;
      if (first && u->on_first_sent) u->on_first_sent();
      dispatch_cues(u);
      continue;
    }
    // Ended and fully sent.
    queue_.pop_front();
    if (u->sent_bytes_ == 0) {
      finish_utterance(u, PlayoutEnd::heard);  // nothing to play
      continue;
    }
    send_command(cws::CommandType::stop_media_buffering, u->id());
    if (marks_) send_command(cws::CommandType::mark_media, u->id());
    awaiting_.push_back(u);
    if (!guard_running_) {
      guard_running_ = true;
      spawn(ex_, heard_guard(self), "media session heard guard");
    }
  }
  sender_running_ = false;
}

awaitable<void> MediaSession::heard_guard(std::shared_ptr<MediaSession> self) {
  // Asterisk's reply normally ends an utterance; this ends it at the computed
  // play-out time (plus a margin) if the reply never comes. Cues without
  // MARK_MEDIA (before 22.8) fire at their computed time itself.
  const auto margin = milliseconds(1'500);
  while (state_ == State::up && (!awaiting_.empty() || !cue_awaiting_.empty())) {
    auto due = Clock::time_point::max();
    if (!awaiting_.empty()) due = awaiting_.front()->play_end + margin;
    if (!cue_awaiting_.empty())
      due = std::min(due, cue_awaiting_.front().due + (marks_ ? margin : Clock::duration::zero()));
    if (Clock::now() < due) {
      co_await changed_.wait_until(due);
      continue;
    }
    const auto now = Clock::now();
    while (!cue_awaiting_.empty() &&
           cue_awaiting_.front().due + (marks_ ? margin : Clock::duration::zero()) <= now) {
      auto w = std::move(cue_awaiting_.front());
      cue_awaiting_.pop_front();
      w.u->fire_cues(w.seq, PlayoutEnd::heard);
    }
    while (!awaiting_.empty() && awaiting_.front()->play_end + margin <= now) {
      auto u = awaiting_.front();
      log::debug("call {}: no play-out reply for {}: using the computed time", call_id_, u->id());
      awaiting_.pop_front();
      finish_utterance(u, PlayoutEnd::heard);
    }
  }
  guard_running_ = false;
  (void)self;
}

void MediaSession::dispatch_cues(const std::shared_ptr<Utterance>& u) {
  for (auto& c : u->cues_) {
    if (c.dispatched) continue;
    const size_t boundary = c.offset / frame_bytes_ * frame_bytes_;
    if (boundary > u->sent_bytes_) break;  // its audio is not all sent yet
    c.dispatched = true;
    const auto due = playout_end_ - bytes_to_duration(u->sent_bytes_ - boundary, opts_.rate_hz);
    if (marks_) send_command(cws::CommandType::mark_media, cue_id(*u, c.seq));
    cue_awaiting_.push_back(CueWait{u, c.seq, due});
  }
  if (!cue_awaiting_.empty() && !guard_running_) {
    guard_running_ = true;
    spawn(ex_, heard_guard(shared_from_this()), "media session heard guard");
  }
}

void MediaSession::cue_heard(const std::string& id) {
  // Replies come in order: every cue dispatched before this one was heard too.
  auto it = std::find_if(cue_awaiting_.begin(), cue_awaiting_.end(),
                         [&](const CueWait& w) { return cue_id(*w.u, w.seq) == id; });
  if (it == cue_awaiting_.end()) return;
  std::vector<CueWait> done(std::make_move_iterator(cue_awaiting_.begin()),
                            std::make_move_iterator(it + 1));
  cue_awaiting_.erase(cue_awaiting_.begin(), it + 1);
  for (auto& w : done) w.u->fire_cues(w.seq, PlayoutEnd::heard);
  changed_.notify_all();
}

void MediaSession::heard(const std::string& id) {
  if (id.find(kCueSeparator) != std::string::npos) {
    cue_heard(id);
    return;
  }
  if (awaiting_.empty()) return;
  auto it = awaiting_.begin();
  if (!id.empty()) {
    it = std::find_if(awaiting_.begin(), awaiting_.end(),
                      [&](const auto& u) { return u->id() == id; });
    if (it == awaiting_.end()) return;
  }
  // Replies come in order: anything before this one was heard too.
  std::vector<std::shared_ptr<Utterance>> done(awaiting_.begin(), it + 1);
  awaiting_.erase(awaiting_.begin(), it + 1);
  for (auto& u : done) finish_utterance(u, PlayoutEnd::heard);
  changed_.notify_all();
}

size_t MediaSession::flush() {
  if (state_ != State::up) return 0;
  send_command(cws::CommandType::flush_media);
  ++stats_.flushes;
  const size_t n = queue_.size() + awaiting_.size();
  auto q = std::move(queue_);
  auto a = std::move(awaiting_);
  queue_.clear();
  awaiting_.clear();
  cue_awaiting_.clear();  // FLUSH_MEDIA drops pending marks: their cues fire as interrupted
  for (auto& u : a) finish_utterance(u, PlayoutEnd::interrupted);
  for (auto& u : q) finish_utterance(u, PlayoutEnd::interrupted);
  playout_end_ = Clock::now();
  changed_.notify_all();
  return n;
}

void MediaSession::finish_utterance(const std::shared_ptr<Utterance>& u, PlayoutEnd end) {
  if (u->finished_) return;
  u->finished_ = true;
  u->notify_ = nullptr;
  double heard_s = 0;
  if (u->sent_bytes_ > 0) {
    const auto total = u->play_end - u->play_start;
    auto played = end == PlayoutEnd::heard ? total : Clock::now() - u->play_start;
    played = std::clamp(played, Clock::duration::zero(), total);
    heard_s = std::chrono::duration<double>(played).count();
  }
  u->pending_.clear();
  // Cues not fired yet lie before the end: heard with it, or cut with it.
  u->fire_cues(std::numeric_limits<uint64_t>::max(), end);
  u->on_cue = nullptr;
  auto cb = std::move(u->on_finished);
  u->on_finished = nullptr;
  u->on_first_sent = nullptr;
  if (cb) cb(end, heard_s);
}

}  // namespace aa::media
