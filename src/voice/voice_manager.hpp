#pragma once
/// The voice of every call: what an agent says (TTS → the call's media
/// session → the caller) and what it hears (caller → media session → ASR →
/// `call.transcription`). Per call it keeps one MediaSession (created on the
/// first need), a queue of utterances and at most one audio capture with its
/// ASR session. The calls domain only tells it that a call became ready or
/// ended; every voice event goes out through the calls domain's publisher, so
/// /events and webhooks see one ordered stream.
///
/// Single-threaded (io thread). TTS and ASR run on the engines' workers.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include "ari/client.hpp"
#include "calls/model.hpp"
#include "common/asio.hpp"
#include "common/error.hpp"
#include "media/media_session.hpp"

namespace aa::calls {
class CallManager;
}
namespace aa::speech {
class TtsEngine;
class AsrEngine;
}  // namespace aa::speech

namespace aa::voice {

/// Which calls start an audio capture by themselves once ready (ASR_AUTO_START).
enum class AutoStart { off, inbound, all };

struct VoiceOptions {
  media::MediaSessionOptions media;
  AutoStart auto_start = AutoStart::inbound;
  std::string default_voice;     // "" = the engine's default
  std::string default_language;  // TTS_DEFAULT_LANGUAGE ("English")
  std::string asr_language;      // ASR_LANGUAGE
  size_t max_queued_speaks = 8;  // per call, playing one included
  /// A waiting speak answers at the latest after this (202, still speaking).
  std::chrono::seconds speak_wait_limit{600};
  /// `call.audio_frame`: caller audio coalesced to this many ms per event.
  std::chrono::milliseconds audio_frame_period{100};
};

struct SpeakRequest {
  std::string text;        // 1–5000 characters
  std::string voice;       // "" default; unknown names fall back to the default
  std::string language;    // "" default
  double speed = 1.0;      // 0.25–4
  bool wait = true;        // answer once heard (200) or at once (202)
  bool interrupt = false;  // flush what plays and is queued, then speak
};

struct SpeakResult {
  std::string speak_id;
  std::string text, voice, language;
  double duration_s = 0;  // audio heard (all of it unless interrupted)
  bool interrupted = false;
  bool finished = false;  // false: answered before the end (wait:false, or the wait limit)
};

/// Another user of a call's media session besides speak and capture (the
/// agent stream): it hears the caller and plays through the session itself.
struct MediaTap {
  /// The caller's audio, 16-bit mono PCM at the session's rate, as it arrives (20 ms).
  std::function<void(std::span<const int16_t>)> on_audio;
  /// The session ended (call ended, socket lost): called once, then the tap is gone.
  std::function<void(const std::string& reason)> on_closed;
};

struct StopResult {
  size_t interrupted = 0;  // utterances cut (playing or queued)
};

struct VoiceStats {
  uint64_t speaks = 0, speak_errors = 0, interrupted = 0;
  uint64_t captures_started = 0, asr_sessions = 0, transcriptions = 0;
  uint64_t frames_in = 0, bytes_out = 0, xoff = 0, flushes = 0;
  size_t sessions_active = 0, captures_active = 0;
};

class VoiceManager final : public calls::EventSink {
 public:
  VoiceManager(asio::any_io_executor ex, ari::AriApi& ari, calls::CallManager& calls,
               speech::TtsEngine* tts, speech::AsrEngine* asr, VoiceOptions opts);
  ~VoiceManager() override;
  VoiceManager(const VoiceManager&) = delete;
  VoiceManager& operator=(const VoiceManager&) = delete;

  /// Every ARI event (media channels and call channels' bridge moves).
  void on_ari_event(const ari::Event& e);
  /// Every domain event of the calls domain (ready → auto capture, ended → teardown).
  void on_call_event(const calls::DomainEvent& e);
  /// calls::EventSink (CallManager::subscribe): on_call_event.
  void publish(const calls::DomainEvent& e) override { on_call_event(e); }
  /// A channel of ours (a media session's ExternalMedia channel, live or
  /// being set up): the calls domain must not take it for a call.
  bool owns_channel(std::string_view channel_id) const;
  /// Told the delay from the end of an utterance (its last sample arriving)
  /// to its final transcription.
  void set_transcription_latency_observer(std::function<void(std::chrono::microseconds)> fn);
  /// Told the delay from a speak request to its first audio frame sent.
  void set_speak_start_observer(std::function<void(std::chrono::microseconds)> fn);
  /// Whether Asterisk has chan_websocket (probed at start / each connect);
  /// `why` names the requirement when it does not.
  void set_media_support(bool supported, std::string why);
  /// Tells whether any /events client asked for `call.audio_frame`.
  void set_audio_frames_wanted(std::function<bool()> wanted);

  bool tts_available() const;
  bool asr_available() const;

  /// Errors: voice_unavailable 501 (no TTS engine, no chan_websocket),
  /// tts_timeout 504, tts_failed 502, call_not_found 404, wrong_state 409
  /// (not answered, ended, queue full), ari_* 502/503/504.
  awaitable<Outcome<SpeakResult>> speak(std::string call_id, SpeakRequest req);
  awaitable<Outcome<StopResult>> stop_speaking(std::string call_id);
  /// Idempotent: a running capture is returned as it is.
  awaitable<Outcome<calls::AudioCapture>> start_capture(std::string call_id);
  /// Idempotent: ok when no capture runs.
  awaitable<Status> stop_capture(std::string call_id);

  /// Set up the call's media session (shared with speak and capture) and
  /// register `tap` under `tap_id` (one per id; a second attach replaces it).
  /// Errors as start_capture.
  awaitable<Outcome<std::shared_ptr<media::MediaSession>>> attach_media(std::string call_id,
                                                                        std::string tap_id,
                                                                        MediaTap tap);
  /// Remove a tap (its on_closed is not called). No-op when absent.
  void detach_media(const std::string& call_id, const std::string& tap_id);

  VoiceStats stats() const;
  /// Media sessions alive (for tests: nothing may be left after a hangup).
  size_t sessions() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace aa::voice
