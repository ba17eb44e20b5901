#pragma once
/// One persistent, two-way audio path to a call over Asterisk's chan_websocket
/// (ARI ExternalMedia, `transport=websocket encapsulation=none
/// connection_type=server format=slin16`): the caller's audio comes in as
/// 640-byte binary frames every 20 ms, and what we send is played to the
/// caller at Asterisk's 20 ms pace. Created on the first need (capture or
/// speech) and kept until the call ends or it is stopped: no per-utterance set-up.
///
/// Set-up order (each step bounded by `setup_timeout`), because a server-mode
/// channel enters Stasis only once its socket is connected (traces:
/// chan-websocket-basic):
///   create the ExternalMedia channel (our id `aa-media-<uuid>`) and a private
///   mixing bridge (`aa-voice-<uuid>`) → connect `ws(s)://<ARI origin>/media/
///   <MEDIA_WEBSOCKET_CONNECTION_ID>` (subprotocol `media`, no ARI credentials)
///   → wait for the channel's StasisStart → add the call and the channel to the
///   bridge. A mixing bridge never returns a member's own audio, so the channel
///   hears only the caller and the caller hears what we send.
/// If the call joins another bridge (a transfer, `POST /bridges/:id/addChannel`)
/// the media channel follows it there; when the call leaves it, both go back
/// to the private bridge: the caller is never stranded in a private bridge.
/// Teardown frees Asterisk in order: close the socket and wait for its close
/// (Asterisk then hangs the channel up: its life is the socket's) → destroy the
/// private bridge → hang up a leftover channel. A dropped socket or a vanished
/// channel ends the session and calls `on_closed` once.
///
/// Sending (research §4.2; traces chan-websocket-buffering-mark-flush, -xoff):
/// audio goes out ahead of real time — Asterisk owns the clock and queues up
/// to 1000 frames — keeping at most `lookahead` queued there, in messages of
/// whole frames (≤ 65 500 bytes), each utterance inside START/
/// STOP_MEDIA_BUFFERING so its last partial frame is played, not dropped.
/// MEDIA_XOFF pauses sending until MEDIA_XON. An utterance is *heard* when
/// MEDIA_MARK_PROCESSED <id> comes back (22.8+: MEDIA_START carries
/// channel_id, or the JSON form), else MEDIA_BUFFERING_COMPLETED, else the
/// computed play-out time; a safety timer never lets a lost reply hang it.
/// flush() is barge-in: FLUSH_MEDIA drops what Asterisk has queued (its marks
/// never come back, so pending utterances end `interrupted` here).
///
/// Single-threaded: every method runs on the io thread.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ari/client.hpp"
#include "common/asio.hpp"
#include "common/error.hpp"
#include "common/util.hpp"
#include "common/wake.hpp"
#include "media/chan_websocket.hpp"
#include "net/http_types.hpp"

namespace aa::media {

/// Channel ids of our ExternalMedia channels and bridge ids of our private
/// bridges start with these: such channels are never calls, such bridges are
/// never a call's bridge.
inline constexpr std::string_view kMediaChannelPrefix = "aa-media-";
inline constexpr std::string_view kVoiceBridgePrefix = "aa-voice-";
inline bool is_media_channel(std::string_view id) {
  return id.starts_with(kMediaChannelPrefix);
}
inline bool is_voice_bridge(std::string_view id) {
  return id.starts_with(kVoiceBridgePrefix);
}

struct MediaSessionOptions {
  std::string app;  // Stasis app the ExternalMedia channel enters
  /// Asterisk's HTTP server (scheme, host, port of ARI_URL; its path is not
  /// used: the media socket is /media/<id> at the origin).
  Url asterisk;
  std::string format = "slin16";
  uint32_t rate_hz = 16000;
  std::chrono::milliseconds setup_timeout{10'000};
  /// Audio kept queued at Asterisk ahead of play-out (refilled below 3/4 of it).
  std::chrono::milliseconds lookahead{2'000};
  std::chrono::milliseconds close_timeout{2'000};
  /// Audio waiting to be sent, per session, at most (bytes); beyond it speak is refused.
  size_t max_pending_bytes = 24 * 1024 * 1024;
  bool verify_tls = true;
};

enum class PlayoutEnd { heard, interrupted, failed };

/// One stretch of audio sent to the caller (a TTS utterance). The producer
/// push()es 16-bit mono PCM at the session's rate and end()s it; the session
/// reports the first frame sent and the end.
class Utterance {
 public:
  explicit Utterance(std::string id) : id_(std::move(id)) {}
  const std::string& id() const { return id_; }
  void push(std::span<const int16_t> pcm);
  /// No more audio will come.
  void end();
  /// A cue point at the current end of the pushed audio: on_cue(name, heard)
  /// once the audio before it has played (MARK_MEDIA/MEDIA_MARK_PROCESSED on
  /// 22.8+, else its computed play-out time), up to one frame (20 ms) early
  /// because Asterisk plays whole frames; (name, interrupted/failed) when the
  /// utterance is cut first. Cues fire in order, before on_finished. No-op
  /// once ended.
  void cue(std::string name);
  bool ended() const { return ended_; }
  bool finished() const { return finished_; }
  /// Bytes pushed and not yet handed to Asterisk.
  size_t pending_bytes() const { return pending_.size(); }
  /// Seconds of audio pushed so far.
  double pushed_seconds(uint32_t rate_hz) const {
    return static_cast<double>(pushed_bytes_) / (2.0 * rate_hz);
  }

  /// First audio of this utterance handed to Asterisk.
  std::function<void()> on_first_sent;
  /// Heard to the end, interrupted by flush(), or failed (session lost).
  /// `heard_s`: seconds of it played to the caller (computed).
  std::function<void(PlayoutEnd end, double heard_s)> on_finished;
  /// A cue point reached (see cue()).
  std::function<void(const std::string& name, PlayoutEnd end)> on_cue;

 private:
  friend class MediaSession;
  std::string id_;
  std::string pending_;  // bytes not yet sent
  size_t pushed_bytes_ = 0, sent_bytes_ = 0;
  bool ended_ = false;
  bool started_ = false;   // START_MEDIA_BUFFERING sent
  bool finished_ = false;  // on_finished called
  struct Cue {
    uint64_t seq = 0;
    size_t offset = 0;  // bytes of audio before it
    std::string name;
    bool dispatched = false;  // MARK_MEDIA sent / due time known
  };
  std::deque<Cue> cues_;  // not yet fired, in order
  uint64_t cue_seq_ = 0;
  /// Fire every cue up to `seq` (in order) with `end`.
  void fire_cues(uint64_t seq, PlayoutEnd end);
  std::chrono::steady_clock::time_point play_start{}, play_end{};
  std::function<void()> notify_;  // wakes the session's sender
};

class MediaSession : public std::enable_shared_from_this<MediaSession> {
 public:
  using Clock = std::chrono::steady_clock;

  MediaSession(asio::any_io_executor ex, ari::AriApi& ari, MediaSessionOptions opts,
               std::string call_id, std::string call_channel_id);
  ~MediaSession();
  MediaSession(const MediaSession&) = delete;
  MediaSession& operator=(const MediaSession&) = delete;

  /// Set up (idempotent: a second caller waits for the same outcome). Errors:
  /// ari_unavailable 503, ari_timeout 504 (a step took longer than
  /// setup_timeout), ari_error 502, call_not_found 404 (the call channel is gone).
  awaitable<Status> start();
  /// Tear down in order (see above); idempotent; returns when done.
  awaitable<void> stop(std::string reason);

  /// Every ARI event (the session picks its own channel's and the call's).
  void on_ari_event(const ari::Event& e);
  /// The bridge the call is in now ("" none), before start(): our channel then
  /// joins it instead of taking the call into the private bridge.
  void set_call_bridge(std::string bridge_id) { call_bridge_ = std::move(bridge_id); }

  bool up() const { return state_ == State::up; }
  bool closed() const { return state_ == State::closed; }
  const std::string& media_channel_id() const { return media_channel_id_; }
  const std::string& bridge_id() const { return bridge_id_; }
  uint32_t rate_hz() const { return opts_.rate_hz; }
  /// The form MEDIA_START came in (commands are sent in it) and whether
  /// MARK_MEDIA is available (Asterisk 22.8+).
  cws::Form control_form() const { return form_; }
  bool marks_supported() const { return marks_; }

  // ---- audio to the caller ----
  /// Queue an utterance behind the others. False when the session is not up
  /// or its pending audio is over max_pending_bytes.
  bool play(std::shared_ptr<Utterance> u);
  /// Barge-in: FLUSH_MEDIA, drop what is not sent, end every queued or playing
  /// utterance as interrupted. Returns how many were cut.
  size_t flush();
  /// Utterances queued or playing.
  size_t playing() const { return queue_.size() + awaiting_.size(); }

  // ---- audio from the caller ----
  /// 16-bit mono PCM at rate_hz, as it arrives (20 ms frames).
  std::function<void(std::span<const int16_t>)> on_audio;
  /// Audio handed to Asterisk (16-bit PCM bytes at rate_hz) and the computed
  /// time it starts to play: what the caller hears, ahead of real time.
  std::function<void(std::string_view pcm, Clock::time_point play_at)> on_sent;
  /// The session ended by itself or by stop() (once). `reason` for events/logs.
  std::function<void(const std::string& reason)> on_closed;

  struct Stats {
    uint64_t frames_in = 0, bytes_out = 0, messages_out = 0, xoff = 0, flushes = 0;
  };
  const Stats& stats() const { return stats_; }

 private:
  enum class State { idle, starting, up, closing, closed };

  awaitable<Status> setup(std::shared_ptr<MediaSession> self);
  awaitable<void> teardown(std::shared_ptr<MediaSession> self, std::string reason);
  awaitable<void> sender(std::shared_ptr<MediaSession> self);
  awaitable<void> placer(std::shared_ptr<MediaSession> self);
  awaitable<void> heard_guard(std::shared_ptr<MediaSession> self);
  void on_text(std::string_view text);
  void on_binary(std::string_view data);
  void on_socket_closed();
  void send_command(cws::CommandType t, std::string_view id = {});
  void finish_utterance(const std::shared_ptr<Utterance>& u, PlayoutEnd end);
  void heard(const std::string& id);
  void lost(const std::string& reason);
  void place();
  /// Cues of `u` whose audio is all sent: MARK_MEDIA (or a due time).
  void dispatch_cues(const std::shared_ptr<Utterance>& u);
  void cue_heard(const std::string& id);
  asio::any_io_executor ex_;
  ari::AriApi& ari_;
  MediaSessionOptions opts_;
  std::string call_id_, call_channel_id_;
  std::string media_channel_id_, bridge_id_, connection_id_;
  State state_ = State::idle;
  Status start_result_ = ok_status();
  Wake changed_;  // state, socket, StasisStart, MEDIA_START, audio, XON, heard...
  std::shared_ptr<net::WsConnection> ws_;
  bool stasis_started_ = false, media_started_ = false, socket_closed_ = false;
  bool channel_gone_ = false, closed_notified_ = false;
  cws::Form form_ = cws::Form::plain;
  bool marks_ = false;
  size_t frame_bytes_ = 640;
  bool xoff_ = false;
  std::deque<std::shared_ptr<Utterance>> queue_;     // not fully sent, in order
  std::deque<std::shared_ptr<Utterance>> awaiting_;  // fully sent, not yet heard
  struct CueWait {
    std::shared_ptr<Utterance> u;
    uint64_t seq = 0;
    Clock::time_point due{};  // computed play-out time of its position
  };
  std::deque<CueWait> cue_awaiting_;  // dispatched cues not yet heard, in order
  size_t pending_bytes_ = 0;
  Clock::time_point playout_end_{};  // when Asterisk's queue will have played out
  bool sender_running_ = false;
  // Where the call and our channel are ("" = no bridge), from ARI events.
  std::string call_bridge_, media_bridge_;
  bool placing_ = false, place_again_ = false;
  bool guard_running_ = false;
  Stats stats_;
  std::vector<int16_t> in_buf_;
};

}  // namespace aa::media
