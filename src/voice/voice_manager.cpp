#include "voice/voice_manager.hpp"

#include <algorithm>
#include <deque>

#include "calls/call_manager.hpp"
#include "calls/voice_events.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "common/wake.hpp"
#include "speech/asr.hpp"
#include "speech/tts.hpp"

namespace aa::voice {

namespace {
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
}  // namespace

struct VoiceManager::Impl : std::enable_shared_from_this<VoiceManager::Impl> {
  struct SpeakJob {
    std::string id;
    SpeakRequest req;
    std::string voice_used;
    std::shared_ptr<speech::TtsJob> tts;
    std::shared_ptr<media::Utterance> utt;
    std::optional<Error> tts_error;
    std::optional<Error> error;  // the outcome when it failed
    SpeakResult result;
    bool finished = false;
    bool in_session = false;  // handed to the media session
    Clock::time_point requested = Clock::now();
    // Silence trimming (see push_trimmed): TTS engines pad each utterance with
    // silence; the caller should hear speech at once and the answer should say
    // how long the speech lasted.
    bool sound_seen = false;
    std::vector<int16_t> silent_tail;
    std::shared_ptr<Wake> done;
  };

  struct VoiceCall {
    std::string call_id, channel_id;
    calls::Direction direction = calls::Direction::inbound;
    std::shared_ptr<media::MediaSession> session;
    std::deque<std::shared_ptr<SpeakJob>> jobs;
    std::optional<calls::AudioCapture> capture;
    std::unique_ptr<speech::AsrSession> asr;
    std::vector<std::pair<std::string, MediaTap>> taps;  // agent streams
    bool ended = false;
    // call.audio_frame coalescing
    std::vector<int16_t> frame_acc;
    int64_t frame_acc_start_ms = 0;
    // When audio arrived, to turn an ASR utterance end into a latency.
    uint64_t samples_in = 0;
    std::deque<std::pair<uint64_t, Clock::time_point>> arrivals;
    Clock::time_point last_audio{};
  };

  asio::any_io_executor ex;
  ari::AriApi& ari;
  calls::CallManager& calls;
  speech::TtsEngine* tts;
  speech::AsrEngine* asr;
  VoiceOptions opts;
  bool media_supported = true;
  std::string media_unsupported_why;
  std::function<bool()> audio_wanted;
  std::unordered_map<std::string, std::shared_ptr<VoiceCall>> by_call;
  std::unordered_map<std::string, std::shared_ptr<VoiceCall>> by_channel;  // call + media channels
  // ASR sessions finishing after their capture stopped (kept until done).
  std::vector<std::shared_ptr<speech::AsrSession>> finishing;
  VoiceStats st;
  uint64_t speak_seq = 0;

  Impl(asio::any_io_executor e, ari::AriApi& a, calls::CallManager& c, speech::TtsEngine* t,
       speech::AsrEngine* r, VoiceOptions o)
      : ex(std::move(e)), ari(a), calls(c), tts(t), asr(r), opts(std::move(o)) {}

  // ---- events out ----
  void emit(calls::EventKind kind, const std::string& call_id, calls::VoiceEvent v) {
    calls::publish_voice(calls, kind, call_id, std::move(v));
  }

  // ---- lookups ----
  Outcome<calls::CallRecord> ready_call(const std::string& call_id) {
    auto rec = calls.get_call(call_id);
    if (!rec) return rec.error();
    if (calls::is_final(rec->state)) return Error(ErrorCode::wrong_state, "Call has already ended");
    if (!calls.media_ready(call_id))
      return Error(ErrorCode::wrong_state,
                   "Call is not answered yet: it cannot take media operations");
    if (!calls.ari_connected())
      return Error(ErrorCode::ari_unavailable, "Asterisk is not connected");
    if (!media_supported) return Error(ErrorCode::voice_unavailable, media_unsupported_why);
    return rec;
  }

  std::shared_ptr<VoiceCall> ensure_call(const calls::CallRecord& rec) {
    auto& vc = by_call[rec.id];
    if (!vc) {
      vc = std::make_shared<VoiceCall>();
      vc->call_id = rec.id;
      vc->channel_id = rec.channel_id;
      vc->direction = rec.direction;
      by_channel[rec.channel_id] = vc;
    }
    return vc;
  }

  /// The call whose media session uses `channel_id` (also while it is being
  /// set up, before the channel is indexed); null when none.
  std::shared_ptr<VoiceCall> by_media_channel(std::string_view channel_id) const {
    for (const auto& [_, v] : by_call)
      if (v->session && v->session->media_channel_id() == channel_id) return v;
    return nullptr;
  }

  std::shared_ptr<VoiceCall> find(const std::string& call_id) {
    auto it = by_call.find(call_id);
    return it == by_call.end() ? nullptr : it->second;
  }

  // ---- the media session ----
  awaitable<Status> ensure_session(std::shared_ptr<VoiceCall> vc) {
    if (!vc->session || vc->session->closed()) {
      auto rec = calls.get_call(vc->call_id);
      if (!rec || calls::is_final(rec->state))
        co_return Error(ErrorCode::wrong_state, "Call has already ended");
      auto s =
          std::make_shared<media::MediaSession>(ex, ari, opts.media, vc->call_id, vc->channel_id);
      s->set_call_bridge(calls.bridge_of(vc->call_id));
      std::weak_ptr<Impl> weak = shared_from_this();
      std::weak_ptr<VoiceCall> wvc = vc;
      std::weak_ptr<media::MediaSession> ws = s;
      s->on_closed = [weak, wvc, ws](const std::string& reason) {
        auto self = weak.lock();
        auto v = wvc.lock();
        if (self && v) self->session_closed(v, ws.lock(), reason);
      };
      // One listener for the caller's audio: the capture (if any) and every tap.
      s->on_audio = [weak, wvc](std::span<const int16_t> pcm) {
        auto me = weak.lock();
        auto v = wvc.lock();
        if (!me || !v) return;
        if (v->capture) me->on_audio(v, pcm);
        for (size_t i = 0; i < v->taps.size(); ++i) {
          auto fn = v->taps[i].second.on_audio;  // a tap may detach itself
          if (fn) fn(pcm);
        }
      };
      vc->session = s;
      ++st.sessions_active;
    }
    auto session = vc->session;
    Status started = co_await session->start();
    if (started && !session->media_channel_id().empty())
      by_channel[session->media_channel_id()] = vc;
    co_return started;
  }

  void session_closed(const std::shared_ptr<VoiceCall>& vc,
                      const std::shared_ptr<media::MediaSession>& s, const std::string& reason) {
    if (st.sessions_active) --st.sessions_active;
    if (s) {
      const auto& ms = s->stats();
      st.frames_in += ms.frames_in;
      st.bytes_out += ms.bytes_out;
      st.xoff += ms.xoff;
      st.flushes += ms.flushes;
      by_channel.erase(s->media_channel_id());
    }
    if (vc->session == s) vc->session.reset();
    auto taps = std::move(vc->taps);
    vc->taps.clear();
    for (auto& [_, t] : taps)
      if (t.on_closed) t.on_closed(vc->ended ? "call ended" : reason);
    if (vc->capture && !vc->ended) {
      // No zombie capture: the caller's audio no longer reaches us.
      calls::VoiceEvent ev;
      ev.error = "media session lost: " + reason;
      emit(calls::EventKind::call_audio_capture_error, vc->call_id, ev);
      stop_capture_now(vc, "error");
    }
  }

  // ---- speak ----
  void complete(const std::shared_ptr<VoiceCall>& vc, const std::shared_ptr<SpeakJob>& job,
                media::PlayoutEnd end, double heard_s) {
    if (job->finished) return;
    job->finished = true;
    if (job->tts) job->tts->cancel();
    job->result.duration_s = heard_s;
    job->result.finished = true;
    calls::VoiceEvent v;
    v.speak_id = job->id;
    v.text = job->req.text;
    v.voice = job->voice_used;
    v.language = job->result.language;
    if (end == media::PlayoutEnd::heard && job->tts_error) {
      job->error = *job->tts_error;
      v.error = job->tts_error->message;
      ++st.speak_errors;
      emit(calls::EventKind::call_speak_error, vc->call_id, v);
    } else if (end == media::PlayoutEnd::failed) {
      job->error = vc->ended ? Error(ErrorCode::wrong_state, "Call ended during speech")
                             : Error(ErrorCode::ari_error, "The call's media session was lost");
      v.error = job->error->message;
      v.interrupted = true;
      ++st.speak_errors;
      emit(calls::EventKind::call_playback_stream_error, vc->call_id, v);
      emit(calls::EventKind::call_speak_error, vc->call_id, v);
    } else {
      job->result.interrupted = end == media::PlayoutEnd::interrupted;
      if (job->result.interrupted) ++st.interrupted;
      v.duration_s = heard_s;
      v.interrupted = job->result.interrupted;
      if (job->utt && job->utt->pushed_seconds(opts.media.rate_hz) > 0)
        emit(calls::EventKind::call_playback_stream_finished, vc->call_id, v);
      emit(calls::EventKind::call_speak_finished, vc->call_id, v);
    }
    std::erase(vc->jobs, job);
    if (vc->jobs.empty() && !vc->ended) calls.set_speaking(vc->call_id, false);
    if (job->done) job->done->notify_all();
  }

  void interrupt_all(const std::shared_ptr<VoiceCall>& vc, StopResult& out) {
    if (vc->session) out.interrupted += vc->session->flush();
    // Jobs the session had not taken yet (it was starting) end here.
    auto jobs = vc->jobs;
    for (auto& j : jobs) {
      if (!j->finished) {
        ++out.interrupted;
        complete(vc, j, media::PlayoutEnd::interrupted, 0);
      }
    }
  }

  /// Push TTS audio without its leading and trailing silence: samples before
  /// the first one louder than kSilence (but 10 ms) are dropped; a quiet
  /// stretch is held back until more sound follows it (a pause between
  /// sentences) and dropped at the end. A linear scan, ~µs per 100 ms chunk.
  static void push_trimmed(SpeakJob& j, std::span<const int16_t> pcm) {
    constexpr int kSilence = 100;  // about -50 dBFS
    auto loud = [](int16_t s) { return s >= kSilence || s <= -kSilence; };
    size_t from = 0;
    if (!j.sound_seen) {
      size_t first = 0;
      while (first < pcm.size() && !loud(pcm[first])) ++first;
      if (first == pcm.size()) return;
      j.sound_seen = true;
      from = first > 160 ? first - 160 : 0;
    }
    size_t last = pcm.size();
    while (last > from && !loud(pcm[last - 1])) --last;
    if (last == from) {
      j.silent_tail.insert(j.silent_tail.end(), pcm.begin() + static_cast<std::ptrdiff_t>(from),
                           pcm.end());
      // A long pause is real: past 2 s at 16 kHz it is sent as it is.
      if (j.silent_tail.size() > 32000) {
        j.utt->push(j.silent_tail);
        j.silent_tail.clear();
      }
      return;
    }
    if (!j.silent_tail.empty()) {
      j.utt->push(j.silent_tail);
      j.silent_tail.clear();
    }
    j.utt->push(pcm.subspan(from, last - from));
    j.silent_tail.assign(pcm.begin() + static_cast<std::ptrdiff_t>(last), pcm.end());
  }

  std::shared_ptr<SpeakJob> start_job(const std::shared_ptr<VoiceCall>& vc, SpeakRequest req) {
    auto job = std::make_shared<SpeakJob>();
    job->id = "speak-" + std::to_string(++speak_seq) + "-" + random_hex(4);
    job->req = std::move(req);
    job->done = std::make_shared<Wake>(ex);
    job->voice_used = job->req.voice.empty() ? opts.default_voice : job->req.voice;
    job->result.speak_id = job->id;
    job->result.text = job->req.text;
    job->result.language = job->req.language.empty() ? opts.default_language : job->req.language;
    job->utt = std::make_shared<media::Utterance>(job->id);
    vc->jobs.push_back(job);
    ++st.speaks;

    speech::TtsRequest tr;
    tr.text = job->req.text;
    tr.voice = job->voice_used;
    tr.language = job->result.language;
    tr.speed = job->req.speed;
    tr.rate_hz = opts.media.rate_hz;
    std::weak_ptr<SpeakJob> wj = job;
    speech::TtsCallbacks cb;
    cb.on_start = [wj](const speech::TtsStart& s) {
      if (auto j = wj.lock()) j->voice_used = s.voice;
    };
    cb.on_audio = [wj](std::vector<int16_t> pcm) {
      if (auto j = wj.lock()) push_trimmed(*j, pcm);
    };
    cb.on_done = [wj](Status s) {
      auto j = wj.lock();
      if (!j) return;
      if (!s) j->tts_error = s.error();
      // The trailing silence is dropped, but 50 ms: the speech ends as it faded.
      if (j->silent_tail.size() > 800) j->silent_tail.resize(800);
      if (!j->silent_tail.empty()) j->utt->push(j->silent_tail);
      j->silent_tail.clear();
      j->utt->end();
    };
    job->tts = tts->synthesize(std::move(tr), std::move(cb));
    return job;
  }

  void attach_job(const std::shared_ptr<VoiceCall>& vc, const std::shared_ptr<SpeakJob>& job) {
    std::weak_ptr<Impl> weak = shared_from_this();
    std::weak_ptr<VoiceCall> wvc = vc;
    std::weak_ptr<SpeakJob> wj = job;
    job->utt->on_first_sent = [weak, wvc, wj] {
      auto self = weak.lock();
      auto v = wvc.lock();
      auto j = wj.lock();
      if (!self || !v || !j) return;
      self->calls.set_speaking(v->call_id, true);
      if (self->speak_start)
        self->speak_start(
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - j->requested));
      calls::VoiceEvent ev;
      ev.speak_id = j->id;
      ev.text = j->req.text;
      ev.voice = j->voice_used;
      ev.language = j->result.language;
      self->emit(calls::EventKind::call_speak_started, v->call_id, ev);
      self->emit(calls::EventKind::call_playback_stream_started, v->call_id, ev);
    };
    job->utt->on_finished = [weak, wvc, wj](media::PlayoutEnd end, double heard_s) {
      auto self = weak.lock();
      auto v = wvc.lock();
      auto j = wj.lock();
      if (self && v && j) self->complete(v, j, end, heard_s);
    };
    job->in_session = true;
  }

  // ---- capture ----
  void on_audio(const std::shared_ptr<VoiceCall>& vc, std::span<const int16_t> pcm) {
    const auto now = Clock::now();
    vc->last_audio = now;
    vc->samples_in += pcm.size();
    // One arrival mark per ~100 ms is enough to place an utterance end in time.
    if (vc->arrivals.empty() || vc->samples_in - vc->arrivals.back().first >= 1600) {
      vc->arrivals.emplace_back(vc->samples_in, now);
      while (vc->arrivals.size() > 600) vc->arrivals.pop_front();  // ~60 s
    }
    if (vc->asr) vc->asr->feed(pcm);
    if (audio_wanted && audio_wanted()) {
      if (vc->frame_acc.empty()) vc->frame_acc_start_ms = now_epoch_ms();
      vc->frame_acc.insert(vc->frame_acc.end(), pcm.begin(), pcm.end());
      const size_t per_event =
          static_cast<size_t>(opts.media.rate_hz) * opts.audio_frame_period.count() / 1000;
      if (vc->frame_acc.size() >= per_event) {
        calls::VoiceEvent ev;
        ev.sample_count = static_cast<int64_t>(vc->frame_acc.size());
        ev.sample_rate = opts.media.rate_hz;
        ev.audio_timestamp_ms = vc->frame_acc_start_ms;
        ev.audio_b64 = base64_encode(std::string_view(
            reinterpret_cast<const char*>(vc->frame_acc.data()), vc->frame_acc.size() * 2));
        vc->frame_acc.clear();
        emit(calls::EventKind::call_audio_frame, vc->call_id, std::move(ev));
      }
    } else {
      vc->frame_acc.clear();
    }
  }

  /// Wall-clock time at which sample `n` of the capture arrived.
  Clock::time_point arrival_of(const VoiceCall& vc, uint64_t n) {
    for (auto it = vc.arrivals.rbegin(); it != vc.arrivals.rend(); ++it)
      if (it->first <= n) return it->second;
    return vc.arrivals.empty() ? Clock::now() : vc.arrivals.front().second;
  }

  void on_transcript(const std::shared_ptr<VoiceCall>& vc, const speech::Transcript& t) {
    if (t.text.empty()) return;
    ++st.transcriptions;
    if (t.is_final && t.audio_end_s > 0 && transcription_latency) {
      const auto end_sample = static_cast<uint64_t>(t.audio_end_s * opts.media.rate_hz);
      const auto latency = Clock::now() - arrival_of(*vc, end_sample);
      transcription_latency(std::chrono::duration_cast<std::chrono::microseconds>(latency));
    }
    calls::VoiceEvent ev;
    ev.text = t.text;
    ev.is_final = t.is_final;
    emit(calls::EventKind::call_transcription, vc->call_id, std::move(ev));
  }
  std::function<void(std::chrono::microseconds)> transcription_latency;
  std::function<void(std::chrono::microseconds)> speak_start;

  void open_asr(const std::shared_ptr<VoiceCall>& vc) {
    if (!asr) return;
    std::weak_ptr<Impl> weak = shared_from_this();
    std::weak_ptr<VoiceCall> wvc = vc;
    speech::AsrCallbacks cb;
    cb.on_transcript = [weak, wvc](const speech::Transcript& t) {
      auto self = weak.lock();
      auto v = wvc.lock();
      if (self && v) self->on_transcript(v, t);
    };
    cb.on_error = [weak, wvc](const Error& e) {
      auto self = weak.lock();
      auto v = wvc.lock();
      if (!self || !v) return;
      calls::VoiceEvent ev;
      ev.error = "ASR: " + e.message;
      self->emit(calls::EventKind::call_audio_capture_error, v->call_id, ev);
      if (v->asr) {
        v->asr->cancel();
        // Destroyed later: we may be inside one of its callbacks.
        self->finishing.push_back(std::shared_ptr<speech::AsrSession>(std::move(v->asr)));
      }
    };
    speech::AsrSessionOptions so;
    so.language = opts.asr_language;
    so.call_id = vc->call_id;
    auto s = asr->open(so, std::move(cb));
    if (!s) {
      calls::VoiceEvent ev;
      ev.error = "Failed to start ASR: " + s.error().message;
      emit(calls::EventKind::call_audio_capture_error, vc->call_id, ev);
      return;
    }
    vc->asr = std::move(*s);
    ++st.asr_sessions;
  }

  void stop_capture_now(const std::shared_ptr<VoiceCall>& vc, const std::string& reason) {
    if (!vc->capture) return;
    vc->capture.reset();
    if (st.captures_active) --st.captures_active;
    vc->frame_acc.clear();
    calls.set_audio_capture(vc->call_id, std::nullopt);
    calls::VoiceEvent ev;
    ev.reason = reason;
    emit(calls::EventKind::call_audio_capture_stopped, vc->call_id, ev);
    if (vc->asr) {
      // Flush: the last words come back as one final transcription.
      std::shared_ptr<speech::AsrSession> s(std::move(vc->asr));
      finishing.push_back(s);
      std::weak_ptr<Impl> weak = shared_from_this();
      std::weak_ptr<speech::AsrSession> ws = s;
      s->finish([weak, ws] {
        auto self = weak.lock();
        if (!self) return;
        // Released after this callback returns.
        asio::post(self->ex, [weak, ws] {
          if (auto me = weak.lock()) {
            auto target = ws.lock();
            std::erase_if(me->finishing, [&](const auto& f) { return !target || f == target; });
          }
        });
      });
    }
  }

  awaitable<Outcome<calls::AudioCapture>> start_capture(std::string call_id) {
    auto self = shared_from_this();
    auto rec = ready_call(call_id);
    if (!rec) co_return rec.error();
    auto vc = ensure_call(*rec);
    if (vc->capture) co_return *vc->capture;
    Status s = co_await ensure_session(vc);
    if (!s) co_return s.error();
    if (vc->ended) co_return Error(ErrorCode::wrong_state, "Call ended");
    if (vc->capture) co_return *vc->capture;  // a concurrent start won
    calls::AudioCapture cap;
    cap.external_media_channel_id = vc->session->media_channel_id();
    cap.format = "slin16";
    cap.sample_rate = opts.media.rate_hz;
    cap.started_at_ms = now_epoch_ms();
    cap.asr = asr ? std::string(asr->name()) : std::string{};
    vc->capture = cap;
    vc->samples_in = 0;
    vc->arrivals.clear();
    ++st.captures_started;
    ++st.captures_active;
    calls.set_audio_capture(vc->call_id, cap);
    calls::VoiceEvent ev;
    ev.capture = cap;
    emit(calls::EventKind::call_audio_capture_started, vc->call_id, ev);
    open_asr(vc);
    if (!vc->asr && asr) {
      cap.asr.clear();
      vc->capture = cap;
      calls.set_audio_capture(vc->call_id, cap);
    }
    // Calls bridged with a silent leg deliver no frames at all (traces): keep
    // the recogniser's clock going so it can end an utterance.
    spawn(ex, gap_filler(self, vc), "asr silence filler");
    co_return cap;
  }

  awaitable<void> gap_filler(std::shared_ptr<Impl> self, std::shared_ptr<VoiceCall> vc) {
    const std::vector<int16_t> silence(opts.media.rate_hz / 10, 0);  // 100 ms
    asio::steady_timer t(ex);
    while (vc->capture && !vc->ended) {
      t.expires_after(milliseconds(100));
      boost::system::error_code ec;
      co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
      if (!vc->capture || vc->ended || !vc->asr) continue;
      if (Clock::now() - vc->last_audio > milliseconds(300)) vc->asr->feed(silence);
    }
    (void)self;
  }

  // ---- the end of a call ----
  void call_ended(const std::string& call_id) {
    auto vc = find(call_id);
    if (!vc) return;
    vc->ended = true;
    by_call.erase(call_id);
    by_channel.erase(vc->channel_id);
    stop_capture_now(vc, "call ended");
    auto jobs = vc->jobs;
    for (auto& j : jobs) complete(vc, j, media::PlayoutEnd::failed, 0);
    if (auto s = vc->session) {
      spawn(ex, s->stop("call ended"), "media session stop");
    }
  }
};

// ---------------------------------------------------------------------------

VoiceManager::VoiceManager(asio::any_io_executor ex, ari::AriApi& ari, calls::CallManager& calls,
                           speech::TtsEngine* tts, speech::AsrEngine* asr, VoiceOptions opts)
    : impl_(std::make_shared<Impl>(std::move(ex), ari, calls, tts, asr, std::move(opts))) {}

VoiceManager::~VoiceManager() {
  // Speech jobs and sessions hold strands of the engines' worker pool. Coroutines
  // still parked on the io_context (a speak waiting, the silence filler) keep
  // their VoiceCall alive until the io_context itself goes, which may be after
  // the pool: release every engine object now, while the pool exists.
  auto& im = *impl_;
  for (auto& [_, vc] : im.by_call) {
    for (auto& j : vc->jobs) {
      if (j->tts) j->tts->cancel();
      j->tts.reset();
    }
    if (vc->asr) vc->asr->cancel();
    vc->asr.reset();
    vc->capture.reset();
    if (vc->session) vc->session->on_audio = nullptr;
    vc->taps.clear();
  }
  for (auto& f : im.finishing) f->cancel();
  im.finishing.clear();
  im.tts = nullptr;
  im.asr = nullptr;
}

void VoiceManager::on_ari_event(const ari::Event& e) {
  const std::string& id = e.channel_id();
  if (id.empty()) return;
  std::shared_ptr<Impl::VoiceCall> vc;
  if (auto it = impl_->by_channel.find(id); it != impl_->by_channel.end()) {
    vc = it->second;
  } else if (media::is_media_channel(id)) {
    vc = impl_->by_media_channel(id);  // a session being set up: not indexed yet
  }
  if (vc && vc->session) vc->session->on_ari_event(e);
}

void VoiceManager::on_call_event(const calls::DomainEvent& e) {
  auto& im = *impl_;
  using K = calls::EventKind;
  if (e.kind == K::call_ended) {
    im.call_ended(e.call_id);
    return;
  }
  if (e.kind != K::call_ready || !e.call) return;
  const bool wanted =
      im.opts.auto_start == AutoStart::all ||
      (im.opts.auto_start == AutoStart::inbound && e.call->direction == calls::Direction::inbound);
  if (!wanted || !im.asr || !im.media_supported) return;
  auto self = impl_;
  std::string call_id = e.call_id;
  auto task = [](std::shared_ptr<Impl> me, std::string id) -> awaitable<void> {
    auto r = co_await me->start_capture(id);
    if (!r) log::warn("call {}: audio capture did not start by itself: {}", id, r.error().message);
  };
  spawn(im.ex, task(self, call_id), "auto audio capture");
}

bool VoiceManager::tts_available() const {
  return impl_->tts != nullptr;
}
bool VoiceManager::asr_available() const {
  return impl_->asr != nullptr;
}

bool VoiceManager::owns_channel(std::string_view channel_id) const {
  auto it = impl_->by_channel.find(std::string(channel_id));
  if (it != impl_->by_channel.end()) return it->second->channel_id != channel_id;
  // A session still being set up knows its channel id before Asterisk does.
  return impl_->by_media_channel(channel_id) != nullptr;
}

void VoiceManager::set_transcription_latency_observer(
    std::function<void(std::chrono::microseconds)> fn) {
  impl_->transcription_latency = std::move(fn);
}

void VoiceManager::set_speak_start_observer(std::function<void(std::chrono::microseconds)> fn) {
  impl_->speak_start = std::move(fn);
}

void VoiceManager::set_media_support(bool supported, std::string why) {
  impl_->media_supported = supported;
  impl_->media_unsupported_why = std::move(why);
}

void VoiceManager::set_audio_frames_wanted(std::function<bool()> wanted) {
  impl_->audio_wanted = std::move(wanted);
}

awaitable<Outcome<std::shared_ptr<media::MediaSession>>> VoiceManager::attach_media(
    std::string call_id, std::string tap_id, MediaTap tap) {
  auto im = impl_;
  auto rec = im->ready_call(call_id);
  if (!rec) co_return rec.error();
  auto vc = im->ensure_call(*rec);
  Status s = co_await im->ensure_session(vc);
  if (!s) co_return s.error();
  if (vc->ended || !vc->session || !vc->session->up())
    co_return Error(ErrorCode::wrong_state, "Call ended");
  auto it = std::find_if(vc->taps.begin(), vc->taps.end(),
                         [&](const auto& t) { return t.first == tap_id; });
  if (it != vc->taps.end())
    it->second = std::move(tap);
  else
    vc->taps.emplace_back(std::move(tap_id), std::move(tap));
  co_return vc->session;
}

void VoiceManager::detach_media(const std::string& call_id, const std::string& tap_id) {
  auto vc = impl_->find(call_id);
  if (!vc) return;
  std::erase_if(vc->taps, [&](const auto& t) { return t.first == tap_id; });
}

awaitable<Outcome<SpeakResult>> VoiceManager::speak(std::string call_id, SpeakRequest req) {
  auto im = impl_;
  if (!im->tts)
    co_return Error(ErrorCode::voice_unavailable,
                    "No TTS engine is configured (TTS_ENGINE=none): speak is not available");
  auto rec = im->ready_call(call_id);
  if (!rec) co_return rec.error();
  auto vc = im->ensure_call(*rec);
  if (req.interrupt) {
    StopResult ignored;
    im->interrupt_all(vc, ignored);
  }
  if (vc->jobs.size() >= im->opts.max_queued_speaks)
    co_return Error(ErrorCode::wrong_state, std::to_string(vc->jobs.size()) +
                                                " speak requests are already queued on this "
                                                "call; wait, or use interrupt:true");
  const bool wait = req.wait;
  // Synthesis starts now, while the media session is set up (or the queue plays).
  auto job = im->start_job(vc, std::move(req));
  Status s = co_await im->ensure_session(vc);
  if (!s) {
    if (!job->finished) {
      job->finished = true;
      if (job->tts) job->tts->cancel();
      std::erase(vc->jobs, job);
      calls::VoiceEvent ev;
      ev.speak_id = job->id;
      ev.text = job->req.text;
      ev.error = s.error().message;
      ++im->st.speak_errors;
      im->emit(calls::EventKind::call_speak_error, vc->call_id, ev);
    }
    co_return s.error();
  }
  if (!job->finished) {
    im->attach_job(vc, job);
    if (!vc->session->play(job->utt)) {
      im->complete(vc, job, media::PlayoutEnd::failed, 0);
      co_return Error(ErrorCode::wrong_state, "The call cannot take more audio now");
    }
  }
  if (!wait) co_return job->result;
  const auto deadline = Clock::now() + im->opts.speak_wait_limit;
  while (!job->finished && Clock::now() < deadline) co_await job->done->wait_until(deadline);
  if (job->error) co_return *job->error;
  job->result.voice = job->voice_used;
  co_return job->result;
}

awaitable<Outcome<StopResult>> VoiceManager::stop_speaking(std::string call_id) {
  auto im = impl_;
  auto rec = im->calls.get_call(call_id);
  if (!rec) co_return rec.error();
  StopResult out;
  if (auto vc = im->find(call_id)) im->interrupt_all(vc, out);
  co_return out;
}

awaitable<Outcome<calls::AudioCapture>> VoiceManager::start_capture(std::string call_id) {
  auto im = impl_;
  auto r = co_await im->start_capture(std::move(call_id));
  co_return r;
}

awaitable<Status> VoiceManager::stop_capture(std::string call_id) {
  auto im = impl_;
  auto rec = im->calls.get_call(call_id);
  if (!rec) co_return rec.error();
  auto vc = im->find(call_id);
  if (!vc || !vc->capture) co_return ok_status();
  im->stop_capture_now(vc, "requested");
  // Nothing else needs the media path: free it at Asterisk.
  if (vc->jobs.empty() && vc->taps.empty() && vc->session) {
    auto s = vc->session;
    co_await s->stop("capture stopped");
  }
  co_return ok_status();
}

VoiceStats VoiceManager::stats() const {
  VoiceStats s = impl_->st;
  for (const auto& [_, vc] : impl_->by_call) {
    if (!vc->session) continue;
    const auto& ms = vc->session->stats();
    s.frames_in += ms.frames_in;
    s.bytes_out += ms.bytes_out;
    s.xoff += ms.xoff;
    s.flushes += ms.flushes;
  }
  return s;
}

size_t VoiceManager::sessions() const {
  size_t n = 0;
  for (const auto& [_, vc] : impl_->by_call)
    if (vc->session && !vc->session->closed()) ++n;
  return n;
}

}  // namespace aa::voice
