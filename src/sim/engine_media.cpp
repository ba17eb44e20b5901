// Media: per-channel operation queue (playback, recording, outgoing DTMF run
// one at a time), playbacks with real durations (sound:http fetched for real),
// live recordings that write real files, and stored recordings on disk.
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "common/log.hpp"
#include "common/util.hpp"
#include "net/http_client.hpp"
#include "sim/engine.hpp"
#include "sim/reply.hpp"
#include "sim/wav.hpp"

namespace fs = std::filesystem;

namespace aa::sim {
namespace {

const std::vector<std::string>& known_formats() {
  static const std::vector<std::string> f = {"wav",  "wav16", "gsm",  "ulaw", "alaw", "sln",
                                             "slin", "sln16", "g722", "g729", "ogg",  "h264"};
  return f;
}

bool safe_name(const std::string& n) {
  return !n.empty() && n.find("..") == std::string::npos && n.find('/') == std::string::npos &&
         n.find('\\') == std::string::npos;
}

std::string mime_for(const std::string& format) {
  if (format == "wav" || format == "wav16") return "audio/wav";
  if (format == "gsm") return "audio/x-gsm";
  if (format == "ulaw") return "audio/basic";
  if (format == "ogg") return "audio/ogg";
  return "application/octet-stream";
}

}  // namespace

// ---- shared helpers ----

std::string Engine::recording_dir() const {
  return opts_.data_dir + "/recording";
}

std::optional<std::string> Engine::stored_path(const std::string& name) const {
  if (!safe_name(name)) return std::nullopt;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(recording_dir(), ec)) {
    if (!entry.is_regular_file()) continue;
    const auto p = entry.path();
    if (p.stem().string() == name && p.extension() != ".part") return p.string();
  }
  return std::nullopt;
}

Reply Engine::check_target(Target t, const std::string& id, std::string& target_uri) {
  if (t == Target::channel) {
    SimChannel* ch = find_channel(id);
    if (!ch) return error_reply(404, "Channel not found");
    if (ch->stasis_app.empty()) return error_reply(409, "Channel not in Stasis application");
    target_uri = "channel:" + id;
  } else {
    if (!bridges_.count(id)) return error_reply(404, "Bridge not found");
    target_uri = "bridge:" + id;
  }
  return Reply::empty(0);
}

void Engine::emit_playback(std::string_view type, const SimPlayback& pb) {
  std::vector<std::string> chans;
  std::vector<std::string> brs;
  if (!pb.channel_id.empty()) chans.push_back(pb.channel_id);
  if (!pb.bridge_id.empty()) {
    brs.push_back(pb.bridge_id);
    if (auto it = bridges_.find(pb.bridge_id); it != bridges_.end())
      chans = it->second->info.channels;
  }
  const ari::Playback model = pb.info;
  emit(type, chans, brs, [&](json::Writer& w) {
    w.key("playback");
    ari::write_json(w, model);
  });
}

void Engine::emit_recording(std::string_view type, const SimRecording& rec) {
  std::vector<std::string> chans;
  std::vector<std::string> brs;
  if (!rec.channel_id.empty()) chans.push_back(rec.channel_id);
  if (!rec.bridge_id.empty()) {
    brs.push_back(rec.bridge_id);
    if (auto it = bridges_.find(rec.bridge_id); it != bridges_.end())
      chans = it->second->info.channels;
  }
  const ari::LiveRecording model = rec.info;
  emit(type, chans, brs, [&](json::Writer& w) {
    w.key("recording");
    ari::write_json(w, model);
  });
}

// ---- the per-channel operation queue ----

void Engine::enqueue_op(SimChannel& ch, std::shared_ptr<MediaOp> op) {
  ch.ops.push_back(std::move(op));
  if (ch.ops.size() == 1) start_next_op(ch.info.id);
}

void Engine::start_next_op(const std::string& channel_id) {
  SimChannel* ch = find_channel(channel_id);
  if (!ch || ch->hanging_up || ch->ops.empty()) return;
  auto op = ch->ops.front();
  if (op->started) return;
  op->started = true;
  switch (op->kind) {
    case MediaOp::Kind::playback:
      start_playback(op->playback);
      break;
    case MediaOp::Kind::recording:
      start_recording(op->recording);
      break;
    case MediaOp::Kind::dtmf: {
      // Outgoing DTMF reaches the far end; for a Local pair that is the other
      // half, which reports ChannelDtmfReceived (originate-local trace).
      const auto& d = op->dtmf;
      const std::string other = ch->other_half;
      int64_t at = d.before_ms;
      for (char c : d.digits) {
        const bool ok = std::isdigit(static_cast<unsigned char>(c)) || c == '*' || c == '#' ||
                        (c >= 'A' && c <= 'D');
        if (!ok) continue;
        at += d.duration_ms + d.between_ms;
        if (!other.empty())
          after(at, [this, other, c, dur = d.duration_ms] { deliver_dtmf(other, c, dur); });
      }
      const void* key = op.get();
      after(at + d.after_ms, [this, channel_id, key] { op_finished(channel_id, key); });
      break;
    }
  }
}

void Engine::op_finished(const std::string& channel_id, const void* op_key) {
  SimChannel* ch = find_channel(channel_id);
  if (!ch || ch->ops.empty() || ch->ops.front().get() != op_key) {
    // A queued (never started) op was removed: drop it wherever it is.
    if (ch)
      ch->ops.erase(std::remove_if(ch->ops.begin(), ch->ops.end(),
                                   [&](const auto& o) { return o.get() == op_key; }),
                    ch->ops.end());
    return;
  }
  ch->ops.pop_front();
  start_next_op(channel_id);
}

void Engine::end_media_for_hangup(SimChannel& ch) {
  // Only the running operation reports an end (PlaybackFinished failed,
  // RecordingFinished done, hangup-during-media trace); queued ones vanish.
  auto ops = std::move(ch.ops);
  ch.ops.clear();
  for (auto& op : ops) {
    if (!op->started) {
      if (op->playback) {
        ++op->playback->step;
        auto it = playbacks_.find(op->playback->info.id);
        if (it != playbacks_.end()) {
          auto& dq = it->second;
          dq.erase(std::remove(dq.begin(), dq.end(), op->playback), dq.end());
          if (dq.empty()) playbacks_.erase(it);
        }
      }
      if (op->recording) {
        ++op->recording->step;
        auto it = live_recordings_.find(op->recording->info.name);
        if (it != live_recordings_.end() && it->second == op->recording) live_recordings_.erase(it);
      }
      continue;
    }
    if (op->playback) finish_playback(op->playback, "failed");
    if (op->recording) finish_recording(op->recording, "done");
  }
}

// ---- playbacks ----

Reply Engine::play(Target t, const std::string& id, PlayRequest req) {
  std::string target_uri;
  if (Reply r = check_target(t, id, target_uri); r.status != 0) return r;
  if (req.media.empty()) return error_reply(500, "Failed to queue media for playback");
  auto pb = std::make_shared<SimPlayback>();
  pb->info.id = req.playback_id.empty() ? uuid_v4() : req.playback_id;
  pb->info.media_uri = req.media[0];
  if (req.media.size() > 1) pb->info.next_media_uri = req.media[1];
  pb->info.target_uri = target_uri;
  pb->info.language = req.lang.empty() ? "en" : req.lang;
  pb->info.state = "queued";
  pb->media = std::move(req.media);
  playbacks_[pb->info.id].push_back(pb);
  Reply reply = model_reply(201, pb->info);
  if (t == Target::channel) {
    pb->channel_id = id;
    auto op = std::make_shared<MediaOp>();
    op->kind = MediaOp::Kind::playback;
    op->playback = pb;
    enqueue_op(*find_channel(id), op);
  } else {
    pb->bridge_id = id;
    auto& b = *bridges_[id];
    b.playbacks.push_back(pb);
    if (b.playbacks.size() == 1) start_playback(pb);
  }
  return reply;
}

void Engine::start_playback(const std::shared_ptr<SimPlayback>& pb) {
  pb->index = 0;
  play_current_media(pb);
}

namespace {

/// Fetch `url` like Asterisk's media cache (res_http_media_cache) and report
/// the WAV duration, or nullopt when it cannot be played.
awaitable<void> fetch_remote_media(
    std::string url, std::weak_ptr<bool> alive,
    std::function<void(std::optional<int64_t>, const std::string&)> done) {
  net::ClientOptions opts;
  opts.connect_timeout = std::chrono::milliseconds(5000);
  opts.request_timeout = std::chrono::milliseconds(30000);
  opts.max_response_body = 64 * 1024 * 1024;
  opts.user_agent = "asterisk-libcurl-agent/1.0";
  // Named locals: g++ 12 mishandles temporaries inside co_await expressions.
  const std::vector<net::Header> headers;
  std::string body;
  const std::string content_type;
  net::ClientResponse r =
      co_await net::http_fetch("GET", url, std::move(body), content_type, headers, opts);
  if (alive.expired()) co_return;
  std::optional<int64_t> duration;
  // Asterisk picks the file reader by Content-Type, else by the URL's extension,
  // and the reader refuses a file it cannot play: the playback fails at once.
  if (r.ok() && r.status == 200)
    duration = remote_media_duration_ms(remote_media_extension(url, r.content_type), r.body);
  done(duration, r.body);  // the body: its audio is heard (engine_media_clock.cpp)
}

}  // namespace

void Engine::play_current_media(const std::shared_ptr<SimPlayback>& pb) {
  const std::string uri = pb->media[pb->index];
  pb->info.media_uri = uri;
  pb->info.next_media_uri = pb->index + 1 < pb->media.size() ? pb->media[pb->index + 1] : "";
  pb->info.state = "playing";
  pb->paused = false;
  const uint64_t step = ++pb->step;
  pb->started_sim_ms = sim_now_ms();
  pb->media_ms = -1;
  emit_playback("PlaybackStarted", *pb);

  auto schedule = [this, pb, step](int64_t ms) {
    pb->media_ms = ms;
    after(static_cast<double>(ms), [this, pb, step] { media_done(pb, step, true); });
  };
  const auto colon = uri.find(':');
  const std::string scheme = colon == std::string::npos ? "" : uri.substr(0, colon);
  const std::string rest = colon == std::string::npos ? uri : uri.substr(colon + 1);
  if (scheme == "sound" && (rest.rfind("http://", 0) == 0 || rest.rfind("https://", 0) == 0)) {
    // Asterisk 22 sizes the cache path buffer as strlen(uri)+strlen(lang)+4;
    // the cache path is 50 chars, so a short URI fails (http-media trace).
    const bool short_uri_bug = rest.size() + pb->info.language.size() + 4 <= 50;
    std::weak_ptr<bool> alive = alive_;
    auto done = [this, pb, step, short_uri_bug, schedule, rest, gen = generation_](
                    std::optional<int64_t> d, const std::string& body) {
      if (gen != generation_ || pb->step != step) return;
      if (!d || short_uri_bug) {
        media_done(pb, step, false);
        return;
      }
      media_remote_fetched(rest, body);
      schedule(*d);
    };
    spawn(ex_, fetch_remote_media(rest, alive, std::move(done)), "sim media fetch");
    return;
  }
  if (scheme == "sound") {
    if (auto d = sound_duration_ms(rest)) {
      schedule(*d);
    } else {
      media_done(pb, step, false);
    }
    return;
  }
  if (scheme == "recording") {
    auto path = stored_path(rest);
    if (!path) {
      media_done(pb, step, false);
      return;
    }
    std::ifstream f(*path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    const std::string ext = fs::path(*path).extension().string().substr(1);
    auto d = ext == "wav" ? wav_duration_ms(bytes) : raw_duration_ms(ext, bytes.size());
    schedule(d.value_or(0));
    return;
  }
  if (scheme == "digits" || scheme == "characters") {
    schedule(static_cast<int64_t>(rest.size()) * 500);
    return;
  }
  if (scheme == "number") {
    schedule(static_cast<int64_t>(rest.size()) * 700);
    return;
  }
  // tone: plays until stopped; an unknown scheme starts and never ends
  // (errors trace: "foo:bar" → PlaybackStarted and nothing more).
}

void Engine::media_done(const std::shared_ptr<SimPlayback>& pb, uint64_t step, bool ok) {
  if (pb->step != step || pb->info.state != "playing") return;
  if (!ok) {
    finish_playback(pb, "failed");
    return;
  }
  if (pb->index + 1 < pb->media.size()) {
    pb->info.state = "continuing";
    emit_playback("PlaybackContinuing", *pb);
    ++pb->index;
    play_current_media(pb);
    return;
  }
  finish_playback(pb, "done");
}

void Engine::finish_playback(const std::shared_ptr<SimPlayback>& pb, const std::string& state) {
  ++pb->step;
  pb->info.state = state;
  emit_playback("PlaybackFinished", *pb);
  if (auto it = playbacks_.find(pb->info.id); it != playbacks_.end()) {
    auto& dq = it->second;
    dq.erase(std::remove(dq.begin(), dq.end(), pb), dq.end());
    if (dq.empty()) playbacks_.erase(it);
  }
  if (!pb->channel_id.empty()) {
    const std::string cid = pb->channel_id;
    const void* key = nullptr;
    if (SimChannel* ch = find_channel(cid))
      for (const auto& op : ch->ops)
        if (op->playback == pb) key = op.get();
    if (key) op_finished(cid, key);
  } else if (auto bit = bridges_.find(pb->bridge_id); bit != bridges_.end()) {
    auto& q = bit->second->playbacks;
    const bool was_head = !q.empty() && q.front() == pb;
    q.erase(std::remove(q.begin(), q.end(), pb), q.end());
    if (was_head && !q.empty()) start_playback(q.front());
  }
}

Reply Engine::get_playback(const std::string& id) const {
  auto it = playbacks_.find(id);
  if (it == playbacks_.end() || it->second.empty()) return error_reply(404, "Playback not found");
  return model_reply(200, it->second.front()->info);
}

Reply Engine::stop_playback(const std::string& id) {
  auto it = playbacks_.find(id);
  if (it == playbacks_.end() || it->second.empty()) return error_reply(404, "Playback not found");
  auto pb = it->second.front();
  if (pb->info.state == "queued") {
    // Never started: it just leaves the queue.
    ++pb->step;
    it->second.pop_front();
    if (it->second.empty()) playbacks_.erase(it);
    if (SimChannel* ch = find_channel(pb->channel_id)) {
      ch->ops.erase(std::remove_if(ch->ops.begin(), ch->ops.end(),
                                   [&](const auto& o) { return o->playback == pb; }),
                    ch->ops.end());
    } else if (auto bit = bridges_.find(pb->bridge_id); bit != bridges_.end()) {
      auto& q = bit->second->playbacks;
      q.erase(std::remove(q.begin(), q.end(), pb), q.end());
    }
    return no_content();
  }
  finish_playback(pb, "done");
  return no_content();
}

Reply Engine::control_playback(const std::string& id, const std::string& op) {
  auto it = playbacks_.find(id);
  if (it == playbacks_.end() || it->second.empty()) return error_reply(404, "Playback not found");
  if (op.empty()) return error_reply(400, "Missing parameter operation");
  if (op != "pause" && op != "unpause" && op != "restart" && op != "reverse" && op != "forward")
    return error_reply(400, "Invalid operation " + op);
  auto pb = it->second.front();
  if (pb->info.state != "playing" && pb->info.state != "paused")
    return error_reply(409, "Playback not in a state to be controlled");
  const int64_t now = sim_now_ms();
  if (op == "pause" && !pb->paused) {
    pb->paused = true;
    ++pb->step;
    pb->remaining_ms =
        pb->media_ms < 0 ? -1 : std::max<int64_t>(0, pb->media_ms - (now - pb->started_sim_ms));
  } else if ((op == "unpause" || op == "restart") && (pb->paused || op == "restart")) {
    const int64_t left = op == "restart" ? pb->media_ms : pb->remaining_ms;
    pb->paused = false;
    const uint64_t step = ++pb->step;
    pb->started_sim_ms = now - (pb->media_ms >= 0 && left >= 0 ? pb->media_ms - left : 0);
    if (left >= 0)
      after(static_cast<double>(left), [this, pb, step] { media_done(pb, step, true); });
  }
  return no_content();
}

// ---- live recordings ----

Reply Engine::record(Target t, const std::string& id, RecordRequest req) {
  std::string target_uri;
  if (Reply r = check_target(t, id, target_uri); r.status != 0) return r;
  if (req.name.empty()) return error_reply(500, "Error parsing request");
  if (req.format.empty()) return error_reply(400, "Missing parameter format");
  if (std::find(known_formats().begin(), known_formats().end(), req.format) ==
      known_formats().end())
    return error_reply(422, "specified format is unknown on this system");
  if (req.if_exists != "fail" && req.if_exists != "overwrite" && req.if_exists != "append")
    return error_reply(400, "ifExists invalid");
  if (req.terminate_on != "none" && req.terminate_on != "any" && req.terminate_on != "*" &&
      req.terminate_on != "#")
    return error_reply(400, "terminateOn invalid");
  if (!safe_name(req.name)) return error_reply(400, "Invalid recording name");
  const bool live_exists = live_recordings_.count(req.name) > 0;
  if ((live_exists || stored_path(req.name)) && req.if_exists == "fail")
    return error_reply(409,
                       "Recording '" + req.name + "' already exists and can not be overwritten");
  if (live_exists) return error_reply(409, "Recording '" + req.name + "' already in progress");

  auto rec = std::make_shared<SimRecording>();
  rec->info.name = req.name;
  rec->info.format = req.format;
  rec->info.state = "queued";
  rec->info.target_uri = target_uri;
  rec->req = req;
  live_recordings_[req.name] = rec;
  Reply reply = model_reply(201, rec->info);
  if (t == Target::channel) {
    rec->channel_id = id;
    SimChannel& ch = *find_channel(id);
    if (!ch.bridge_id.empty()) {
      // Asterisk cannot record a bridged channel: 201, then RecordingFailed.
      after(0, [this, rec] {
        if (live_recordings_[rec->info.name] != rec) return;
        rec->info.state = "failed";
        rec->info.cause = "Cannot record channel while in bridge";
        emit_recording("RecordingFailed", *rec);
        live_recordings_.erase(rec->info.name);
      });
      return reply;
    }
    auto op = std::make_shared<MediaOp>();
    op->kind = MediaOp::Kind::recording;
    op->recording = rec;
    enqueue_op(ch, op);
  } else {
    rec->bridge_id = id;
    bridges_[id]->recordings.push_back(rec);
    start_recording(rec);
  }
  return reply;
}

void Engine::start_recording(const std::shared_ptr<SimRecording>& rec) {
  rec->started = true;
  rec->info.state = "recording";
  rec->started_sim_ms = sim_now_ms();
  const uint64_t step = ++rec->step;
  emit_recording("RecordingStarted", *rec);
  auto limit = [&](int64_t seconds) {
    if (seconds <= 0) return;
    after(static_cast<double>(seconds) * 1000.0, [this, rec, step] {
      if (rec->step == step && rec->info.state == "recording") finish_recording(rec, "done");
    });
  };
  limit(rec->req.max_duration_s);
  // The simulated far end is silent, so maxSilenceSeconds ends it right on time.
  limit(rec->req.max_silence_s);
}

void Engine::finish_recording(const std::shared_ptr<SimRecording>& rec, const std::string& state) {
  ++rec->step;
  int64_t ms = rec->accumulated_ms;
  if (rec->started && !rec->paused) ms += sim_now_ms() - rec->started_sim_ms;
  if (!rec->started) ms = 0;
  rec->info.state = state;
  const std::string path = recording_dir() + "/" + rec->info.name + "." + rec->info.format;
  if (state == "done") {
    // Tolerate timer jitter: a 2 s limit must report 2, not 1.
    rec->info.duration = (ms + 50) / 1000;
    std::error_code ec;
    if (rec->req.if_exists != "append") {
      if (auto old = stored_path(rec->info.name)) fs::remove(*old, ec);
    }
    const std::string bytes = rec->info.format == "wav" ? make_wav(ms, rec->req.beep ? 250 : 0)
                                                        : make_raw_audio(rec->info.format, ms);
    if (!write_file(path, bytes)) log::warn("ari-sim: cannot write recording {}", path);
    emit_recording("RecordingFinished", *rec);
  } else if (state == "canceled") {
    emit_recording("RecordingFinished", *rec);
  } else {
    emit_recording("RecordingFailed", *rec);
  }
  if (auto it = live_recordings_.find(rec->info.name);
      it != live_recordings_.end() && it->second == rec)
    live_recordings_.erase(it);
  if (!rec->channel_id.empty()) {
    const void* key = nullptr;
    if (SimChannel* ch = find_channel(rec->channel_id))
      for (const auto& op : ch->ops)
        if (op->recording == rec) key = op.get();
    if (key) op_finished(rec->channel_id, key);
  } else if (auto bit = bridges_.find(rec->bridge_id); bit != bridges_.end()) {
    auto& v = bit->second->recordings;
    v.erase(std::remove(v.begin(), v.end(), rec), v.end());
  }
}

void Engine::recording_dtmf(SimChannel& ch, char digit) {
  if (ch.ops.empty() || !ch.ops.front()->started || !ch.ops.front()->recording) return;
  auto rec = ch.ops.front()->recording;
  const std::string& t = rec->req.terminate_on;
  if (t == "any" || (t.size() == 1 && t[0] == digit)) finish_recording(rec, "done");
}

Reply Engine::get_live_recording(const std::string& name) const {
  auto it = live_recordings_.find(name);
  if (it == live_recordings_.end()) return error_reply(404, "Recording not found");
  return model_reply(200, it->second->info);
}

Reply Engine::live_recording_op(const std::string& name, const std::string& op) {
  auto it = live_recordings_.find(name);
  if (it == live_recordings_.end()) return error_reply(404, "Recording not found");
  auto rec = it->second;
  const int64_t now = sim_now_ms();
  if (op == "stop") {
    finish_recording(rec, "done");
  } else if (op == "cancel") {
    if (!rec->started) {
      ++rec->step;
      rec->info.state = "canceled";
      live_recordings_.erase(it);
      if (SimChannel* ch = find_channel(rec->channel_id))
        ch->ops.erase(std::remove_if(ch->ops.begin(), ch->ops.end(),
                                     [&](const auto& o) { return o->recording == rec; }),
                      ch->ops.end());
    } else {
      finish_recording(rec, "canceled");
      std::error_code ec;
      fs::remove(recording_dir() + "/" + rec->info.name + "." + rec->info.format, ec);
    }
  } else if (op == "pause") {
    if (rec->info.state != "recording") return error_reply(409, "Recording not in session");
    rec->accumulated_ms += now - rec->started_sim_ms;
    rec->paused = true;
    rec->info.state = "paused";
  } else if (op == "unpause") {
    if (rec->info.state != "paused") return error_reply(409, "Recording not in session");
    rec->paused = false;
    rec->started_sim_ms = now;
    rec->info.state = "recording";
  } else if (op == "mute" || op == "unmute") {
    if (!rec->started) return error_reply(409, "Recording not in session");
  } else {
    return error_reply(404, "Resource not found");
  }
  return no_content();
}

// ---- stored recordings ----

Reply Engine::list_stored() const {
  std::vector<ari::StoredRecording> list;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(recording_dir(), ec)) {
    if (!entry.is_regular_file() || entry.path().extension() == ".part") continue;
    const auto ext = entry.path().extension().string();
    list.push_back({entry.path().stem().string(), ext.empty() ? "" : ext.substr(1)});
  }
  std::sort(list.begin(), list.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return array_reply(list, [](json::Writer& w, const auto& r) { ari::write_json(w, r); });
}

Reply Engine::get_stored(const std::string& name) const {
  auto path = stored_path(name);
  if (!path) return error_reply(404, "Recording not found");
  const auto ext = fs::path(*path).extension().string();
  return model_reply(200, ari::StoredRecording{name, ext.substr(1)});
}

Reply Engine::stored_file(const std::string& name) const {
  auto path = stored_path(name);
  if (!path) return error_reply(404, "Recording not found");
  Reply r;
  r.status = 200;
  r.content_type = mime_for(fs::path(*path).extension().string().substr(1));
  r.file_path = *path;
  return r;
}

Reply Engine::copy_stored(const std::string& name, const std::string& dest) {
  auto path = stored_path(name);
  if (!path) return error_reply(404, "Recording not found");
  if (dest.empty()) return error_reply(400, "Missing parameter destinationRecordingName");
  if (!safe_name(dest)) return error_reply(400, "Invalid destination recording name");
  if (stored_path(dest))
    return error_reply(409, "A recording with the same name already exists on the system");
  const std::string ext = fs::path(*path).extension().string();
  std::error_code ec;
  fs::copy_file(*path, recording_dir() + "/" + dest + ext, ec);
  if (ec) return error_reply(500, "Copy failed");
  return model_reply(200, ari::StoredRecording{dest, ext.substr(1)});
}

Reply Engine::delete_stored(const std::string& name) {
  auto path = stored_path(name);
  if (!path) return error_reply(404, "Recording not found");
  std::error_code ec;
  fs::remove(*path, ec);
  return no_content();
}

// ---- bridges' media on destroy ----

void Engine::end_bridge_media(SimBridge& b) {
  auto pbs = b.playbacks;
  b.playbacks.clear();
  for (auto& pb : pbs) {
    if (pb->info.state == "queued") {
      ++pb->step;
      auto it = playbacks_.find(pb->info.id);
      if (it != playbacks_.end()) {
        auto& dq = it->second;
        dq.erase(std::remove(dq.begin(), dq.end(), pb), dq.end());
        if (dq.empty()) playbacks_.erase(it);
      }
    } else {
      finish_playback(pb, "done");
    }
  }
  auto recs = b.recordings;
  for (auto& r : recs) finish_recording(r, "done");
  b.recordings.clear();
}

}  // namespace aa::sim
