#pragma once
/// One Twilio Media Streams–compatible stream between a call and an agent
/// server: the caller's audio goes to the agent as `media` messages every
/// 20 ms, the agent's `media` is played to the caller through the call's
/// media session (chan_websocket), its `mark`s come back once the audio before
/// them has been *heard*, and `clear` is barge-in (FLUSH_MEDIA at Asterisk).
///
/// Agent audio is played in *segments*: a segment is one media::Utterance that
/// takes the agent's audio until a pause of `idle_end` (or a clear), so audio
/// sent in many pieces plays without a seam. A `mark` becomes a cue point of the
/// open segment (Utterance::cue: MARK_MEDIA/MEDIA_MARK_PROCESSED on Asterisk
/// 22.8+, else the computed play-out time; at most one 20 ms frame early), and
/// comes back when the audio before it has been heard. A mark sent while no
/// segment is open waits for the last segment to be heard, or comes back at
/// once when nothing is queued; `clear` cuts every segment and returns every
/// pending mark, as Twilio does.
///
/// Transport-agnostic: the socket is one the service dialled (ws_connect) or
/// one the agent opened (the server's upgrade); both are net::WsConnection.
///
/// Bounds: messages queued to the agent (an agent that stops reading is cut
/// off with 1008), agent audio waiting to be played (beyond it: 1008, never a
/// silent drop). Malformed messages close the socket with 1007/1008.
/// Single-threaded: io thread.
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "audio/resampler.hpp"
#include "common/asio.hpp"
#include "common/wake.hpp"
#include "net/http_types.hpp"
#include "stream/twilio.hpp"

namespace aa::media {
class MediaSession;
class Utterance;
}  // namespace aa::media

namespace aa::stream {

/// What a client asks for (POST /calls/:id/stream, POST /calls `stream`,
/// STREAM_URL, or the query of an agent's own upgrade).
struct StreamRequest {
  std::string url;  // ws:// or wss:// of the agent server; "" when the agent dialled us
  Params custom_parameters;
  Format format = Format::mulaw8k;
  Tracks tracks = Tracks::inbound;
  bool hangup_on_end = false;  // onStreamEnd: "hangup"
};

struct StreamOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  /// Messages queued to the agent and not yet written, at most (250 = 5 s of
  /// media); beyond it the agent is cut off (1008) and the stream ends.
  size_t max_queued_messages = 250;
  /// Agent audio received and not yet handed to Asterisk, at most (seconds).
  std::chrono::seconds max_buffered_audio{60};
  /// A segment ends after this pause in the agent's audio.
  std::chrono::milliseconds idle_end{1'000};
  /// Marks sent and not yet returned, at most; beyond it: 1008.
  size_t max_pending_marks = 1024;
  bool verify_tls = true;
  /// start.accountSid / stop.accountSid (Twilio's account; here the ARI app).
  std::string account_sid;
};

/// Counters of one stream (summed by the manager for /metrics).
struct StreamCounters {
  uint64_t frames_out = 0;   // media messages to the agent
  uint64_t frames_in = 0;    // media messages from the agent
  uint64_t late_frames = 0;  // to the agent behind ≥ 20 ms of unwritten media
  uint64_t clears = 0;       // clear messages from the agent
  uint64_t marks = 0;        // marks returned to the agent
};

class AgentStream : public std::enable_shared_from_this<AgentStream> {
 public:
  using Clock = std::chrono::steady_clock;

  struct Hooks {
    /// The stream ended (once): `reason` (hangup, api, agent_closed,
    /// agent_hangup, agent_too_slow, protocol_error, buffer_full, media_lost),
    /// `error` non-empty when it ended by a fault.
    std::function<void(const std::string& reason, const std::string& error)> on_ended;
    /// The agent sent {"event":"hangup"}.
    std::function<void()> on_hangup;
    /// A mark came back: time from the agent's mark to its return.
    std::function<void(std::chrono::microseconds)> on_mark_rtt;
  };

  AgentStream(asio::any_io_executor ex, std::string call_id, std::string stream_sid,
              StreamRequest req, StreamOptions opts, Hooks hooks);
  ~AgentStream();
  AgentStream(const AgentStream&) = delete;
  AgentStream& operator=(const AgentStream&) = delete;

  /// Begin: `connected` and `start` to the agent, then media both ways.
  void run(std::shared_ptr<net::WsConnection> ws, std::shared_ptr<media::MediaSession> session);
  /// The caller's audio (16-bit mono PCM at the session's rate), as it arrives.
  void on_caller_audio(std::span<const int16_t> pcm);
  /// A DTMF digit from the caller.
  void dtmf(std::string_view digit);
  /// End the stream: `stop` to the agent, close `close_code` (1001 on
  /// shutdown); the audio already queued at Asterisk plays out. Idempotent.
  void stop(const std::string& reason, uint16_t close_code = 1000);
  /// End the stream because the media session went away (no `stop` can be played).
  void media_lost(const std::string& why);

  const std::string& stream_sid() const { return sid_; }
  const std::string& call_id() const { return call_id_; }
  const StreamRequest& request() const { return req_; }
  bool ended() const { return ended_; }
  /// run() happened (before it the stream has not started).
  bool running() const { return ws_ != nullptr; }
  const StreamCounters& counters() const { return counters_; }

 private:
  struct Segment {
    std::shared_ptr<media::Utterance> u;
    std::deque<Clock::time_point> cue_times;  // when each of its cues (marks) came
    std::vector<std::pair<std::string, Clock::time_point>> marks;  // after its end
    bool done = false;
  };

  void on_text(std::string_view text);
  void on_agent_media(const std::string& audio);
  void on_agent_mark(std::string name);
  void on_clear();
  void segment_done(const std::shared_ptr<Segment>& seg);
  void close_open_segment();
  void send_mark(const std::string& name, Clock::time_point received);
  bool send(std::string msg);
  void end(const std::string& reason, const std::string& error, uint16_t close_code);
  void on_sent(std::string_view pcm, Clock::time_point play_at);
  awaitable<void> pump(std::shared_ptr<AgentStream> self);
  uint64_t elapsed_ms() const;

  asio::any_io_executor ex_;
  std::string call_id_, sid_;
  StreamRequest req_;
  StreamOptions opts_;
  Hooks hooks_;
  std::shared_ptr<net::WsConnection> ws_;
  std::shared_ptr<media::MediaSession> session_;
  uint32_t session_rate_ = 16000;
  bool ended_ = false;
  uint64_t seq_ = 0;
  Clock::time_point started_{};
  StreamCounters counters_;
  Wake changed_;

  // caller → agent
  std::unique_ptr<audio::Resampler> down_;  // session rate → 8 kHz (mulaw8k)
  std::string in_acc_;                      // encoded bytes not yet a whole chunk
  uint64_t in_chunk_ = 0;
  std::vector<int16_t> scratch_;

  // agent → caller
  std::unique_ptr<audio::Resampler> up_;           // 8 kHz → session rate (mulaw8k)
  std::deque<std::shared_ptr<Segment>> segments_;  // not yet heard, in order
  std::shared_ptr<Segment> open_;                  // taking audio
  Clock::time_point last_agent_media_{};
  uint64_t segment_seq_ = 0;
  size_t pending_marks_ = 0;
  bool hangup_requested_ = false;

  // what the caller hears → agent (tracks=both), paced at play-out time
  std::unique_ptr<audio::Resampler> out_down_;
  struct OutChunk {
    Clock::time_point at;
    std::string bytes;  // encoded, one chunk
  };
  std::deque<OutChunk> out_q_;
  std::string out_acc_;
  Clock::time_point out_acc_at_{};
  uint64_t out_chunk_ = 0;
  uint64_t flushes_seen_ = 0;
};

}  // namespace aa::stream
