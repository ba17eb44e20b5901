#include "speech/pocketsphinx_asr.hpp"

#include <pocketsphinx.h>
#include <sphinxbase/err.h>
#include <sphinxbase/fsg_model.h>
#include <sphinxbase/jsgf.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <vector>

#include "common/log.hpp"

namespace aa::speech {

namespace {

constexpr uint32_t kRate = 16000;
constexpr size_t kBlock = 800;  // samples per ps_process_raw call: 50 ms
// pocketsphinx's VAD keeps this much silence after speech before it says
// "not in speech" (-vad_postspeech default 50 frames of 10 ms).
constexpr double kVadPostSpeechS = 0.5;

// The last problem sphinxbase reported on this thread (for error details).
thread_local std::string t_last_error;

void sphinx_log(void*, err_lvl_t lvl, const char* fmt, ...) {
  if (lvl < ERR_WARN) return;  // INFO is chatty: model loading, per-utterance stats
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof buf, fmt, ap);
  va_end(ap);
  std::string msg(buf);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  if (lvl >= ERR_ERROR) t_last_error = msg;
  log::debug("pocketsphinx: {}", msg);
}

// sphinxbase logs through one process-wide callback (default: stderr).
void init_sphinx_logging() {
  static std::once_flag once;
  std::call_once(once, [] {
    err_set_logfp(nullptr);  // also silences the configuration dump, which bypasses the callback
    err_set_callback(sphinx_log, nullptr);
  });
}

Outcome<ps_decoder_t*> create_decoder(const PocketSphinxOptions& o) {
  namespace fs = std::filesystem;
  init_sphinx_logging();
  const std::string hmm = o.model_dir + "/en-us";
  const std::string dict = o.model_dir + "/cmudict-en-us.dict";
  const std::string lm = o.model_dir + "/en-us.lm.bin";
  // Some of sphinxbase's loaders exit() on a missing file: check first.
  std::error_code ec;
  for (const auto& f : {hmm + "/mdef", dict, o.grammar.empty() ? lm : dict})
    if (!fs::exists(f, ec))
      return Error(ErrorCode::asr_unavailable, "Speech recognition is not available",
                   "PocketSphinx model file missing: " + f + " (package pocketsphinx-en-us)");
  const std::string maxhmm = std::to_string(o.max_hmm_per_frame);
  t_last_error.clear();
  cmd_ln_t* cfg =
      o.grammar.empty()
          ? cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-dict", dict.c_str(), "-lm",
                        lm.c_str(), "-maxhmmpf", maxhmm.c_str(), "-fwdflat", "no", nullptr)
          : cmd_ln_init(nullptr, ps_args(), TRUE, "-hmm", hmm.c_str(), "-dict", dict.c_str(),
                        "-maxhmmpf", maxhmm.c_str(), nullptr);
  if (!cfg)
    return Error(ErrorCode::asr_unavailable, "Speech recognition is not available",
                 "PocketSphinx configuration refused: " + t_last_error);
  ps_decoder_t* ps = ps_init(cfg);
  cmd_ln_free_r(cfg);  // the decoder keeps its own reference
  if (!ps)
    return Error(ErrorCode::asr_unavailable, "Speech recognition is not available",
                 "PocketSphinx decoder did not initialise: " + t_last_error);
  if (!o.grammar.empty()) {
    // The grammar is parsed here rather than by ps_set_jsgf_string, which in
    // this pocketsphinx (5prealpha, Debian 12) never frees the parsed JSGF.
    bool ok = false;
    jsgf_t* jsgf = nullptr;
    {
#if defined(__SANITIZE_ADDRESS__)
      // Its parser also leaks a few tokens when a grammar has a syntax error:
      // not ours to report.
      __lsan::ScopedDisabler third_party_leaks;
#endif
      jsgf = jsgf_parse_string(o.grammar.c_str(), nullptr);
    }
    if (jsgf) {
      if (jsgf_rule_t* rule = jsgf_get_public_rule(jsgf)) {
        const float lw = static_cast<float>(cmd_ln_float32_r(ps_get_config(ps), "-lw"));
        if (fsg_model_t* fsg = jsgf_build_fsg(jsgf, rule, ps_get_logmath(ps), lw)) {
          ok = ps_set_fsg(ps, "grammar", fsg) >= 0;
          fsg_model_free(fsg);  // the search holds its own reference
        }
      }
      jsgf_grammar_free(jsgf);
    }
    if (!ok || ps_set_search(ps, "grammar") < 0) {
      ps_free(ps);
      return Error(ErrorCode::asr_unavailable, "Speech recognition is not available",
                   "invalid JSGF grammar: " + (t_last_error.empty() ? "rejected" : t_last_error));
    }
  }
  return ps;
}

std::string hypothesis(ps_decoder_t* ps) {
  const char* h = ps_get_hyp(ps, nullptr);
  return h ? std::string(h) : std::string{};
}

}  // namespace

// Shared by the engine and every worker job: the idle decoders.
struct PocketSphinxAsr::Core {
  PocketSphinxOptions opts;
  mutable std::mutex m;
  std::condition_variable cv;
  std::vector<ps_decoder_t*> idle;
  bool ready = false;  // the prewarm finished (or none was asked for)
  std::string init_error;
  size_t active = 0;  // io thread only

  explicit Core(PocketSphinxOptions o) : opts(std::move(o)) {}
  ~Core() {
    for (auto* d : idle) ps_free(d);
  }

  Outcome<ps_decoder_t*> acquire() {
    {
      std::lock_guard lk(m);
      if (!idle.empty()) {
        auto* d = idle.back();
        idle.pop_back();
        return d;
      }
    }
    return create_decoder(opts);
  }
  void release(ps_decoder_t* d) {
    std::lock_guard lk(m);
    if (idle.size() < std::max<size_t>(1, opts.max_sessions)) {
      idle.push_back(d);
      return;
    }
    ps_free(d);
  }
};

namespace {

using Core = PocketSphinxAsr::Core;

// One recognition session. Fields are split by thread: `io_*` on the io
// thread, `w_*` on the session's strand, the queue under `m`.
struct State : std::enable_shared_from_this<State> {
  std::shared_ptr<Core> core;
  WorkerPool* pool = nullptr;
  WorkerPool::Strand strand;
  asio::any_io_executor io;
  std::string call_id;
  size_t max_backlog = 0;      // samples
  uint64_t partial_every = 0;  // samples of speech

  std::atomic<bool> stopped{false};  // the worker abandons its work

  std::mutex m;
  std::vector<int16_t> queued;
  size_t backlog = 0;  // queued + being decoded
  bool scheduled = false;

  // io thread
  AsrCallbacks io_cb;
  bool io_closed = false;     // no callback any more
  bool io_finishing = false;  // finish() called: feed() ignored
  bool io_failed = false;     // an error is on its way: feed() ignored
  bool io_slot_held = true;
  std::unique_ptr<asio::steady_timer> io_finish_timer;

  // worker (strand)
  ps_decoder_t* w_ps = nullptr;
  bool w_in_utt = false;
  bool w_in_speech = false;
  uint64_t w_samples = 0;
  uint64_t w_next_partial = 0;
  std::string w_last_partial;

  State(WorkerPool& p) : pool(&p), strand(p.make_strand()) {}
  ~State() {
    if (w_ps) {  // the session ended without its retire job running
      if (w_in_utt) ps_end_utt(w_ps);
      core->release(w_ps);
    }
  }

  // ---- io thread ----
  void release_slot() {
    if (!io_slot_held) return;
    io_slot_held = false;
    --core->active;
  }
  void close_io() {
    io_closed = true;
    stopped = true;
    release_slot();
    if (io_finish_timer) io_finish_timer->cancel();
  }
  // Hand the decoder back from the strand (after what is queued there).
  void retire() {
    auto self = shared_from_this();
    pool->post(strand, [self] { self->w_retire(); });  // if refused, ~State returns it
  }
  void post_transcript(Transcript t) {
    asio::post(io, [self = shared_from_this(), t = std::move(t)] {
      if (self->io_closed || !self->io_cb.on_transcript) return;
      self->io_cb.on_transcript(t);
    });
  }
  // Report a fatal problem (from any thread): the session delivers nothing more.
  void post_error(Error e) {
    stopped = true;
    asio::post(io, [self = shared_from_this(), e = std::move(e)] {
      if (self->io_closed) return;
      auto cb = std::move(self->io_cb);
      self->io_cb = {};
      self->close_io();
      self->retire();
      log::warn("call {}: speech recognition stopped: {}", self->call_id,
                e.internal_detail.empty() ? e.message : e.internal_detail);
      if (cb.on_error) cb.on_error(e);
    });
  }

  void feed(std::span<const int16_t> pcm) {
    if (io_closed || io_finishing || io_failed || pcm.empty()) return;
    bool overflow = false, schedule = false;
    {
      std::lock_guard lk(m);
      if (backlog + pcm.size() > max_backlog) {
        overflow = true;
        queued.clear();
      } else {
        queued.insert(queued.end(), pcm.begin(), pcm.end());
        backlog += pcm.size();
        if (!scheduled) scheduled = schedule = true;
      }
    }
    if (overflow) {
      io_failed = true;
      post_error(Error(ErrorCode::asr_failed, "Speech recognition cannot keep up",
                       "more than " + std::to_string(max_backlog * 1000 / kRate) +
                           " ms of audio waiting for the decoder"));
      return;
    }
    if (schedule && !pool->post(strand, [self = shared_from_this()] { self->w_drain(); })) {
      io_failed = true;
      post_error(Error(ErrorCode::asr_failed, "Speech recognition cannot keep up",
                       "worker pool queue full"));
    }
  }

  // ---- worker (strand) ----
  bool w_ensure_decoder() {
    if (w_ps) return true;
    auto d = core->acquire();
    if (!d) {
      post_error(d.error());
      return false;
    }
    w_ps = *d;
    // A new caller, a new channel: the noise level and the stream's time start
    // afresh (a reused decoder still carries its cepstral mean, which adapts).
    ps_start_stream(w_ps);
    if (ps_start_utt(w_ps) < 0) {
      post_error(Error(ErrorCode::asr_failed, "Speech recognition failed", "ps_start_utt failed"));
      return false;
    }
    w_in_utt = true;
    return true;
  }

  void w_end_utterance() {
    ps_end_utt(w_ps);
    w_in_utt = false;
    std::string text = hypothesis(w_ps);
    w_last_partial.clear();
    if (!text.empty()) {
      double end_s = static_cast<double>(w_samples) / kRate;
      if (!w_in_speech) end_s = std::max(0.0, end_s - kVadPostSpeechS);
      post_transcript(Transcript{std::move(text), true, end_s});
    }
  }

  void w_process(const std::vector<int16_t>& pcm) {
    for (size_t off = 0; off < pcm.size() && !stopped; off += kBlock) {
      const size_t n = std::min(kBlock, pcm.size() - off);
      if (ps_process_raw(w_ps, pcm.data() + off, n, FALSE, FALSE) < 0) {
        post_error(
            Error(ErrorCode::asr_failed, "Speech recognition failed", "ps_process_raw failed"));
        return;
      }
      w_samples += n;
      const bool in = ps_get_in_speech(w_ps) != 0;
      if (in && !w_in_speech) w_next_partial = w_samples + partial_every;
      if (in && w_samples >= w_next_partial) {
        w_next_partial += partial_every;
        std::string text = hypothesis(w_ps);
        if (!text.empty() && text != w_last_partial) {
          w_last_partial = text;
          post_transcript(Transcript{std::move(text), false, 0});
        }
      }
      const bool ended = !in && w_in_speech;
      w_in_speech = in;
      if (ended) {
        w_end_utterance();
        if (ps_start_utt(w_ps) < 0) {
          post_error(
              Error(ErrorCode::asr_failed, "Speech recognition failed", "ps_start_utt failed"));
          return;
        }
        w_in_utt = true;
      }
    }
  }

  // Decode everything queued so far.
  void w_drain() {
    std::vector<int16_t> pcm;
    {
      std::lock_guard lk(m);
      pcm.swap(queued);
      scheduled = false;
    }
    if (!stopped && !pcm.empty() && w_ensure_decoder()) w_process(pcm);
    std::lock_guard lk(m);
    backlog -= std::min(backlog, pcm.size());
  }

  // End of capture: the rest of the audio, then the open utterance's final.
  void w_finish(std::function<void()> done) {
    w_drain();
    if (!stopped && w_ps && w_in_utt) {
      w_in_speech = true;  // the utterance was cut off: its end is the end of the audio
      w_end_utterance();
    }
    w_retire();
    asio::post(io, [self = shared_from_this(), done = std::move(done)] {
      if (self->io_closed) return;  // the finish timeout already answered
      self->close_io();
      self->io_cb = {};
      if (done) done();
    });
  }

  void w_retire() {
    if (!w_ps) return;
    if (w_in_utt) ps_end_utt(w_ps);
    w_in_utt = false;
    core->release(w_ps);
    w_ps = nullptr;
  }
};

class Session final : public AsrSession {
 public:
  explicit Session(std::shared_ptr<State> s) : s_(std::move(s)) {}
  ~Session() override { cancel(); }

  void feed(std::span<const int16_t> pcm) override { s_->feed(pcm); }

  void finish(std::function<void()> done) override {
    auto s = s_;
    if (s->io_closed || s->io_finishing) {
      if (done) asio::post(s->io, std::move(done));
      return;
    }
    s->io_finishing = true;
    // The worker may be far behind: answer after finish_timeout regardless.
    auto shared_done = std::make_shared<std::function<void()>>(std::move(done));
    s->io_finish_timer = std::make_unique<asio::steady_timer>(s->io, s->core->opts.finish_timeout);
    s->io_finish_timer->async_wait([s, shared_done](boost::system::error_code ec) {
      if (ec || s->io_closed) return;
      log::warn("call {}: speech recognition did not finish in time; last words dropped",
                s->call_id);
      s->close_io();
      s->io_cb = {};
      s->retire();
      if (*shared_done) (*shared_done)();
      *shared_done = nullptr;
    });
    bool queued = s->pool->post(s->strand, [s, shared_done] {
      s->w_finish([s, shared_done] {
        // Answered in time (on the io thread): the timeout's wait holds the
        // session state, so it must not linger past this.
        if (s->io_finish_timer) s->io_finish_timer->cancel();
        if (*shared_done) (*shared_done)();
        *shared_done = nullptr;
      });
    });
    if (!queued) {
      s->close_io();
      s->io_cb = {};
      asio::post(s->io, [shared_done] {
        if (*shared_done) (*shared_done)();
      });
    }
  }

  void cancel() override {
    auto& s = *s_;
    if (s.io_closed) return;
    s.close_io();
    s.retire();
    if (s.io_finish_timer) s.io_finish_timer->cancel();  // its wait holds the state
    // Callbacks are released later, on the io thread: cancel() may run inside one.
    asio::post(s.io, [st = s_] { st->io_cb = {}; });
  }

 private:
  std::shared_ptr<State> s_;
};

}  // namespace

PocketSphinxAsr::PocketSphinxAsr(asio::any_io_executor io, WorkerPool& pool,
                                 PocketSphinxOptions opts)
    : io_(std::move(io)), pool_(pool), core_(std::make_shared<Core>(std::move(opts))) {
  if (core_->opts.max_sessions == 0) core_->opts.max_sessions = 1;
  if (!core_->opts.prewarm) {
    core_->ready = true;
    return;
  }
  auto core = core_;
  bool queued = pool_.post([core] {
    auto d = create_decoder(core->opts);
    std::lock_guard lk(core->m);
    if (d) {
      core->idle.push_back(*d);
    } else {
      core->init_error = d.error().internal_detail;
      log::error("PocketSphinx: {}", core->init_error);
    }
    core->ready = true;
    core->cv.notify_all();
  });
  if (!queued) core_->ready = true;
}

PocketSphinxAsr::~PocketSphinxAsr() = default;

Outcome<std::unique_ptr<AsrSession>> PocketSphinxAsr::open(AsrSessionOptions opts,
                                                           AsrCallbacks cb) {
  {
    std::lock_guard lk(core_->m);
    if (!core_->init_error.empty())
      return Error(ErrorCode::asr_unavailable, "Speech recognition is not available",
                   core_->init_error);
  }
  if (core_->active >= core_->opts.max_sessions)
    return Error(ErrorCode::asr_unavailable, "Speech recognition is at capacity",
                 std::to_string(core_->opts.max_sessions) + " sessions open (ASR_MAX_SESSIONS)");
  auto s = std::make_shared<State>(pool_);
  s->core = core_;
  s->io = io_;
  s->call_id = std::move(opts.call_id);
  s->io_cb = std::move(cb);
  s->max_backlog = static_cast<size_t>(core_->opts.max_backlog.count()) * kRate / 1000;
  s->partial_every = std::max<uint64_t>(
      kBlock, static_cast<uint64_t>(core_->opts.partial_interval.count()) * kRate / 1000);
  ++core_->active;
  return std::unique_ptr<AsrSession>(std::make_unique<Session>(std::move(s)));
}

size_t PocketSphinxAsr::active_sessions() const {
  return core_->active;
}

size_t PocketSphinxAsr::idle_decoders() const {
  std::lock_guard lk(core_->m);
  return core_->idle.size();
}

Status PocketSphinxAsr::wait_ready(std::chrono::milliseconds limit) {
  std::unique_lock lk(core_->m);
  if (!core_->cv.wait_for(lk, limit, [&] { return core_->ready; }))
    return Error(ErrorCode::asr_unavailable, "Speech recognition is not ready",
                 "decoder still loading");
  if (!core_->init_error.empty())
    return Error(ErrorCode::asr_unavailable, "Speech recognition is not available",
                 core_->init_error);
  return ok_status();
}

}  // namespace aa::speech
