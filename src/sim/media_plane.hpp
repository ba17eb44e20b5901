#pragma once
// Internal to src/sim: the state of the simulator's media plane, shared by
// engine_ws_media.cpp (chan_websocket), engine_media_clock.cpp (the 20 ms
// clock and bridge mixing) and engine_far_voice.cpp (the far end's /_sim
// controls). One global clock drives every channel: no per-channel timers.
#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "media/chan_websocket.hpp"
#include "sim/audio_mix.hpp"
#include "sim/engine.hpp"

namespace aa::sim {

/// One WebSocket/INCOMING channel of chan_websocket (its websocket_pvt).
/// Facts from asterisk 22.11 channels/chan_websocket.c and the traces in
/// ../shared/ari-traces/chan-websocket-*.jsonl.
struct WsChannelState {
  enum class Direction { both, in, out };
  std::string connection_id;
  const MediaFormat* format = nullptr;
  media::cws::Form form = media::cws::Form::plain;
  bool no_auto_answer = false;  // transport_data "n"
  bool passthrough = false;     // "p", or a codec that cannot be reframed
  Direction direction = Direction::both;
  std::shared_ptr<net::WsConnection> socket;  // null until connected and once gone
  bool connected = false;                     // a socket connected once (no second one)
  bool peer_closed = false;                   // the app's close frame arrived
  // The playback queue: audio frames and the replies queued behind them.
  struct Item {
    std::string data;  // a frame (native format), or the text of a reply
    bool control = false;
  };
  std::deque<Item> queue;
  int queue_length = 0;  // audio frames queued (replies are not counted, as in Asterisk)
  int controls = 0;      // replies queued
  bool queue_full = false;
  bool bulk = false;  // START_MEDIA_BUFFERING in effect
  bool paused = false;
  bool report_drained = false;
  std::string leftover;  // bytes beyond the last whole frame (kept while buffering)
  uint64_t frames_in = 0, frames_out = 0, dropped_messages = 0;
};

/// Where a playback being heard has got to (per channel, or per bridge).
struct PlaybackCursor {
  const void* playback = nullptr;
  size_t index = 0;
  int64_t pos = 0;                                  // samples at 16 kHz
  std::shared_ptr<const std::vector<int16_t>> pcm;  // null: tone_hz or silence
  int tone_hz = 0;
};

/// The media plane's view of one channel.
struct ChannelMedia {
  std::shared_ptr<WsChannelState> ws;  // WebSocket/INCOMING channels only
  // The far end's voice: speech queued by /_sim/.../say, 16 kHz.
  std::vector<int16_t> say;
  size_t say_pos = 0;
  bool echo = false;  // says what it heard one tick ago (Asterisk's Echo())
  std::vector<int16_t> echo_buf;
  // This tick.
  std::array<int16_t, kTickSamples> speech{};
  size_t speech_n = 0;
  bool speaking = false;
  bool phone = false;           // a SIP caller: sends silence when quiet, its ears are logged
  int64_t delivered_tick = -1;  // the last tick it heard something (or nothing) in
  std::shared_ptr<HeardLog> heard;
  PlaybackCursor cursor;
  size_t queued_say_samples() const { return say.size() - say_pos; }
};

struct Engine::MediaPlane {
  explicit MediaPlane(asio::any_io_executor ex) : timer(std::move(ex)) {}
  asio::steady_timer timer;
  bool running = false;
  uint64_t run = 0;     // bumped when the clock (re)starts: stale wake-ups do nothing
  int64_t tick = 0;     // ticks done since the engine started
  int64_t tick_ms = 0;  // simulator-clock ms of the next tick
  std::chrono::steady_clock::time_point anchor;  // real time of tick `anchor_tick`
  int64_t anchor_tick = 0;
  double scale = 1.0;
  std::map<std::string, std::string> connections;  // connection id → channel id
  int64_t heard_max_ticks = 300 * 1000 / kTickMs;
  struct Archived {
    std::string channel_id;
    std::shared_ptr<HeardLog> heard;
  };
  std::deque<Archived> archive;  // what the last hung-up callers heard
  std::map<std::string, std::shared_ptr<const std::vector<int16_t>>> remote_audio;  // by URL
  std::deque<std::string> remote_order;
  std::map<std::string, PlaybackCursor> bridge_cursors;  // bridge playbacks
  // Statistics (GET /_sim/media).
  uint64_t frames_to_apps = 0, frames_from_apps = 0, late_wakes = 0, skipped_ticks = 0;
  int64_t max_late_us = 0;
  int64_t busy_us = 0;  // CPU time of the io thread spent in ticks
  // Scratch, reused every tick.
  std::vector<int32_t> acc;
  std::vector<std::pair<SimChannel*, ChannelMedia*>> members;
  std::string frame;
};

inline constexpr size_t kArchivedHeard = 32;
inline constexpr size_t kRemoteAudioCache = 32;
/// Replies a channel may have queued behind its audio (Asterisk has no bound).
inline constexpr int kMaxQueuedControls = 10000;
/// Speech a far end may have queued: 5 minutes.
inline constexpr size_t kMaxSaySamples = 300 * kMixRate;

}  // namespace aa::sim
