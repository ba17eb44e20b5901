#pragma once
// The ARI simulator's state machine: channels, bridges, playbacks, recordings,
// endpoints and Stasis applications, with the event sequences Asterisk 22
// produces (see ../shared/ari-traces). Single-threaded: every call and every
// timer runs on the io_context the Engine was created with. All delays are
// multiplied by EngineOptions::time_scale.
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "ari/models.hpp"
#include "common/asio.hpp"
#include "common/json.hpp"
#include "net/http_types.hpp"

namespace aa::speech {
class TtsEngine;
}

namespace aa::sim {

struct ChannelMedia;  // engine_ws_media.cpp / engine_media_clock.cpp (media_plane.hpp)

using Reply = net::Response;

/// What the far end does when the simulator calls an endpoint.
enum class Behavior { answer, busy, noanswer, congestion, manual };
std::optional<Behavior> parse_behavior(std::string_view s);
std::string_view behavior_name(Behavior b);

struct EndpointConfig {
  std::string technology;  // "PJSIP", or "Local" for a per-extension rule
  std::string resource;    // "1001", "trunk-provider", "102@test-answer"
  std::string state = "online";
  Behavior behavior = Behavior::answer;
  int answer_after_ms = 200;  // ringing time before answering (answer behaviour)
  bool trunk = false;         // accepts "<tech>/<number>@<resource>"
  std::string caller_name;    // caller id Asterisk puts on channels to this endpoint
};

struct EngineOptions {
  std::string app_default = "openclaw-voice";  // app that /_sim/inbound calls enter
  double time_scale = 1.0;
  std::string data_dir;  // recordings live in <data_dir>/recording
  /// Endpoints at startup/reset; empty: PJSIP/1001, PJSIP/1002, PJSIP/trunk-provider.
  std::vector<EndpointConfig> endpoints;
  std::string asterisk_id;  // entity id; empty: a random locally administered MAC
  std::string version = "22.11.0";
  /// Speaks for the simulated far end (POST /_sim/channels/{id}/say {"text"});
  /// null: only {"wav"} works (text answers 501).
  std::shared_ptr<speech::TtsEngine> tts;
  /// How much of what each caller heard GET /_sim/channels/{id}/heard.wav keeps.
  int64_t heard_max_seconds = 300;
};

// ---- request values (parsed from the REST parameters by RestApi) ----

struct OriginateRequest {
  std::string endpoint;
  std::string extension, context, label;
  int64_t priority = 1;
  std::string app;
  std::string app_args;
  std::optional<std::string> caller_id;
  int timeout_s = 30;
  std::string channel_id, other_channel_id, originator;
  std::vector<std::pair<std::string, std::string>> variables;
  std::vector<std::string> reported_variables;  // names with report_events=true
};

struct PlayRequest {
  std::vector<std::string> media;
  std::string lang = "en";
  std::string playback_id;
  int64_t offset_ms = 0, skip_ms = 3000;
};

struct RecordRequest {
  std::string name, format;
  int64_t max_duration_s = 0, max_silence_s = 0;
  std::string if_exists = "fail";
  bool beep = false;
  std::string terminate_on = "none";
};

struct DtmfRequest {
  std::string digits;
  int64_t before_ms = 0, between_ms = 100, duration_ms = 100, after_ms = 0;
};

struct ExternalMediaRequest {
  // Empty means "not given" (Asterisk's defaults apply: udp, rtp, client).
  std::string app, app_args, channel_id, external_host, encapsulation, transport, connection_type,
      format, direction, transport_data;
  std::vector<std::pair<std::string, std::string>> variables;
};

class Engine {
 public:
  Engine(asio::any_io_executor ex, EngineOptions opts);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  const EngineOptions& options() const { return opts_; }
  void set_time_scale(double s) { opts_.time_scale = s > 0 ? s : 1.0; }
  /// The far end's TTS (POST /_sim/channels/{id}/say {"text"}); null: none.
  void set_tts(std::shared_ptr<speech::TtsEngine> tts) { opts_.tts = std::move(tts); }

  // ---- events socket ----
  /// Attach an accepted events WebSocket for `apps`. A second socket for the
  /// same app replaces the first (which gets ApplicationReplaced).
  void attach_socket(std::shared_ptr<net::WsConnection> ws, std::vector<std::string> apps,
                     bool subscribe_all);
  /// Close every events socket (fault injection); `code` goes in the close frame.
  void drop_sockets(uint16_t code);

  // ---- /asterisk, /applications, /endpoints, /sounds ----
  Reply asterisk_info(std::string_view only) const;
  Reply asterisk_ping() const;
  Reply list_apps() const;
  Reply get_app(const std::string& name) const;
  Reply subscribe(const std::string& app, const std::vector<std::string>& sources, bool on);
  Reply list_endpoints(const std::string* tech) const;
  Reply get_endpoint(const std::string& tech, const std::string& resource) const;
  Reply list_sounds() const;
  Reply get_sound(const std::string& id) const;

  // ---- channels ----
  Reply originate(OriginateRequest req);
  Reply list_channels() const;
  Reply get_channel(const std::string& id) const;
  Reply hangup(const std::string& id, std::optional<int> cause);
  Reply answer(const std::string& id);
  Reply ring(const std::string& id, bool start);
  Reply simple_stasis_op(const std::string& id);  // hold, mute, moh, silence...
  Reply send_dtmf(const std::string& id, DtmfRequest req);
  Reply get_var(const std::string& id, const std::string& name) const;
  Reply set_var(const std::string& id, const std::string& name, const std::string& value);
  Reply continue_in_dialplan(const std::string& id);
  Reply redirect(const std::string& id, const std::string& endpoint);
  Reply snoop(const std::string& id, const std::string& app, const std::string& app_args,
              const std::string& snoop_id);
  Reply external_media(ExternalMediaRequest req);

  // ---- media ----
  enum class Target { channel, bridge };
  Reply play(Target t, const std::string& id, PlayRequest req);
  Reply record(Target t, const std::string& id, RecordRequest req);
  Reply get_playback(const std::string& id) const;
  Reply stop_playback(const std::string& id);
  Reply control_playback(const std::string& id, const std::string& op);
  Reply get_live_recording(const std::string& name) const;
  Reply live_recording_op(const std::string& name,
                          const std::string& op);  // stop, cancel, pause...
  Reply list_stored() const;
  Reply get_stored(const std::string& name) const;
  Reply stored_file(const std::string& name) const;
  Reply copy_stored(const std::string& name, const std::string& dest);
  Reply delete_stored(const std::string& name);

  // ---- bridges ----
  Reply create_bridge(const std::string& type, std::string id, const std::string& name);
  Reply list_bridges() const;
  Reply get_bridge(const std::string& id) const;
  Reply destroy_bridge(const std::string& id);
  Reply bridge_add(const std::string& id, const std::vector<std::string>& channels);
  Reply bridge_remove(const std::string& id, const std::vector<std::string>& channels);

  // ---- control API (the far end and the operator) ----
  /// A call from `from` (caller number, kept as given) to `to` enters Stasis
  /// from the dialplan. `technology` "PJSIP" (default): a SIP caller;
  /// "Local": a Local channel pair whose ;2 half runs Stasis (inbound-stasis trace).
  Reply inbound(const std::string& from, const std::string& caller_name, const std::string& to,
                std::vector<std::string> args, std::string app, const std::string& technology);
  Reply far_dtmf(const std::string& id, const std::string& digits, int64_t between_ms);
  Reply far_answer(const std::string& id);
  Reply far_hangup(const std::string& id, int cause);
  Reply set_endpoint(const std::string& tech, const std::string& resource, const json::Value& spec);
  Reply state_json() const;
  /// Forget everything (no events), back to the configured endpoints; new startup time.
  void reset();
  /// Asterisk's "core restart now": every call is hung up with restart causes, then
  /// all state is gone. Sockets are not touched here (the Simulator drops them).
  void restart_hangup_all();

  // ---- media plane: chan_websocket (/media/<id>), 20 ms clock, bridge mixing,
  //      the far end's voice and ears (engine_ws_media.cpp, engine_media_clock.cpp,
  //      engine_far_voice.cpp) ----
  /// Upgrade to /media/<connection_id> (no ARI credentials): 404/409 text/html
  /// as chan_websocket answers, 400 for an unknown subprotocol; status 101 with
  /// `Sec-WebSocket-Protocol: media` when "media" was asked for; nullopt accepts.
  std::optional<Reply> media_upgrade(const net::Request& req) const;
  void media_open(std::shared_ptr<net::WsConnection> ws, const net::Request& req);
  /// The /_sim routes of the media plane (say, heard, echo, clock, media stats);
  /// nullopt when `req` is none of them.
  std::optional<Reply> media_control(const net::Request& req, const json::Value& body);
  /// POST /_sim/channels/{id}/say: answers once the speech is queued.
  awaitable<Reply> far_say(std::string id, std::string body);

  size_t channel_count() const { return channels_.size(); }
  asio::any_io_executor executor() const { return ex_; }
  /// Benchmark hook (POST /_sim/bench/dtmf): the far end presses `digit` on
  /// channel `id` now — one ChannelDtmfReceived, emitted synchronously. False
  /// when there is no such channel.
  bool far_dtmf_now(const std::string& id, char digit);

  // ---- internals, public for the implementation files only ----
  struct MediaOp;
  struct SimChannel;
  struct SimBridge;
  struct SimPlayback;
  struct SimRecording;
  struct App;

 private:
  // core (engine.cpp)
  void init_endpoints();
  void after(double sim_ms, std::function<void()> fn);
  std::string next_channel_id();
  std::string next_name_suffix();
  std::string now_ts() const;
  int64_t sim_now_ms() const;
  App* find_app(const std::string& name);
  App& ensure_app(const std::string& name);
  void drop_idle_apps();
  /// Registered: Asterisk knows the app (it has an events socket, or still
  /// watches channels, bridges or endpoints after its socket went away).
  bool app_registered(const std::string& name) const;
  /// Active: an events socket is attached. Only an active app accepts new
  /// channels into Stasis (res_stasis: "Stasis app '<name>' not active").
  bool app_active(const std::string& name) const;
  void subscribe_channel(const std::string& app, const std::string& channel_id);
  void unsubscribe_channel_everywhere(const std::string& channel_id);

  /// Deliver one event to every app interested in `channels`/`bridges` (or all of
  /// them with subscribeAll). `body` writes the type-specific members.
  void emit(std::string_view type, const std::vector<std::string>& channels,
            const std::vector<std::string>& bridges, const std::function<void(json::Writer&)>& body,
            const std::set<std::string>* extra_apps = nullptr);
  void emit_channel(std::string_view type, const SimChannel& ch,
                    const std::function<void(json::Writer&)>& extra = {});
  void emit_dial(const SimChannel& peer, std::string_view status);
  void emit_destroyed(const SimChannel& ch, int cause);
  void emit_hangup_request(const SimChannel& ch, std::optional<int> cause, bool soft);
  ari::Channel channel_model(const SimChannel& ch, bool for_event) const;
  ari::Bridge bridge_model(const SimBridge& b) const;

  // channels (engine_channels.cpp)
  SimChannel* find_channel(const std::string& id);
  const SimChannel* find_channel(const std::string& id) const;
  const EndpointConfig* find_endpoint(const std::string& tech, const std::string& resource) const;
  SimChannel& new_channel(const std::string& id, const std::string& name);
  void dial_progress(const std::string& id, uint64_t epoch);
  void far_end_answers(const std::string& id);
  void fail_originate(const std::string& id, Behavior why);
  void set_state(SimChannel& ch, const std::string& state);
  void enter_stasis(SimChannel& ch, const std::string& app, std::vector<std::string> args);
  void leave_stasis(SimChannel& ch);
  /// The whole hangup sequence of `id`: request → media end → bridge leave →
  /// StasisEnd → ChannelDestroyed (+ the Local other half).
  void hangup_channel(const std::string& id, int cause, bool by_us,
                      std::optional<int> request_cause, bool request_soft);
  void destroy_silently(const std::string& id);
  void deliver_dtmf(const std::string& id, char digit, int64_t duration_ms);

  // media (engine_media.cpp)
  void enqueue_op(SimChannel& ch, std::shared_ptr<MediaOp> op);
  void start_next_op(const std::string& channel_id);
  void start_playback(const std::shared_ptr<SimPlayback>& pb);
  void play_current_media(const std::shared_ptr<SimPlayback>& pb);
  void media_done(const std::shared_ptr<SimPlayback>& pb, uint64_t step, bool ok);
  void finish_playback(const std::shared_ptr<SimPlayback>& pb, const std::string& state);
  void start_recording(const std::shared_ptr<SimRecording>& rec);
  void finish_recording(const std::shared_ptr<SimRecording>& rec, const std::string& state);
  void op_finished(const std::string& channel_id, const void* op_key);
  void end_media_for_hangup(SimChannel& ch);
  void end_bridge_media(SimBridge& b);
  void emit_playback(std::string_view type, const SimPlayback& pb);
  void emit_recording(std::string_view type, const SimRecording& rec);
  void recording_dtmf(SimChannel& ch, char digit);
  std::string recording_dir() const;
  std::optional<std::string> stored_path(const std::string& name) const;
  Reply check_target(Target t, const std::string& id, std::string& target_uri);

  // bridges (engine_bridges.cpp)
  void remove_from_bridge(SimChannel& ch, bool emit_event);

  // media plane (engine_ws_media.cpp, engine_media_clock.cpp, engine_far_voice.cpp)
  struct MediaPlane;
  std::optional<Reply> check_external_media(ExternalMediaRequest& req) const;
  Reply external_media_ws(ExternalMediaRequest req);
  void ws_answer(SimChannel& ch);
  void ws_hangup_unanswered(const std::string& id, int request_cause, bool soft, int cause);
  void ws_socket_gone(const std::string& id, int cause);
  void ws_text(const std::string& id, std::string_view text);
  void ws_binary(const std::string& id, std::string_view data);
  void media_channel_gone(SimChannel& ch);  // from destroy_silently
  void media_dtmf(const SimChannel& ch, char digit);  // from deliver_dtmf
  void media_reset();                       // from reset / restart
  void media_clock_ensure();                // from new_channel
  void media_clock_wake(uint64_t run);
  void media_tick();
  void media_remote_fetched(const std::string& url, std::string_view body);

  asio::any_io_executor ex_;
  EngineOptions opts_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t generation_ = 0;  // bumped on reset/restart so old timers do nothing
  int64_t startup_ms_ = 0;
  int64_t id_epoch_ = 0;  // "<epoch>.<n>" channel ids
  uint64_t id_counter_ = 0;
  uint64_t name_counter_ = 0;
  std::map<std::string, EndpointConfig> endpoints_;  // key "<tech>/<resource>"
  std::map<std::string, std::unique_ptr<SimChannel>> channels_;
  std::map<std::string, std::unique_ptr<SimBridge>> bridges_;
  std::map<std::string, std::deque<std::shared_ptr<SimPlayback>>> playbacks_;
  std::map<std::string, std::shared_ptr<SimRecording>> live_recordings_;
  std::map<std::string, std::unique_ptr<App>> apps_;
  std::shared_ptr<MediaPlane> media_;
};

// ---- internal state, shared by the engine_*.cpp files ----

struct Engine::MediaOp {
  enum class Kind { playback, recording, dtmf } kind;
  std::shared_ptr<SimPlayback> playback;
  std::shared_ptr<SimRecording> recording;
  DtmfRequest dtmf;
  bool started = false;
};

struct Engine::SimChannel {
  ari::Channel info;
  std::map<std::string, std::string> vars;
  std::set<std::string> reported_vars;
  std::string stasis_app;  // non-empty while in Stasis
  std::string target_app;  // app to enter on answer (originate app=)
  std::vector<std::string> target_args;
  std::string stasis_data;        // dialplan app_data while in Stasis
  std::string other_half;         // Local: the other half's id
  bool local_half2 = false;       // the ";2" half of a Local pair
  bool dialplan_entered = false;  // entered Stasis from the dialplan (inbound/snoop)
  bool originated = false;
  bool answered_once = false;
  bool hanging_up = false;
  std::string bridge_id;
  std::string endpoint_key;  // "PJSIP/1001" (for endpoint channel_ids)
  std::string dialstring;
  Behavior behavior = Behavior::answer;
  int answer_after_ms = 0;
  int timeout_ms = 30000;
  uint64_t epoch = 0;  // bumped on every state change; stale timers compare it
  std::string linkedid;
  std::deque<std::shared_ptr<MediaOp>> ops;  // playback/record/dtmf run one at a time
  std::shared_ptr<ChannelMedia> media;        // media plane state (null: not taking part)
};

struct Engine::SimBridge {
  ari::Bridge info;
  std::deque<std::shared_ptr<SimPlayback>> playbacks;  // bridge playbacks queue
  std::vector<std::shared_ptr<SimRecording>> recordings;
};

struct Engine::SimPlayback {
  ari::Playback info;
  std::vector<std::string> media;
  size_t index = 0;
  uint64_t step = 0;  // bumped whenever the current media item changes/stops
  std::string channel_id, bridge_id;
  bool paused = false;
  int64_t started_sim_ms = 0;
  int64_t remaining_ms = -1;  // while paused
  int64_t media_ms = -1;      // duration of the current item (-1: endless)
};

struct Engine::SimRecording {
  ari::LiveRecording info;
  RecordRequest req;
  std::string channel_id, bridge_id;
  int64_t started_sim_ms = 0;
  int64_t accumulated_ms = 0;
  bool paused = false;
  bool started = false;
  uint64_t step = 0;
};

struct Engine::App {
  std::string name;
  std::shared_ptr<net::WsConnection> socket;
  bool subscribe_all = false;
  std::set<std::string> channels, bridges, endpoints;
};

/// Q.850 cause text as Asterisk prints it in ChannelDestroyed.cause_txt.
std::string_view cause_text(int cause);
/// DELETE /channels?reason= names → Q.850 cause; nullopt for an unknown reason.
std::optional<int> hangup_reason_cause(std::string_view reason);
/// Known sound names and their durations (ms); nullopt: not installed.
std::optional<int64_t> sound_duration_ms(std::string_view name);
const std::vector<std::pair<std::string, int64_t>>& known_sounds();

}  // namespace aa::sim
