// The far end's voice and ears on /_sim (no authentication, like all of /_sim):
//   POST   /_sim/channels/{id}/say {"text": "...", "voice"?} | {"wav": "<base64 WAV>"}
//   DELETE /_sim/channels/{id}/say            the caller stops talking (queue dropped)
//   GET    /_sim/channels/{id}/heard.wav      what the caller heard (16 kHz mono WAV)
//   GET    /_sim/channels/{id}/heard          the same as JSON: times of sound
//   DELETE /_sim/channels/{id}/heard          forget it
//   POST   /_sim/channels/{id}/echo {"enabled": true}   the far end repeats what it hears
//   GET    /_sim/clock                        the media clock (simulator ms)
//   GET    /_sim/media                        media plane statistics (busyUs: CPU time of ticks)
//   PUT    /_sim/media {"heardMaxSeconds": 300}
// Times are simulator-clock ms of the media clock: tick k of the clock is at
// nowMs − (ticks since k) × 20.
#include "common/log.hpp"
#include "sim/media_plane.hpp"
#include "sim/reply.hpp"
#include "speech/tts.hpp"

namespace aa::sim {
namespace {

std::vector<std::string_view> path_segments(std::string_view p) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (start < p.size()) {
    size_t end = p.find('/', start);
    if (end == std::string_view::npos) end = p.size();
    if (end > start) out.push_back(p.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

constexpr double kSoundRms = 300;    // a 20 ms block louder than this is "sound" (≈ -41 dBFS)
constexpr int64_t kJoinGapMs = 100;  // stretches closer than this are one

int64_t samples_ms(size_t n) {
  return static_cast<int64_t>(n) * 1000 / kMixRate;
}

}  // namespace

std::optional<Reply> Engine::media_control(const net::Request& req, const json::Value& body) {
  const auto seg = path_segments(req.path);
  auto& p = *media_;
  const std::string& m = req.method;
  if (seg.size() == 2 && seg[1] == "clock" && m == "GET") {
    json::Writer w;
    w.begin_object()
        .field_int("nowMs", p.tick_ms)
        .field_int("tick", p.tick)
        .key("timeScale")
        .number(opts_.time_scale)
        .field_bool("running", p.running)
        .end_object();
    return Reply::json(200, w.str());
  }
  if (seg.size() == 2 && seg[1] == "media") {
    if (m == "PUT") {
      const json::Value* v = json::find(body, "heardMaxSeconds");
      if (!v || !v->IsNumber() || v->GetDouble() < 0 || v->GetDouble() > 3600)
        return error_reply(400, "heardMaxSeconds must be a number 0-3600");
      opts_.heard_max_seconds = static_cast<int64_t>(v->GetDouble());
      p.heard_max_ticks = opts_.heard_max_seconds * 1000 / kTickMs;
      for (auto& [_, ch] : channels_)
        if (ch->media && ch->media->heard) ch->media->heard->set_max_ticks(p.heard_max_ticks);
      return no_content();
    }
    if (m != "GET") return std::nullopt;
    json::Writer w;
    w.begin_object()
        .field_bool("running", p.running)
        .field_int("ticks", p.tick)
        .field_int("nowMs", p.tick_ms)
        .key("timeScale")
        .number(opts_.time_scale)
        .field_int("maxLateUs", p.max_late_us)
        .field_int("lateWakes", static_cast<int64_t>(p.late_wakes))
        .field_int("skippedTicks", static_cast<int64_t>(p.skipped_ticks))
        .field_int("busyUs", p.busy_us)
        .field_int("framesToApps", static_cast<int64_t>(p.frames_to_apps))
        .field_int("messagesFromApps", static_cast<int64_t>(p.frames_from_apps))
        .field_int("heardMaxSeconds", opts_.heard_max_seconds);
    w.key("channels").begin_array();
    for (const auto& [id, ch] : channels_) {
      if (!ch->media) continue;
      const ChannelMedia& cm = *ch->media;
      w.begin_object().field("id", id).field_bool("phone", cm.phone);
      if (cm.ws) {
        const auto& ws = *cm.ws;
        w.field("connectionId", ws.connection_id)
            .field_bool("connected", ws.socket != nullptr)
            .field_int("queueLength", ws.queue_length)
            .field_int("framesPlayed", static_cast<int64_t>(ws.frames_in))
            .field_int("framesSent", static_cast<int64_t>(ws.frames_out))
            .field_int("droppedMessages", static_cast<int64_t>(ws.dropped_messages));
      }
      w.field_int("sayQueuedMs", samples_ms(cm.queued_say_samples()));
      if (cm.heard) w.field_int("heardMs", cm.heard->duration_ms());
      w.end_object();
    }
    w.end_array().end_object();
    return Reply::json(200, w.str());
  }
  if (seg.size() != 4 || seg[1] != "channels") return std::nullopt;
  const std::string id(seg[2]);
  const std::string_view what = seg[3];
  SimChannel* ch = find_channel(id);

  if (what == "say" && m == "DELETE") {
    if (!ch) return error_reply(404, "Channel not found");
    if (ch->media) {
      ch->media->say.clear();
      ch->media->say_pos = 0;
    }
    return no_content();
  }
  if (what == "echo" && m == "POST") {
    if (!ch) return error_reply(404, "Channel not found");
    if (ch->media && ch->media->ws)
      return error_reply(400, "A WebSocket channel's audio comes from its app");
    if (!ch->media) ch->media = std::make_shared<ChannelMedia>();
    const json::Value* v = json::find(body, "enabled");
    ch->media->echo = !v || (v->IsBool() && v->GetBool());
    if (!ch->media->echo) ch->media->echo_buf.clear();
    return no_content();
  }
  if (what == "heard.wav" || what == "heard") {
    std::shared_ptr<HeardLog> log;
    if (ch && ch->media) log = ch->media->heard;
    if (!log)
      for (auto it = p.archive.rbegin(); it != p.archive.rend() && !log; ++it)
        if (it->channel_id == id) log = it->heard;
    if (!log) {
      if (!ch) return error_reply(404, "Channel not found");
      if (ch->info.name.rfind("PJSIP/", 0) != 0)
        return error_reply(404, "Only SIP callers' ears are logged");
      log = std::make_shared<HeardLog>(p.heard_max_ticks);  // not up yet: nothing heard
    }
    if (m == "DELETE") {
      log->clear();
      return no_content();
    }
    if (m != "GET") return std::nullopt;
    const int64_t start = log->empty() ? p.tick_ms : log->start_ms();
    if (what == "heard.wav") {
      Reply r;
      r.status = 200;
      r.content_type = "audio/wav";
      r.body = log->wav();
      r.headers.push_back({"X-Sim-Heard-Start-Ms", std::to_string(start)});
      r.headers.push_back({"X-Sim-Heard-Duration-Ms", std::to_string(log->duration_ms())});
      return r;
    }
    json::Writer w;
    w.begin_object()
        .field("channelId", id)
        .field_int("sampleRate", kMixRate)
        .field_int("startMs", start)
        .field_int("durationMs", log->duration_ms())
        .field_int("maxSeconds", opts_.heard_max_seconds)
        .field_int("nowMs", p.tick_ms);
    const auto stretches = log->sound_stretches(kSoundRms, kJoinGapMs);
    w.key("sound").begin_array();
    for (const auto& [a, b] : stretches)
      w.begin_object().field_int("startMs", a).field_int("endMs", b).end_object();
    w.end_array();
    if (!stretches.empty()) w.field_int("lastSoundEndMs", stretches.back().second);
    w.end_object();
    return Reply::json(200, w.str());
  }
  return std::nullopt;
}

awaitable<Reply> Engine::far_say(std::string id, std::string body_text) {
  std::weak_ptr<bool> alive = alive_;
  json::Document body;
  body.SetObject();
  if (!body_text.empty()) {
    auto doc = json::parse(body_text);
    if (!doc || !doc->IsObject()) co_return error_reply(400, "Body must be a JSON object");
    body = std::move(*doc);
  }
  SimChannel* ch = find_channel(id);
  if (!ch) co_return error_reply(404, "Channel not found");
  if (ch->media && ch->media->ws)
    co_return error_reply(400, "A WebSocket channel's audio comes from its app");
  if (ch->info.state != "Up" || ch->hanging_up)
    co_return error_reply(409, "Channel is not up: the far end speaks once the call is answered");
  const json::Value* wav = json::find(body, "wav");
  const json::Value* text = json::find(body, "text");
  if ((wav != nullptr) == (text != nullptr))
    co_return error_reply(400, "Give either \"text\" or \"wav\" (base64 WAV)");
  if (!ch->media) ch->media = std::make_shared<ChannelMedia>();
  auto& p = *media_;
  const size_t ahead = ch->media->queued_say_samples();
  if (ahead >= kMaxSaySamples) co_return error_reply(409, "5 minutes of speech are already queued");
  // Append speech to the channel found again by id (it may have hung up).
  auto append = [this, id](const std::vector<int16_t>& pcm) -> size_t {
    SimChannel* c = find_channel(id);
    if (!c || !c->media) return 0;
    auto& say = c->media->say;
    const size_t room = kMaxSaySamples - std::min(kMaxSaySamples, c->media->queued_say_samples());
    const size_t n = std::min(room, pcm.size());
    say.insert(say.end(), pcm.begin(), pcm.begin() + static_cast<std::ptrdiff_t>(n));
    media_clock_ensure();
    return n;
  };
  auto answer = [&](size_t samples, size_t wanted, std::string_view voice) {
    json::Writer w;
    w.begin_object()
        .field("channelId", id)
        .field_int("durationMs", samples_ms(samples))
        .field_int("queuedAheadMs", samples_ms(ahead))
        .field_int("startMs", p.tick_ms + samples_ms(ahead));
    if (!voice.empty()) w.field("voice", voice);
    if (samples < wanted) w.field_bool("truncated", true);
    w.end_object();
    return Reply::json(200, w.str());
  };

  if (wav) {
    if (!wav->IsString()) co_return error_reply(400, "wav must be a base64 string");
    auto bytes = base64_decode(json::as_view(*wav));
    if (!bytes) co_return error_reply(400, "wav is not valid base64");
    auto pcm = decode_wav_to_mix(*bytes);
    if (!pcm) co_return error_reply(400, "wav: " + pcm.error().message);
    const size_t n = append(*pcm);
    co_return answer(n, pcm->size(), {});
  }

  if (!text->IsString() || text->GetStringLength() == 0 || text->GetStringLength() > 5000)
    co_return error_reply(400, "text must be a string of 1-5000 characters");
  if (!opts_.tts)
    co_return error_reply(501, "The simulator has no TTS engine; send {\"wav\": <base64 WAV>}");
  struct Job {
    explicit Job(asio::any_io_executor ex) : timer(std::move(ex)) {}
    asio::steady_timer timer;
    bool done = false;
    std::string error;
    std::string voice;
    size_t samples = 0, wanted = 0;
  };
  auto job = std::make_shared<Job>(ex_);
  speech::TtsRequest tr;
  tr.text = std::string(json::as_view(*text));
  tr.voice = std::string(json::get_string(body, "voice"));
  tr.rate_hz = kMixRate;
  speech::TtsCallbacks cb;
  std::weak_ptr<Job> weak = job;
  cb.on_start = [weak](const speech::TtsStart& s) {
    if (auto j = weak.lock()) j->voice = s.voice;
  };
  cb.on_audio = [weak, alive, append](std::vector<int16_t> pcm) {
    auto j = weak.lock();
    if (!j || alive.expired()) return;
    j->wanted += pcm.size();
    j->samples += append(pcm);
  };
  cb.on_done = [weak](Status st) {
    auto j = weak.lock();
    if (!j) return;
    j->done = true;
    if (!st) j->error = st.error().message;
    j->timer.cancel();
  };
  auto tts_job = opts_.tts->synthesize(std::move(tr), std::move(cb));
  job->timer.expires_after(std::chrono::seconds(60));
  boost::system::error_code ec;
  co_await job->timer.async_wait(asio::redirect_error(use_awaitable, ec));
  if (alive.expired()) co_return error_reply(503, "Simulator stopped");
  if (!job->done) {
    if (tts_job) tts_job->cancel();
    co_return error_reply(504, "Speech synthesis took longer than 60 s");
  }
  if (!job->error.empty()) co_return error_reply(502, "Speech synthesis failed: " + job->error);
  if (!find_channel(id)) co_return error_reply(404, "Channel hung up while speaking");
  co_return answer(job->samples, job->wanted, job->voice);
}

}  // namespace aa::sim
