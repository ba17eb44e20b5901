#include "stream/agent_stream.hpp"

#include <algorithm>
#include <bit>
#include <cstring>

#include "audio/g711.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "media/media_session.hpp"

namespace aa::stream {

namespace {
using std::chrono::milliseconds;
constexpr auto kChunk = milliseconds(20);

void append_le(std::span<const int16_t> pcm, std::string& out) {
  // s16le on the wire; this service runs on little-endian hosts (x86-64, arm64).
  static_assert(std::endian::native == std::endian::little);
  out.append(reinterpret_cast<const char*>(pcm.data()), pcm.size_bytes());
}
}  // namespace

AgentStream::AgentStream(asio::any_io_executor ex, std::string call_id, std::string stream_sid,
                         StreamRequest req, StreamOptions opts, Hooks hooks)
    : ex_(ex),
      call_id_(std::move(call_id)),
      sid_(std::move(stream_sid)),
      req_(std::move(req)),
      opts_(std::move(opts)),
      hooks_(std::move(hooks)),
      changed_(ex) {}

AgentStream::~AgentStream() = default;

uint64_t AgentStream::elapsed_ms() const {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<milliseconds>(Clock::now() - started_).count());
}

void AgentStream::run(std::shared_ptr<net::WsConnection> ws,
                      std::shared_ptr<media::MediaSession> session) {
  ws_ = std::move(ws);
  session_ = std::move(session);
  session_rate_ = session_->rate_hz();
  started_ = Clock::now();
  flushes_seen_ = session_->stats().flushes;
  const uint32_t wire_hz = sample_rate(req_.format);
  if (wire_hz != session_rate_) {
    // 20 ms frames, resampled as they come: speexdsp's VoIP quality keeps
    // a stream's cost small (see bench/stream_bench).
    down_ =
        std::make_unique<audio::Resampler>(session_rate_, wire_hz, audio::Resampler::kQualityVoip);
    up_ =
        std::make_unique<audio::Resampler>(wire_hz, session_rate_, audio::Resampler::kQualityVoip);
    if (req_.tracks == Tracks::both)
      out_down_ = std::make_unique<audio::Resampler>(session_rate_, wire_hz,
                                                     audio::Resampler::kQualityVoip);
  }
  std::weak_ptr<AgentStream> weak = weak_from_this();
  ws_->on_message = [weak](std::string_view text) {
    if (auto s = weak.lock()) s->on_text(text);
  };
  ws_->on_binary = [weak](std::string_view) {
    if (auto s = weak.lock())
      s->end("protocol_error", "binary messages are not part of the protocol", 1008);
  };
  ws_->on_close = [weak] {
    if (auto s = weak.lock()) s->end("agent_closed", "", 0);
  };
  send(twilio::connected());
  twilio::StartInfo si;
  si.stream_sid = sid_;
  si.call_sid = call_id_;
  si.account_sid = opts_.account_sid;
  si.tracks = req_.tracks;
  si.format = req_.format;
  si.custom_parameters = req_.custom_parameters;
  send(twilio::start(++seq_, si));
  if (ended_) return;  // the agent was gone before start
  if (req_.tracks == Tracks::both) {
    session_->on_sent = [weak](std::string_view pcm, Clock::time_point at) {
      if (auto s = weak.lock()) s->on_sent(pcm, at);
    };
  }
  spawn(ex_, pump(shared_from_this()), "agent stream pump");
}

// ---- to the agent ----

bool AgentStream::send(std::string msg) {
  if (ended_ || !ws_) return false;
  if (ws_->queued() >= opts_.max_queued_messages) {
    end("agent_too_slow",
        "the agent does not read its stream: cut off at " +
            std::to_string(opts_.max_queued_messages) + " unwritten messages",
        1008);
    return false;
  }
  if (!ws_->send(msg)) {
    end("agent_closed", "", 0);
    return false;
  }
  return true;
}

void AgentStream::on_caller_audio(std::span<const int16_t> pcm) {
  if (ended_ || !ws_) return;
  if (req_.format == Format::mulaw8k) {
    scratch_.clear();
    if (down_)
      down_->process(pcm, scratch_);
    else
      scratch_.assign(pcm.begin(), pcm.end());
    audio::ulaw_encode(scratch_, in_acc_);
  } else if (down_) {
    scratch_.clear();
    down_->process(pcm, scratch_);
    append_le(scratch_, in_acc_);
  } else {
    append_le(pcm, in_acc_);
  }
  const size_t chunk = chunk_bytes(req_.format);
  if (in_acc_.size() < chunk) return;
  // The previous message (20 ms ago) has not left yet: this one is late.
  const bool late = ws_->queued() > 0;
  uint64_t ts = elapsed_ms();
  size_t off = 0;
  for (; off + chunk <= in_acc_.size(); off += chunk) {
    const std::string b64 = base64_encode(std::string_view(in_acc_).substr(off, chunk));
    if (!send(twilio::media(++seq_, sid_, "inbound", ++in_chunk_, ts, b64))) return;
    ++counters_.frames_out;
    if (late) ++counters_.late_frames;
    ts += kChunk.count();
  }
  in_acc_.erase(0, off);
}

void AgentStream::dtmf(std::string_view digit) {
  send(twilio::dtmf(++seq_, sid_, digit));
}

void AgentStream::send_mark(const std::string& name, Clock::time_point received) {
  if (pending_marks_) --pending_marks_;
  if (!send(twilio::mark(++seq_, sid_, name))) return;
  ++counters_.marks;
  if (hooks_.on_mark_rtt)
    hooks_.on_mark_rtt(
        std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - received));
}

// ---- from the agent ----

void AgentStream::on_text(std::string_view text) {
  if (ended_) return;
  auto [msg, refusal] = twilio::parse(text, sid_, req_.format);
  if (!msg) {
    log::warn("call {}: stream {}: {}: closing with {}", call_id_, sid_, refusal.reason,
              refusal.close_code);
    end("protocol_error", refusal.reason, refusal.close_code);
    return;
  }
  using K = twilio::Inbound::Kind;
  switch (msg->kind) {
    case K::media:
      ++counters_.frames_in;
      on_agent_media(msg->audio);
      break;
    case K::mark:
      on_agent_mark(std::move(msg->name));
      break;
    case K::clear:
      on_clear();
      break;
    case K::hangup:
      if (hangup_requested_) break;  // once
      hangup_requested_ = true;
      log::info("call {}: stream {}: the agent hangs up", call_id_, sid_);
      if (hooks_.on_hangup) hooks_.on_hangup();
      break;
    case K::ignored:
      break;
  }
}

void AgentStream::on_agent_media(const std::string& bytes) {
  if (!session_ || !session_->up() || bytes.empty()) return;
  scratch_.clear();
  if (req_.format == Format::mulaw8k) {
    std::vector<int16_t> lin;
    audio::ulaw_decode(bytes, lin);
    if (up_)
      up_->process(lin, scratch_);
    else
      scratch_ = std::move(lin);
  } else {
    std::vector<int16_t> lin(bytes.size() / 2);
    std::memcpy(lin.data(), bytes.data(), lin.size() * 2);
    if (up_)
      up_->process(lin, scratch_);
    else
      scratch_ = std::move(lin);
  }
  if (scratch_.empty()) return;
  // Never a silent drop: past the bound the stream ends with an error.
  size_t buffered = scratch_.size() * 2;
  for (const auto& s : segments_) buffered += s->u->pending_bytes();
  const size_t limit = static_cast<size_t>(opts_.max_buffered_audio.count()) * session_rate_ * 2;
  if (buffered > limit) {
    end("buffer_full",
        "the agent sent more than " + std::to_string(opts_.max_buffered_audio.count()) +
            " s of audio ahead of play-out",
        1008);
    return;
  }
  if (!open_) {
    auto seg = std::make_shared<Segment>();
    seg->u = std::make_shared<media::Utterance>(sid_ + "-" + std::to_string(++segment_seq_));
    std::weak_ptr<AgentStream> weak = weak_from_this();
    std::weak_ptr<Segment> wseg = seg;
    seg->u->on_finished = [weak, wseg](media::PlayoutEnd, double) {
      auto s = weak.lock();
      auto g = wseg.lock();
      if (s && g) s->segment_done(g);
    };
    seg->u->on_cue = [weak, wseg](const std::string& name, media::PlayoutEnd) {
      auto s = weak.lock();
      auto g = wseg.lock();
      if (!s || !g || g->cue_times.empty()) return;
      const auto at = g->cue_times.front();
      g->cue_times.pop_front();
      s->send_mark(name, at);
    };
    if (!session_->play(seg->u)) {
      end("buffer_full", "the call's media session takes no more audio", 1008);
      return;
    }
    open_ = seg;
    segments_.push_back(seg);
  }
  open_->u->push(scratch_);
  last_agent_media_ = Clock::now();
  changed_.notify_all();  // the pump re-arms its idle deadline
}

void AgentStream::close_open_segment() {
  if (!open_) return;
  auto seg = std::move(open_);
  open_.reset();
  if (up_) {
    // The resampler's last few samples belong to this segment.
    scratch_.clear();
    up_->flush(scratch_);
    if (!scratch_.empty()) seg->u->push(scratch_);
  }
  seg->u->end();
}

void AgentStream::on_agent_mark(std::string name) {
  const auto now = Clock::now();
  if (pending_marks_ >= opts_.max_pending_marks) {
    end("protocol_error",
        "more than " + std::to_string(opts_.max_pending_marks) + " marks waiting to be returned",
        1008);
    return;
  }
  ++pending_marks_;
  if (open_) {
    // A cue point in the open segment: the audio goes on without a seam.
    open_->cue_times.push_back(now);
    open_->u->cue(std::move(name));
  } else if (!segments_.empty()) {
    segments_.back()->marks.emplace_back(std::move(name), now);
  } else {
    send_mark(name, now);  // nothing is playing: already "heard"
  }
}

void AgentStream::segment_done(const std::shared_ptr<Segment>& seg) {
  if (seg->done) return;
  seg->done = true;
  if (open_ == seg) open_.reset();
  std::erase(segments_, seg);
  for (const auto& [name, at] : seg->marks) send_mark(name, at);
}

void AgentStream::on_clear() {
  ++counters_.clears;
  if (open_) close_open_segment();
  // FLUSH_MEDIA: Asterisk drops what it queued; every segment ends
  // interrupted and returns its marks (segment_done). Nothing of ours
  // queued: nothing to flush (a clear flood must not cut others' speech).
  if (session_ && session_->up() && !segments_.empty()) session_->flush();
  auto left = segments_;  // none normally; a session that is down
  for (auto& s : left) segment_done(s);
  out_q_.clear();
  out_acc_.clear();
}

// ---- what the caller hears (tracks=both) ----

void AgentStream::on_sent(std::string_view pcm, Clock::time_point play_at) {
  if (ended_) return;
  std::vector<int16_t> lin(pcm.size() / 2);
  std::memcpy(lin.data(), pcm.data(), lin.size() * 2);
  std::string enc;
  if (out_down_) {
    scratch_.clear();
    out_down_->process(lin, scratch_);
    lin.swap(scratch_);
  }
  if (req_.format == Format::mulaw8k)
    audio::ulaw_encode(lin, enc);
  else
    append_le(lin, enc);
  if (out_acc_.empty()) out_acc_at_ = play_at;
  out_acc_ += enc;
  const size_t chunk = chunk_bytes(req_.format);
  size_t off = 0;
  for (; off + chunk <= out_acc_.size(); off += chunk) {
    out_q_.push_back(OutChunk{out_acc_at_, out_acc_.substr(off, chunk)});
    out_acc_at_ += kChunk;
  }
  out_acc_.erase(0, off);
  changed_.notify_all();
}

awaitable<void> AgentStream::pump(std::shared_ptr<AgentStream> self) {
  while (!ended_) {
    const auto now = Clock::now();
    // A clear or a speak/stop flushed Asterisk: what it dropped is never heard.
    if (session_ && session_->stats().flushes != flushes_seen_) {
      flushes_seen_ = session_->stats().flushes;
      out_q_.clear();
      out_acc_.clear();
    }
    while (!out_q_.empty() && out_q_.front().at <= now && !ended_) {
      auto c = std::move(out_q_.front());
      out_q_.pop_front();
      const auto ts = std::chrono::duration_cast<milliseconds>(c.at - started_).count();
      if (!send(twilio::media(++seq_, sid_, "outbound", ++out_chunk_,
                              static_cast<uint64_t>(std::max<int64_t>(0, ts)),
                              base64_encode(c.bytes))))
        break;
    }
    if (ended_) break;
    if (open_ && now - last_agent_media_ >= opts_.idle_end) close_open_segment();
    auto deadline = now + std::chrono::seconds(1);
    if (open_) deadline = std::min(deadline, last_agent_media_ + opts_.idle_end);
    if (!out_q_.empty()) deadline = std::min(deadline, out_q_.front().at);
    co_await changed_.wait_until(deadline);
  }
  (void)self;
}

// ---- the end ----

void AgentStream::stop(const std::string& reason, uint16_t close_code) {
  if (ended_) return;
  auto self = shared_from_this();  // the end may release the last owner
  close_open_segment();            // what the agent sent plays out
  send(twilio::stop(++seq_, sid_, call_id_, opts_.account_sid));
  end(hangup_requested_ && reason == "hangup" ? "agent_hangup" : reason, "", close_code);
}

void AgentStream::media_lost(const std::string& why) {
  if (ended_) return;
  send(twilio::stop(++seq_, sid_, call_id_, opts_.account_sid));
  end("media_lost", why, 1000);
}

void AgentStream::end(const std::string& reason, const std::string& error, uint16_t close_code) {
  if (ended_) return;
  auto self = shared_from_this();  // on_ended may release the last owner
  ended_ = true;
  if (session_ && req_.tracks == Tracks::both) session_->on_sent = nullptr;
  if (ws_) {
    ws_->on_message = nullptr;
    ws_->on_binary = nullptr;
    ws_->on_close = nullptr;
    if (close_code != 0 && ws_->is_open()) {
      std::string why = error.empty() ? reason : error;
      if (why.size() > 120) {  // a close reason is at most 123 bytes, UTF-8
        size_t n = 120;
        while (n > 0 && (static_cast<unsigned char>(why[n]) & 0xC0) == 0x80) --n;
        why.resize(n);
      }
      ws_->close(close_code, why);
    }
  }
  if (open_) close_open_segment();
  out_q_.clear();
  changed_.notify_all();
  auto cb = std::move(hooks_.on_ended);
  hooks_ = Hooks{};
  if (cb) cb(reason, error);
}

}  // namespace aa::stream
