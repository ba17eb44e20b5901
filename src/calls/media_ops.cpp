// Media operations on a call: play (a playlist, optionally waiting for its
// end), play_file (an uploaded WAV served from our /media), record and DTMF.
#include <algorithm>

#include "calls/call_manager_impl.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "media/media_store.hpp"

namespace aa::calls {

using detail::Clock;
using detail::Signal;
using detail::valid_media_uri;

awaitable<Outcome<PlayResult>> CallManager::play(std::string call_id, PlayRequest req) {
  auto& im = *impl_;
  if (req.media.empty()) {
    Error e(ErrorCode::validation_failed, "Invalid request body");
    e.details.push_back("media: must not be empty");
    co_return e;
  }
  {
    Error e(ErrorCode::validation_failed, "Invalid request body");
    for (size_t i = 0; i < req.media.size(); ++i)
      if (!valid_media_uri(req.media[i]))
        e.details.push_back("media" +
                            (req.media.size() > 1 ? "[" + std::to_string(i) + "]" : std::string{}) +
                            ": must be a media URI such as sound:hello-world (schemes: sound, "
                            "recording, number, digits, characters, tone)");
    if (!e.details.empty()) co_return e;
  }
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto call = *c;
  PlayResult result;
  std::vector<std::shared_ptr<Signal>> waits;
  for (const auto& m : req.media) {
    if (!im.calls.count(call_id))
      co_return Error(ErrorCode::wrong_state, "Call ended during playback");
    std::string pb_id = uuid_v4();
    auto done = std::make_shared<Signal>(im.ex);
    im.playbacks[pb_id] = Impl::PlaybackInfo{call_id, m, {}, done, false};
    call->playbacks.push_back(pb_id);
    ari::PlayParams p;
    p.media = {m};
    p.playback_id = pb_id;
    std::string channel_id = call->rec->channel_id;
    auto r = co_await im.ari.play(channel_id, p);
    if (!r.ok()) {
      im.playbacks.erase(pb_id);
      std::erase(call->playbacks, pb_id);
      co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
    }
    result.playback_ids.push_back(pb_id);
    waits.push_back(done);
    im.update_state(*call);
  }
  if (!req.wait) co_return result;
  auto deadline = Clock::now() + im.opts.play_wait_limit;
  bool all = true;
  for (auto& w : waits) all = (co_await w->wait(deadline)) && all;
  result.finished = all;
  co_return result;
}

awaitable<Outcome<std::string>> CallManager::play_file(std::string call_id, std::string wav_bytes,
                                                       std::string filename) {
  auto& im = *impl_;
  auto info = media::inspect_wav(wav_bytes);
  if (!info) co_return info.error();
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  if (im.opts.media_base_url.empty())
    co_return Error(ErrorCode::internal, "MEDIA_BASE_URL is not configured");
  std::string stem = filename;
  if (auto dot = stem.rfind('.'); dot != std::string::npos) stem.resize(dot);
  if (stem.empty()) stem = "upload-" + std::to_string(now_epoch_ms());
  auto stored = im.media.put(std::move(wav_bytes), stem, im.opts.media_ttl);
  std::string sound_name = stored.file_name.substr(0, stored.file_name.size() - 4);
  std::string uri = "sound:" + im.opts.media_base_url + stored.path();
  auto call = *c;
  std::string pb_id = uuid_v4();
  im.playbacks[pb_id] = Impl::PlaybackInfo{call_id, uri, stored.token, nullptr, false};
  call->playbacks.push_back(pb_id);
  ari::PlayParams p;
  p.media = {uri};
  p.playback_id = pb_id;
  std::string channel_id = call->rec->channel_id;
  auto r = co_await im.ari.play(channel_id, p);
  if (!r.ok()) {
    im.playbacks.erase(pb_id);
    if (auto still = im.calls.find(call_id); still != im.calls.end())
      std::erase(still->second->playbacks, pb_id);
    im.media.remove(stored.token);
    co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
  }
  if (im.calls.count(call_id)) im.update_state(*call);
  co_return sound_name;
}

awaitable<Outcome<std::string>> CallManager::record(std::string call_id, RecordRequest req) {
  auto& im = *impl_;
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto call = *c;
  std::string name =
      req.name.empty() ? "call-" + call_id + "-" + std::to_string(now_epoch_ms()) : req.name;
  if (im.recordings.count(name))
    co_return Error(ErrorCode::recording_exists, "A recording named " + name + " is in progress");
  im.recordings[name] = Impl::RecordingInfo{call_id, req.format};
  ari::RecordParams p;
  p.name = name;
  p.format = req.format;
  p.max_duration_seconds = req.max_duration_s;
  p.beep = req.beep;
  p.if_exists = "fail";
  // Asterisk fails a channel recording while the channel is in a bridge: record the bridge.
  std::string target = call->rec->bridge_id.empty() ? call->rec->channel_id : call->rec->bridge_id;
  bool bridged = !call->rec->bridge_id.empty();
  ari::Result<ari::LiveRecording> r;
  if (bridged) {
    r = co_await im.ari.record_bridge(target, p);
  } else {
    r = co_await im.ari.record(target, p);
  }
  if (!r.ok()) {
    im.recordings.erase(name);
    if (r.error.kind == ari::AriError::Kind::http && r.error.status == 409)
      co_return Error(ErrorCode::recording_exists, "A recording named " + name + " already exists");
    if (r.error.kind == ari::AriError::Kind::http && r.error.status == 422) {
      Error e(ErrorCode::validation_failed, "Asterisk cannot record in that format",
              r.error.message);
      e.details.push_back("format: not supported by Asterisk");
      co_return e;
    }
    co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
  }
  if (auto still = im.calls.find(call_id); still != im.calls.end())
    still->second->rec->recordings.push_back(name);
  co_return name;
}

awaitable<Status> CallManager::send_dtmf(std::string call_id, std::string digits) {
  auto& im = *impl_;
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  ari::DtmfParams p;
  p.dtmf = digits;
  std::string channel_id = (*c)->rec->channel_id;
  auto r = co_await im.ari.send_dtmf(channel_id, p);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
  co_return ok_status();
}
}  // namespace aa::calls
