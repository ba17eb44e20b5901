#include "speech/http_tts.hpp"

#include <algorithm>
#include <atomic>
#include <optional>

#include "audio/pcm.hpp"
#include "audio/resampler.hpp"
#include "audio/wav.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "net/http_stream.hpp"

namespace aa::speech {

namespace {

constexpr size_t kErrorExcerpt = 200;  // bytes of a non-2xx body kept for the log

// One request. `io_*` fields live on the io thread, `w_*` on the strand.
struct Job final : TtsJob, std::enable_shared_from_this<Job> {
  asio::any_io_executor io;
  WorkerPool* pool = nullptr;
  WorkerPool::Strand strand;
  uint32_t out_rate = 16000;
  std::chrono::milliseconds timeout{0};

  std::atomic<bool> cancelled{false};

  TtsCallbacks io_cb;
  bool io_done = false;  // on_done was posted: nothing after it
  std::shared_ptr<net::HttpStream> io_http;
  int io_status = 0;
  std::string io_error_body;

  audio::WavStreamParser w_parser;
  std::optional<audio::Resampler> w_resampler;
  bool w_failed = false;

  explicit Job(WorkerPool& p) : pool(&p), strand(p.make_strand()) {}

  void cancel() override {  // io thread
    if (cancelled.exchange(true)) return;
    if (io_http) io_http->cancel();
    // Release the callbacks (and what they hold) later: cancel() may run inside one.
    asio::post(io, [self = shared_from_this()] {
      self->io_done = true;
      self->io_cb = {};
    });
  }

  // ---- io thread ----
  void deliver_done(Status st) {
    if (io_done) return;
    io_done = true;
    if (io_http) io_http->cancel();  // nothing more is wanted from it
    auto cb = std::move(io_cb);
    io_cb = {};
    if (!cancelled && cb.on_done) cb.on_done(std::move(st));
  }
  // End through the strand, so every piece of audio converted before is delivered first.
  void finish(Status st, bool end_of_wav) {
    if (io_done) return;
    auto self = shared_from_this();
    bool queued = pool->post(strand, [self, st = std::move(st), end_of_wav]() mutable {
      if (end_of_wav && !self->w_failed) {
        if (auto fin = self->w_parser.finish(); !fin) {
          st = Error(ErrorCode::tts_failed, "Speech synthesis failed",
                     "TTS answer is not a usable WAV: " + fin.error().message);
        } else {
          std::vector<int16_t> tail;
          if (self->w_resampler) self->w_resampler->flush(tail);
          self->w_post_audio(std::move(tail));
        }
      }
      if (self->w_failed) return;  // the conversion error was already posted
      asio::post(self->io,
                 [self, st = std::move(st)]() mutable { self->deliver_done(std::move(st)); });
    });
    if (!queued)
      deliver_done(Error(ErrorCode::tts_busy, "Speech synthesis is overloaded, try again",
                         "worker pool queue full"));
  }

  void on_head(const net::StreamHead& h) {
    io_status = h.status;
    if (h.status < 200 || h.status >= 300) return;
    log::debug("TTS answered {} ({})", h.status, h.header("Content-Type"));
  }

  void on_body(std::string_view bytes) {
    if (io_done) return;
    if (io_status < 200 || io_status >= 300) {
      const size_t room = kErrorExcerpt - std::min(kErrorExcerpt, io_error_body.size());
      io_error_body.append(bytes.substr(0, room));
      return;
    }
    auto self = shared_from_this();
    if (!pool->post(strand, [self, data = std::string(bytes)] { self->w_convert(data); })) {
      deliver_done(Error(ErrorCode::tts_busy, "Speech synthesis is overloaded, try again",
                         "worker pool queue full"));
    }
  }

  void on_end(const net::StreamEnd& e) {
    if (io_done) return;
    if (e.error == net::StreamEnd::Error::timeout) {
      return finish(Error(ErrorCode::tts_timeout, "Speech synthesis timed out",
                          "TTS server: " + e.message + " (TTS_TIMEOUT_MS " +
                              std::to_string(timeout.count()) + ")"),
                    false);
    }
    if (!e.ok()) {
      return finish(Error(ErrorCode::tts_failed, "Speech synthesis failed",
                          io_status ? "TTS answer broke off: " + e.message
                                    : "TTS server unreachable: " + e.message),
                    false);
    }
    if (io_status < 200 || io_status >= 300) {
      std::string excerpt = io_error_body;
      for (auto& c : excerpt)
        if (c == '\n' || c == '\r') c = ' ';
      return finish(Error(ErrorCode::tts_failed, "Speech synthesis failed",
                          "TTS server returned " + std::to_string(io_status) + ": " + excerpt),
                    false);
    }
    finish(ok_status(), true);
  }

  // ---- strand ----
  void w_post_audio(std::vector<int16_t> pcm) {
    if (pcm.empty()) return;
    asio::post(io, [self = shared_from_this(), pcm = std::move(pcm)]() mutable {
      if (self->io_done || self->cancelled || !self->io_cb.on_audio) return;
      self->io_cb.on_audio(std::move(pcm));
    });
  }

  void w_convert(const std::string& bytes) {
    if (w_failed || cancelled) return;
    std::vector<int16_t> frames;
    if (auto st = w_parser.feed(bytes, frames); !st) {
      w_failed = true;
      asio::post(io, [self = shared_from_this(), msg = st.error().message] {
        self->deliver_done(Error(ErrorCode::tts_failed, "Speech synthesis failed",
                                 "TTS answer is not a usable WAV: " + msg));
      });
      return;
    }
    if (frames.empty()) return;
    const audio::WavFormat& f = *w_parser.format();
    std::vector<int16_t> mono;
    if (f.channels == 1)
      mono.swap(frames);
    else
      audio::downmix_to_mono(frames, f.channels, mono);
    if (f.rate_hz == out_rate) return w_post_audio(std::move(mono));
    if (!w_resampler) w_resampler.emplace(f.rate_hz, out_rate);
    std::vector<int16_t> out;
    out.reserve(mono.size() * out_rate / f.rate_hz + 16);
    w_resampler->process(mono, out);
    w_post_audio(std::move(out));
  }
};

}  // namespace

HttpTts::HttpTts(asio::any_io_executor io, WorkerPool& pool, HttpTtsOptions opts)
    : io_(std::move(io)), pool_(pool), opts_(std::move(opts)) {
  std::string base = opts_.url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  endpoint_ = base + "/v1/audio/speech";
}

std::string HttpTts::request_body(const TtsRequest& req) const {
  json::Writer w;
  w.begin_object();
  w.field("input", req.text);
  w.field("voice", req.voice.empty() ? opts_.default_voice : req.voice);
  w.field("response_format", "wav");
  w.key("speed").number(req.speed > 0 ? req.speed : 1.0);
  w.field("language", req.language.empty() ? opts_.default_language : req.language);
  w.end_object();
  return w.str();
}

std::shared_ptr<TtsJob> HttpTts::synthesize(TtsRequest req, TtsCallbacks cb) {
  auto job = std::make_shared<Job>(pool_);
  job->io = io_;
  job->io_cb = std::move(cb);
  job->out_rate = req.rate_hz ? req.rate_hz : 16000;
  job->timeout = opts_.timeout;
  const std::string voice = req.voice.empty() ? opts_.default_voice : req.voice;
  asio::post(io_, [job, start = TtsStart{voice, job->out_rate}] {
    if (!job->cancelled && !job->io_done && job->io_cb.on_start) job->io_cb.on_start(start);
  });

  net::StreamRequest r;
  r.method = "POST";
  r.url = endpoint_;
  r.body = request_body(req);
  r.content_type = "application/json";
  r.headers.push_back({"Accept", "audio/wav"});
  r.connect_timeout = std::min(opts_.connect_timeout, opts_.timeout);
  r.first_byte_timeout = opts_.timeout;
  r.total_timeout = opts_.timeout;
  r.verify_tls = opts_.verify_tls;
  r.max_body = opts_.max_body_bytes;
  net::StreamCallbacks scb;
  scb.on_head = [job](const net::StreamHead& h) { job->on_head(h); };
  scb.on_body = [job](std::string_view b) { job->on_body(b); };
  scb.on_end = [job](const net::StreamEnd& e) { job->on_end(e); };
  // Started from the io thread: on_start (posted above) runs before any HTTP callback.
  job->io_http = net::HttpStream::start(io_, std::move(r), std::move(scb));
  return job;
}

}  // namespace aa::speech
