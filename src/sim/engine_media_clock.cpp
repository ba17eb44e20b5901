// The media plane's clock: one 20 ms tick (× time scale) for every channel of
// the simulator, with no per-channel timer. Each tick:
//   1. every channel says what it says this tick: a chan_websocket channel
//      plays the next frame of its queue (and sends the replies queued in
//      front of it), a SIP caller ("phone") its queued speech or silence, an
//      echoing far end what it heard one tick ago;
//   2. every bridge mixes: each member hears the saturating sum of the other
//      members' speech (and of a bridge playback); a member that plays an ARI
//      playback is out of the bridge's audio while it plays (it neither speaks
//      into the bridge nor hears it: traces README, "Playing to a bridged
//      channel takes it out of the bridge's audio");
//   3. a channel that plays a playback hears it; a phone alone hears silence.
// What a chan_websocket channel hears goes to its app as one binary frame per
// tick; what a phone hears is logged (GET /_sim/channels/{id}/heard.wav).
// As in Asterisk 22.11: no silence frames are made up for quiet channels (a
// websocket channel alone, or bridged with a silent Local channel, receives
// nothing), but a SIP phone sends silence continuously (sip-echo trace).
#include <time.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/log.hpp"
#include "sim/media_plane.hpp"

namespace aa::sim {
namespace cws = media::cws;
using Clock = std::chrono::steady_clock;

namespace {

/// More ticks than this in one wake-up (the io thread was stalled for 2 s of
/// simulated time): the clock skips ahead instead of playing it all at once.
constexpr int kMaxTicksPerWake = 100;
constexpr int kToneAmplitude = 8000;  // the traces' test tone: RMS ≈ 5657

int64_t thread_cpu_us() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

bool is_phone(const Engine::SimChannel& ch) {
  return ch.info.state == "Up" && !ch.hanging_up && ch.info.name.rfind("PJSIP/", 0) == 0;
}

/// The playback this channel is playing (its operation queue's head), if any.
const Engine::SimPlayback* playing(const Engine::SimChannel& ch) {
  if (ch.ops.empty()) return nullptr;
  const auto& op = ch.ops.front();
  if (!op->started || !op->playback) return nullptr;
  const auto& state = op->playback->info.state;
  return state == "playing" || state == "paused" ? op->playback.get() : nullptr;
}

const Engine::SimPlayback* bridge_playing(const Engine::SimBridge& b) {
  if (b.playbacks.empty()) return nullptr;
  const auto& pb = b.playbacks.front();
  return pb->info.state == "playing" || pb->info.state == "paused" ? pb.get() : nullptr;
}

}  // namespace

void Engine::media_clock_ensure() {
  auto& p = *media_;
  if (p.running) return;
  p.running = true;
  const uint64_t run = ++p.run;
  p.scale = opts_.time_scale;
  p.anchor = Clock::now();
  p.anchor_tick = p.tick;
  p.tick_ms = std::max(p.tick_ms, sim_now_ms());
  std::weak_ptr<bool> alive = alive_;
  asio::post(ex_, [this, alive, run] {
    if (!alive.expired()) media_clock_wake(run);
  });
}

void Engine::media_clock_wake(uint64_t run) {
  auto& p = *media_;
  if (!p.running || run != p.run) return;
  if (channels_.empty()) {
    p.running = false;  // nothing to clock; new_channel starts it again
    return;
  }
  const auto now = Clock::now();
  if (opts_.time_scale != p.scale) {
    p.scale = opts_.time_scale;
    p.anchor = now;
    p.anchor_tick = p.tick;
  }
  const double period_us = kTickMs * 1000.0 * p.scale;
  auto due = [&](int64_t k) {
    return p.anchor +
           std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::micro>(
               period_us * static_cast<double>(k - p.anchor_tick)));
  };
  const int64_t late_us =
      std::chrono::duration_cast<std::chrono::microseconds>(now - due(p.tick)).count();
  if (late_us > p.max_late_us) p.max_late_us = late_us;
  if (late_us > period_us) ++p.late_wakes;
  const int64_t cpu0 = thread_cpu_us();
  int done = 0;
  while (due(p.tick) <= now && done < kMaxTicksPerWake) {
    media_tick();
    ++done;
  }
  if (due(p.tick) <= now) {
    // Far behind: skip ahead rather than burst (an overloaded Asterisk drops
    // timer events too).
    const int64_t behind = static_cast<int64_t>(
        std::chrono::duration<double, std::micro>(now - due(p.tick)).count() / period_us);
    p.skipped_ticks += static_cast<uint64_t>(behind);
    p.tick_ms += behind * kTickMs;
    p.anchor = now;
    p.anchor_tick = p.tick;
  }
  p.busy_us += thread_cpu_us() - cpu0;
  // Wake at the next tick, but not more often than every millisecond (at small
  // time scales several ticks run per wake-up).
  auto next = due(p.tick);
  const auto soonest = Clock::now() + std::chrono::milliseconds(1);
  if (next < soonest) next = soonest;
  p.timer.expires_at(next);
  std::weak_ptr<bool> alive = alive_;
  p.timer.async_wait([this, alive, run](const boost::system::error_code& ec) {
    if (!ec && !alive.expired()) media_clock_wake(run);
  });
}

void Engine::media_remote_fetched(const std::string& url, std::string_view body) {
  auto pcm = decode_wav_to_mix(body);
  if (!pcm) return;
  auto& p = *media_;
  if (!p.remote_audio.count(url)) p.remote_order.push_back(url);
  p.remote_audio[url] = std::make_shared<const std::vector<int16_t>>(std::move(*pcm));
  while (p.remote_order.size() > kRemoteAudioCache) {
    p.remote_audio.erase(p.remote_order.front());
    p.remote_order.pop_front();
  }
}

void Engine::media_tick() {
  auto& p = *media_;
  const int64_t now_ms = p.tick_ms;
  thread_local std::vector<int16_t> decoded;

  // What a playback item sounds like: real audio for fetched files and stored
  // recordings, a 440 Hz tone for Asterisk's sound files (which the simulator
  // does not have) and spoken digits, 425 Hz for tone: indications.
  auto playback_frame = [&](PlaybackCursor& cur, const SimPlayback& pb, int16_t* out) {
    if (cur.playback != &pb || cur.index != pb.index) {
      cur = PlaybackCursor{};
      cur.playback = &pb;
      cur.index = pb.index;
      const std::string& uri = pb.media[pb.index];
      const auto colon = uri.find(':');
      const std::string scheme = colon == std::string::npos ? "" : uri.substr(0, colon);
      const std::string rest = colon == std::string::npos ? uri : uri.substr(colon + 1);
      if (scheme == "sound" && (rest.rfind("http://", 0) == 0 || rest.rfind("https://", 0) == 0)) {
        auto it = p.remote_audio.find(rest);
        if (it == p.remote_audio.end()) {
          // Still being fetched: Asterisk's media cache retrieves the file
          // before the first frame, so the caller hears silence until then and
          // the file from its start after (seen as silence throughout when a
          // loaded fetch outlasted the first tick).
          cur = PlaybackCursor{};
          std::fill(out, out + kTickSamples, 0);
          return;
        }
        cur.pcm = it->second;
      } else if (scheme == "sound" || scheme == "digits" || scheme == "number" ||
                 scheme == "characters") {
        cur.tone_hz = 440;
      } else if (scheme == "tone") {
        cur.tone_hz = 425;
      } else if (scheme == "recording") {
        if (auto path = stored_path(rest); path && path->ends_with(".wav")) {
          std::ifstream f(*path, std::ios::binary);
          std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
          if (auto pcm = decode_wav_to_mix(bytes))
            cur.pcm = std::make_shared<const std::vector<int16_t>>(std::move(*pcm));
        }
      }
    }
    if (pb.paused) {
      std::fill(out, out + kTickSamples, 0);
      return;
    }
    for (int i = 0; i < kTickSamples; ++i) {
      const int64_t at = cur.pos + i;
      if (cur.pcm)
        out[i] =
            at < static_cast<int64_t>(cur.pcm->size()) ? (*cur.pcm)[static_cast<size_t>(at)] : 0;
      else if (cur.tone_hz)
        out[i] = tone_sample(cur.tone_hz, kToneAmplitude, at);
      else
        out[i] = 0;
    }
    cur.pos += kTickSamples;
  };

  // chan_websocket's dequeue_frame() + webchan_read(), one timer tick.
  auto ws_play = [&](SimChannel& ch, ChannelMedia& m) {
    WsChannelState& ws = *m.ws;
    if (!ws.connected || ws.direction == WsChannelState::Direction::in) return;
    auto send_text = [&](const std::string& text) {
      if (ws.socket) ws.socket->send(text);
    };
    auto send_event = [&](cws::EventType t) {
      cws::Event e;
      e.type = t;
      e.channel_id = ch.info.id;
      send_text(cws::format_event(e, ws.form));
    };
    std::string frame;
    bool have = false;
    if (!ws.paused) {
      if (ws.queue_full && ws.queue_length < cws::kXonLevel) {
        ws.queue_full = false;
        send_event(cws::EventType::media_xon);
      }
      if (ws.queue.empty()) {
        if (ws.report_drained) {
          ws.report_drained = false;
          send_event(cws::EventType::queue_drained);
        }
      } else {
        // Replies queued in front of the next frame go out now, all of them;
        // they use no media time slot.
        while (!ws.queue.empty() && ws.queue.front().control) {
          send_text(ws.queue.front().data);
          ws.queue.pop_front();
          --ws.controls;
        }
        if (!ws.queue.empty()) {
          frame = std::move(ws.queue.front().data);
          ws.queue.pop_front();
          --ws.queue_length;
          have = true;
        }
      }
    }
    // Nothing queued but a buffered remainder: it plays as a short frame
    // (buffering-mark-flush trace, step h).
    if (!have && !ws.leftover.empty()) {
      frame = std::move(ws.leftover);
      ws.leftover.clear();
      have = true;
    }
    if (!have) return;
    ++ws.frames_in;
    m.speaking = true;
    decoded.clear();
    decode_to_mix(*ws.format, frame, decoded);
    if (decoded.empty()) {
      // An opaque codec: a frame is there, its sound is not simulated.
      std::fill(m.speech.begin(), m.speech.end(), 0);
      m.speech_n = kTickSamples;
      return;
    }
    m.speech_n = std::min<size_t>(decoded.size(), kTickSamples);
    std::copy_n(decoded.begin(), m.speech_n, m.speech.begin());
  };

  // Someone heard `n` samples this tick (s == nullptr: nothing).
  auto deliver = [&](ChannelMedia& m, const int16_t* s, size_t n) {
    m.delivered_tick = p.tick;
    if (m.phone && m.heard) m.heard->append(now_ms, s, n);
    if (m.echo && s) m.echo_buf.assign(s, s + n);
    if (!m.ws || !s || n == 0) return;
    WsChannelState& ws = *m.ws;
    if (!ws.socket || ws.direction == WsChannelState::Direction::out) return;
    p.frame.clear();
    encode_from_mix(*ws.format, s, n, p.frame);
    if (p.frame.empty()) return;
    ws.socket->send_binary(p.frame);
    ++ws.frames_out;
    ++p.frames_to_apps;
  };

  // 1. Everybody's speech.
  for (auto& [id, chp] : channels_) {
    SimChannel& ch = *chp;
    const bool phone = is_phone(ch);
    if (!ch.media) {
      if (!phone) continue;
      ch.media = std::make_shared<ChannelMedia>();
    }
    ChannelMedia& m = *ch.media;
    m.phone = phone;
    if (phone && !m.heard) m.heard = std::make_shared<HeardLog>(p.heard_max_ticks);
    m.speaking = false;
    m.speech_n = 0;
    if (m.ws) {
      ws_play(ch, m);
    } else if (m.queued_say_samples() > 0 && (phone || ch.info.state == "Up")) {
      const size_t n = std::min<size_t>(m.queued_say_samples(), kTickSamples);
      std::copy_n(m.say.begin() + static_cast<std::ptrdiff_t>(m.say_pos), n, m.speech.begin());
      m.say_pos += n;
      m.speech_n = n;
      if (phone && n < kTickSamples) {  // a phone's frames are whole
        std::fill(m.speech.begin() + static_cast<std::ptrdiff_t>(n), m.speech.end(), 0);
        m.speech_n = kTickSamples;
      }
      m.speaking = true;
      if (m.say_pos == m.say.size()) {
        m.say.clear();
        m.say_pos = 0;
      }
    } else if (m.echo && !m.echo_buf.empty()) {
      m.speech_n = std::min<size_t>(m.echo_buf.size(), kTickSamples);
      std::copy_n(m.echo_buf.begin(), m.speech_n, m.speech.begin());
      m.speaking = true;
    } else if (phone) {
      std::fill(m.speech.begin(), m.speech.end(), 0);
      m.speech_n = kTickSamples;
      m.speaking = true;
    }
    m.echo_buf.clear();
  }

  // 2. Bridges mix.
  std::array<int16_t, kTickSamples> out{};
  std::array<int16_t, kTickSamples> bridge_pb{};
  p.acc.assign(kTickSamples, 0);
  for (auto& [bid, bp] : bridges_) {
    SimBridge& b = *bp;
    p.members.clear();
    for (const auto& cid : b.info.channels)
      if (SimChannel* c = find_channel(cid)) p.members.emplace_back(c, c->media.get());
    const SimPlayback* bpb = bridge_playing(b);
    if (bpb) {
      playback_frame(p.bridge_cursors[bid], *bpb, bridge_pb.data());
    } else if (!p.bridge_cursors.empty()) {
      p.bridge_cursors.erase(bid);
    }
    std::fill(p.acc.begin(), p.acc.end(), 0);
    int contributors = 0;
    for (auto& [c, m] : p.members) {
      if (!m || !m->speaking || playing(*c)) continue;
      for (size_t i = 0; i < m->speech_n; ++i) p.acc[i] += m->speech[i];
      ++contributors;
    }
    if (bpb) {
      for (int i = 0; i < kTickSamples; ++i) p.acc[i] += bridge_pb[i];
      ++contributors;
    }
    for (auto& [c, m] : p.members) {
      if (!m || playing(*c)) continue;  // a player hears its playback (step 3)
      const bool own = m->speaking;
      if (contributors - (own ? 1 : 0) <= 0) {
        deliver(*m, nullptr, 0);
        continue;
      }
      // The frame is as long as the longest other contribution (a short
      // frame passes through a two-party bridge short: trace, step g).
      size_t n = bpb ? kTickSamples : 0;
      for (auto& [c2, m2] : p.members)
        if (m2 && m2 != m && m2->speaking && !playing(*c2)) n = std::max(n, m2->speech_n);
      for (size_t i = 0; i < n; ++i)
        out[i] = sat16(p.acc[i] - (own && i < m->speech_n ? m->speech[i] : 0));
      deliver(*m, out.data(), n);
    }
  }

  // 3. Playbacks, and callers alone.
  for (auto& [id, chp] : channels_) {
    SimChannel& ch = *chp;
    if (!ch.media) continue;
    ChannelMedia& m = *ch.media;
    if (m.delivered_tick == p.tick) continue;
    if (const SimPlayback* pb = playing(ch)) {
      playback_frame(m.cursor, *pb, out.data());
      deliver(m, out.data(), kTickSamples);
    } else {
      m.cursor = PlaybackCursor{};
      deliver(m, nullptr, 0);
    }
  }
  ++p.tick;
  p.tick_ms += kTickMs;
}

}  // namespace aa::sim
