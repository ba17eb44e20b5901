// Media operations on a call: play (a playlist, optionally waiting for its
// end), play_file (an uploaded WAV served from our /media), record and DTMF.
#include <algorithm>

#include "calls/call_manager_impl.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "media/media_store.hpp"

namespace aa::calls {

using detail::Clock;
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
  std::vector<std::pair<std::string, std::string>> items;
  for (auto& m : req.media) items.emplace_back(std::move(m), std::string{});
  auto r = co_await im.play_items(std::move(call_id), std::move(items), req.wait);
  co_return r;
}

awaitable<Outcome<PlayResult>> CallManager::Impl::play_items(
    std::string call_id, std::vector<std::pair<std::string, std::string>> items, bool wait) {
  PlayResult result;
  std::vector<std::shared_ptr<PlaybackTrack>> tracks;
  for (auto& [uri, token] : items) {
    auto call = calls.find(call_id);
    if (call == calls.end()) {
      // Ended while we queued the items before this one: the rest never play.
      if (!token.empty()) media.remove(token);
      auto t = std::make_shared<PlaybackTrack>(ex);
      t->item.media = uri;
      t->item.status = PlaybackStatus::not_played;
      tracks.push_back(std::move(t));
      continue;
    }
    std::string pb_id = uuid_v4();
    auto track = std::make_shared<PlaybackTrack>(ex);
    track->item.playback_id = pb_id;
    track->item.media = uri;
    playbacks[pb_id] = PlaybackInfo{call_id, token, track};
    call->second->playbacks.push_back(pb_id);
    ari::PlayParams p;
    p.media = {uri};
    p.playback_id = pb_id;
    std::string channel_id = call->second->rec->channel_id;
    auto r = co_await ari.play(channel_id, p);
    if (!r.ok()) {
      playbacks.erase(pb_id);
      if (auto still = calls.find(call_id); still != calls.end()) {
        std::erase(still->second->playbacks, pb_id);
        update_state(*still->second);
      }
      if (!token.empty()) media.remove(token);
      // Items queued before this one go on playing (and are tracked as usual).
      co_return from_ari(r.error, ErrorCode::call_not_found, "Call");
    }
    result.playback_ids.push_back(pb_id);
    tracks.push_back(track);
    if (auto still = calls.find(call_id); still != calls.end()) update_state(*still->second);
  }
  if (wait) {
    const auto deadline = Clock::now() + opts.play_wait_limit;
    for (auto& t : tracks) co_await t->done.wait(deadline);
  }
  bool all_done = true, all_final = true, any_not_played = false;
  for (const auto& t : tracks) {
    result.items.push_back(t->item);
    all_done = all_done && t->item.status == PlaybackStatus::done;
    all_final = all_final && is_final(t->item.status);
    any_not_played = any_not_played || t->item.status == PlaybackStatus::not_played;
  }
  result.finished = all_final;
  auto call = calls.find(call_id);
  const bool call_ending = call == calls.end() || call->second->hangup_seen;
  if (all_done)
    result.outcome = PlayOutcome::done;
  else if (!all_final)
    result.outcome = PlayOutcome::pending;  // wait:false, or the wait limit passed
  else if (any_not_played || call_ending)
    result.outcome = PlayOutcome::call_ended;
  else
    result.outcome = PlayOutcome::failed;
  co_return result;
}

awaitable<Outcome<PlayFileResult>> CallManager::play_file(std::string call_id,
                                                          std::string wav_bytes,
                                                          std::string filename, bool wait) {
  auto& im = *impl_;
  // Converted (off the io thread) to what Asterisk plays from a URL: 8 kHz .wav or
  // 16 kHz .wav16; a 400 when it cannot be.
  auto prepared = co_await im.media.prepare(std::move(wav_bytes));
  if (!prepared) co_return prepared.error();
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  if (im.opts.media_base_url.empty())
    co_return Error(ErrorCode::internal, "MEDIA_BASE_URL is not configured");
  std::string stem = filename;
  if (auto dot = stem.rfind('.'); dot != std::string::npos) stem.resize(dot);
  if (stem.empty()) stem = "upload-" + std::to_string(now_epoch_ms());
  auto put = im.media.put(prepared->bytes, stem, prepared->extension, im.opts.media_ttl);
  if (!put) co_return put.error();
  prepared->bytes = std::string();  // on disk now: hold no copy while the playback runs
  const media::StoredMedia stored = std::move(*put);
  PlayFileResult out;
  out.sound_name = stored.sound_name();
  std::vector<std::pair<std::string, std::string>> items;
  items.emplace_back("sound:" + im.opts.media_base_url + stored.path(), stored.token);
  auto played = co_await im.play_items(std::move(call_id), std::move(items), wait);
  if (!played) co_return played.error();
  out.play = std::move(*played);
  co_return out;
}

awaitable<Outcome<RecordResult>> CallManager::record(std::string call_id, RecordRequest req) {
  auto& im = *impl_;
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto call = *c;
  std::string name =
      req.name.empty() ? "call-" + call_id + "-" + std::to_string(now_epoch_ms()) : req.name;
  if (im.recordings.count(name))
    co_return Error(ErrorCode::recording_exists, "A recording named " + name + " is in progress");
  auto track = std::make_shared<Impl::RecordingTrack>(im.ex);
  im.recordings[name] = Impl::RecordingInfo{call_id, req.format, track};
  ari::RecordParams p;
  p.name = name;
  p.format = req.format;
  p.max_duration_seconds = req.max_duration_s;
  p.beep = req.beep;
  p.if_exists = "fail";
  // Asterisk fails a channel recording while the channel is in a bridge: record the bridge.
  // (The voice module's private bridge counts too: the caller is in it.)
  std::string bridge = call->rec->bridge_id.empty() ? call->voice_bridge : call->rec->bridge_id;
  std::string target = bridge.empty() ? call->rec->channel_id : bridge;
  bool bridged = !bridge.empty();
  ari::Result<ari::LiveRecording> r;
  if (bridged) {
    r = co_await im.ari.record_bridge(target, p);
  } else {
    r = co_await im.ari.record(target, p);
  }
  if (!r.ok()) {
    if (auto it = im.recordings.find(name); it != im.recordings.end() && it->second.track == track)
      im.recordings.erase(it);
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
  // Asterisk accepts first and fails after (a bridged channel, a format it cannot
  // write): wait briefly for its verdict. A recording queued behind a playback
  // starts later; then the answer says it is queued.
  const auto deadline = Clock::now() + im.opts.record_start_wait;
  co_await track->verdict.wait(deadline);
  using State = Impl::RecordingTrack::State;
  if (track->state == State::failed) {
    Error e(
        ErrorCode::recording_failed,
        "Asterisk could not record" + (track->cause.empty() ? std::string{} : ": " + track->cause));
    e.details.push_back("recording " + name + ": " +
                        (track->cause.empty() ? std::string("failed") : track->cause));
    co_return e;
  }
  auto still = im.calls.find(call_id);
  if (still == im.calls.end() || (track->state == State::ended && still->second->hangup_seen))
    co_return Error(ErrorCode::wrong_state, "Call ended before the recording started");
  still->second->rec->recordings.push_back(name);
  co_return RecordResult{name, track->state == State::started};
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
