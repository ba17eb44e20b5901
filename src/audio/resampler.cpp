#include "audio/resampler.hpp"

#include <speex/speex_resampler.h>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace aa::audio {

struct Resampler::State {
  SpeexResamplerState* s = nullptr;
  ~State() {
    if (s) speex_resampler_destroy(s);
  }
};

namespace {
constexpr uint32_t kMaxRateHz = 768000;
// Input handed to speexdsp per call: bounds the scratch output buffer.
constexpr size_t kBlock = 4096;
}  // namespace

Resampler::Resampler(uint32_t in_hz, uint32_t out_hz, int quality)
    : in_hz_(in_hz), out_hz_(out_hz), quality_(std::clamp(quality, 0, 10)) {
  if (in_hz == 0 || out_hz == 0 || in_hz > kMaxRateHz || out_hz > kMaxRateHz)
    throw std::invalid_argument("Resampler: rates must be 1.." + std::to_string(kMaxRateHz) +
                                " Hz, got " + std::to_string(in_hz) + " -> " +
                                std::to_string(out_hz));
  reset();
}

Resampler::~Resampler() = default;
Resampler::Resampler(Resampler&&) noexcept = default;
Resampler& Resampler::operator=(Resampler&&) noexcept = default;

void Resampler::reset() {
  in_total_ = 0;
  out_total_ = 0;
  if (in_hz_ == out_hz_) {
    st_.reset();
    return;
  }
  if (!st_) {
    auto st = std::make_unique<State>();
    int err = 0;
    st->s = speex_resampler_init(1, in_hz_, out_hz_, quality_, &err);
    if (!st->s || err != RESAMPLER_ERR_SUCCESS)
      throw std::runtime_error(std::string("speex_resampler_init: ") +
                               speex_resampler_strerror(err));
    st_ = std::move(st);
  } else {
    speex_resampler_reset_mem(st_->s);
  }
  // Drop the filter's leading delay so output sample i lines up with input
  // time i × in/out; flush() pushes the same delay's worth of tail out.
  speex_resampler_skip_zeros(st_->s);
}

void Resampler::process(const int16_t* in, size_t n, std::vector<int16_t>& out) {
  in_total_ += n;
  if (!st_) {
    out.insert(out.end(), in, in + n);
    out_total_ += n;
    return;
  }
  while (n > 0) {
    const size_t block = std::min(n, kBlock);
    const size_t room = block * out_hz_ / in_hz_ + 64;
    const size_t at = out.size();
    out.resize(at + room);  // written in place, then trimmed
    spx_uint32_t in_len = static_cast<spx_uint32_t>(block);
    spx_uint32_t out_len = static_cast<spx_uint32_t>(room);
    speex_resampler_process_int(st_->s, 0, in, &in_len, out.data() + at, &out_len);
    out.resize(at + out_len);
    out_total_ += out_len;
    in += in_len;
    n -= in_len;
    if (in_len == 0 && out_len == 0) break;  // cannot happen with room to write; never spin
  }
}

void Resampler::flush(std::vector<int16_t>& out) {
  const uint64_t want = (in_total_ * out_hz_ + in_hz_ / 2) / in_hz_;
  if (st_ && out_total_ < want) {
    // Zeros push the filter's remaining samples out; keep only what is owed.
    const int latency = speex_resampler_get_input_latency(st_->s);
    const std::vector<int16_t> zeros(static_cast<size_t>(std::max(latency, 1)) * 2 + 64, 0);
    std::vector<int16_t> tail;
    const uint64_t saved_in = in_total_;
    for (int round = 0; round < 8 && out_total_ + tail.size() < want; ++round) {
      const uint64_t before = out_total_;
      process(zeros.data(), zeros.size(), tail);
      out_total_ = before;  // counted below, once trimmed
    }
    in_total_ = saved_in;
    const size_t keep = static_cast<size_t>(std::min<uint64_t>(want - out_total_, tail.size()));
    out.insert(out.end(), tail.begin(), tail.begin() + keep);
    out_total_ += keep;
  }
  // A rounding excess cannot be taken back; it is at most one sample.
  reset();
}

std::vector<int16_t> resample(std::span<const int16_t> in, uint32_t in_hz, uint32_t out_hz,
                              int quality) {
  Resampler r(in_hz, out_hz, quality);
  std::vector<int16_t> out;
  out.reserve(in.size() * out_hz / in_hz + 16);
  r.process(in, out);
  r.flush(out);
  return out;
}

}  // namespace aa::audio
