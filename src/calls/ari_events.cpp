// ARI events in: Stasis entry and exit, channel state, dial progress, hangup
// causes, DTMF, and the playback/recording events of our operations.
#include <algorithm>

#include "calls/allowlist.hpp"
#include "calls/call_manager_impl.hpp"
#include "common/log.hpp"
#include "common/util.hpp"
#include "media/media_store.hpp"

namespace aa::calls {

using detail::cause_name;
using detail::is_failure_dialstatus;

// ---- ARI events in ----
void CallManager::Impl::on_event(const ari::Event& e) {
  using T = ari::EventType;
  switch (e.type) {
    case T::StasisStart:
      on_stasis_start(e);
      break;
    case T::StasisEnd: {
      if (!e.channel) break;
      if (adopting.count(e.channel->id)) vanished_while_adopting.insert(e.channel->id);
      auto c = by_channel(e.channel->id);
      if (!c) break;
      c->in_stasis = false;
      // The channel left our application (hung up, or continued in the
      // dialplan): we can no longer control it. Inbound channels may get no
      // ChannelDestroyed at all, so the call ends here.
      end_call(c, cause_for(*c, -1));
      break;
    }
    case T::ChannelStateChange: {
      if (!e.channel) break;
      auto c = by_channel(e.channel->id);
      if (!c) break;
      const auto& st = e.channel->state;
      if (st == "Up") {
        // Every path to answered (this, Dial ANSWER, StasisStart, answer_inbound,
        // reconcile) goes through mark_answered, which acts once.
        mark_answered(*c);
      } else if (st == "Ringing" || st == "Ring") {
        if (!c->ringing) {
          c->ringing = true;
          update_state(*c);
        }
      }
      break;
    }
    case T::Dial: {
      if (!e.peer) break;
      auto c = by_channel(e.peer->id);
      if (!c) break;
      if (e.dialstatus == "RINGING" || e.dialstatus == "PROGRESS") {
        if (!c->ringing) {
          c->ringing = true;
          update_state(*c);
        }
      } else if (e.dialstatus == "ANSWER") {
        mark_answered(*c);
      } else if (is_failure_dialstatus(e.dialstatus)) {
        c->dialstatus = e.dialstatus;
      }
      break;
    }
    case T::ChannelHangupRequest: {
      if (!e.channel) break;
      auto c = by_channel(e.channel->id);
      if (!c) break;
      // The channel is going: a playback that fails from now on was cut short.
      c->hangup_seen = true;
      if (!e.soft) c->far_end_cause = e.cause;
      // In a soft request the cause is Asterisk's hangup flag: 4 = shutdown.
      if (e.soft && e.cause == 4) c->asterisk_shutdown = true;
      break;
    }
    case T::ChannelDestroyed: {
      if (!e.channel) break;
      if (adopting.count(e.channel->id)) vanished_while_adopting.insert(e.channel->id);
      auto c = by_channel(e.channel->id);
      if (c) end_call(c, cause_for(*c, e.cause));
      break;
    }
    case T::ChannelDtmfReceived: {
      if (!e.channel) break;
      auto c = by_channel(e.channel->id);
      if (!c) break;
      auto ev = make_event(EventKind::call_dtmf, c.get());
      ev.digit = e.digit;
      emit(std::move(ev));
      break;
    }
    case T::ChannelEnteredBridge:
    case T::ChannelLeftBridge:
      on_bridge_membership(e);
      break;
    case T::BridgeDestroyed:
      if (e.bridge) bridge_gone(e.bridge->id);
      break;
    case T::PlaybackStarted:
    case T::PlaybackFinished:
      on_playback(e);
      break;
    case T::RecordingStarted:
    case T::RecordingFinished:
    case T::RecordingFailed:
      on_recording(e);
      break;
    default:
      break;
  }
}

void CallManager::Impl::on_stasis_start(const ari::Event& e) {
  if (!e.channel) return;
  const auto& ch = *e.channel;
  if (auto c = by_channel(ch.id)) {
    // Our own outbound leg: Asterisk sends StasisStart only once it answered.
    c->in_stasis = true;
    if (ch.state == "Up") mark_answered(*c);
    emit(make_event(EventKind::call_ready, c.get()));
    wake(*c);
    return;
  }
  // The service's own media channels are never calls: their owner handles them.
  if (is_internal(ch)) return;
  if (!e.args.empty() && e.args.front() == "dialed") {
    // An outbound leg we do not know answered: dialed by an earlier run of the
    // service (or while we were away). Adopt it under its stored id, or hang up.
    take_untracked(ch, e.args);
    return;
  }
  // A new inbound call from the dialplan, unless the allowlist refuses the caller.
  if (allowlist) {
    std::vector<std::string> args = e.args;
    CallerId caller{ch.caller.name, ch.caller.number};
    if (args.size() >= 3 && args[0] == "inbound" && !args[2].empty()) {
      CallerId given = parse_caller_id(args[2]);
      if (!given.number.empty()) caller.number = given.number;
    }
    auto d = allowlist->check_inbound(caller.number);
    if (!d.allowed) {
      ++blocked_inbound;
      log::warn("inbound call on channel {} from '{}' blocked by the allowlist: hung up", ch.id,
                caller.number);
      spawn(ex, hangup_task(ch.id, alive, "rejected"), "hang up a blocked caller");
      auto ev = make_event(EventKind::call_blocked, nullptr);
      calls::VoiceEvent v;
      v.number = caller.number;
      v.reason = "not in the inbound allowlist";
      v.channel_id = ch.id;
      ev.voice = std::make_shared<const calls::VoiceEvent>(std::move(v));
      emit(std::move(ev));
      return;
    }
  }
  auto c = track_in_stasis(ch, e.args, {});
  log::info("inbound call {} on channel {} from '{}' <{}> to '{}'", c->rec->id, ch.id,
            c->rec->caller_name, c->rec->caller_number, c->rec->callee_number);
  announce(c);
  spawn_set_call_id(ch.id, c->rec->id);
}

std::shared_ptr<CallManager::Impl::Call> CallManager::Impl::track_in_stasis(
    const ari::Channel& ch, const std::vector<std::string>& args, std::string id) {
  const bool outbound = !args.empty() && args.front() == "dialed";
  CallerId caller{ch.caller.name, ch.caller.number};
  std::string callee;
  if (outbound) {
    callee = detail::endpoint_of_channel_name(ch.name);
  } else {
    // Stasis(app,inbound,<exten>,<caller>) args may name the numbers; otherwise
    // they come from the channel.
    callee = ch.dialplan.exten;
    const bool named = !args.empty() && args[0] == "inbound";
    if (named && args.size() >= 2 && !args[1].empty()) callee = args[1];
    if (named && args.size() >= 3 && !args[2].empty()) {
      CallerId given = parse_caller_id(args[2]);
      if (!given.number.empty()) caller.number = std::move(given.number);
      if (!given.name.empty()) caller.name = std::move(given.name);
    }
  }
  auto c = add_call(outbound ? Direction::outbound : Direction::inbound, ch.id, std::move(caller),
                    std::move(callee), std::move(id));
  c->in_stasis = true;
  c->ringing = true;
  c->rec->state = CallState::ringing;
  if (ch.state == "Up") {
    c->answered = true;
    c->rec->answered_at_ms = now_epoch_ms();
    c->rec->state = CallState::answered;
  }
  return c;
}

void CallManager::Impl::announce(const std::shared_ptr<Call>& c) {
  emit(make_event(EventKind::call_created, c.get()));
  if (c->rec->direction == Direction::outbound) {
    emit(make_event(EventKind::call_ready, c.get()));
    return;
  }
  emit(make_event(EventKind::call_inbound, c.get()));
  if (c->answered) {
    // Already up (adopted, or answered in the dialplan): media can start now.
    emit(make_event(EventKind::call_ready, c.get()));
    return;
  }
  if (!c->answered && opts.answer_inbound) {
    std::string channel_id = c->rec->channel_id;
    std::weak_ptr<bool> alive_w = alive;
    spawn(ex, answer_inbound(channel_id, alive_w), "answer inbound call");
  }
}

awaitable<void> CallManager::Impl::answer_inbound(std::string channel_id,
                                                  std::weak_ptr<bool> alive_w) {
  auto r = co_await ari.answer(channel_id);
  if (alive_w.expired()) co_return;
  if (!r.ok()) {
    log::warn("answering inbound channel {} failed: {} {}", channel_id, r.error.status,
              r.error.message);
    co_return;
  }
  // Asterisk follows with ChannelStateChange Up; mark it now so media can start at once.
  if (auto c = by_channel(channel_id)) mark_answered(*c);
}

void CallManager::Impl::on_playback(const ari::Event& e) {
  if (!e.playback) return;
  auto it = playbacks.find(e.playback->id);
  if (it == playbacks.end()) return;
  auto ct = calls.find(it->second.call_id);
  Call* c = ct == calls.end() ? nullptr : ct->second.get();
  PlaybackTrack& track = *it->second.track;
  bool started = e.type == ari::EventType::PlaybackStarted;
  if (started) {
    if (track.item.status != PlaybackStatus::queued) return;
    track.item.status = PlaybackStatus::playing;
    if (!c) return;
    auto ev = make_event(EventKind::call_playback_started, c);
    ev.playback_id = e.playback->id;
    ev.media = track.item.media;
    emit(std::move(ev));
    return;
  }
  PlaybackInfo info = std::move(it->second);
  playbacks.erase(it);
  // Asterisk ends a playback "done" (played out, or stopped) or "failed" — also
  // when the channel is hung up under it (hangup-during-media trace: the hangup
  // request comes first), which is the call ending, not the media failing.
  const bool done = e.playback->state == "done";
  track.item.status = done                     ? PlaybackStatus::done
                      : (!c || c->hangup_seen) ? PlaybackStatus::not_played
                                               : PlaybackStatus::failed;
  track.done.fire();
  if (!info.media_token.empty()) media.remove(info.media_token);
  if (!c) return;
  std::erase(c->playbacks, e.playback->id);
  auto ev = make_event(EventKind::call_playback_finished, c);
  ev.playback_id = e.playback->id;
  ev.media = track.item.media;
  ev.cause = e.playback->state;  // done | failed
  emit(std::move(ev));
  update_state(*c);
}

void CallManager::Impl::on_recording(const ari::Event& e) {
  if (!e.recording) return;
  auto it = recordings.find(e.recording->name);
  if (it == recordings.end()) return;
  using T = ari::EventType;
  EventKind kind = e.type == T::RecordingStarted    ? EventKind::call_recording_started
                   : e.type == T::RecordingFinished ? EventKind::call_recording_finished
                                                    : EventKind::call_recording_failed;
  // Asterisk's first word on it, for a record request that is waiting.
  if (auto& t = it->second.track; t && t->state == RecordingTrack::State::pending) {
    t->state = kind == EventKind::call_recording_started  ? RecordingTrack::State::started
               : kind == EventKind::call_recording_failed ? RecordingTrack::State::failed
                                                          : RecordingTrack::State::ended;
    t->cause = e.recording->cause;
    t->verdict.fire();
  }
  auto ct = calls.find(it->second.call_id);
  if (ct == calls.end()) return;
  Call& c = *ct->second;
  if (kind == EventKind::call_recording_started) {
    if (std::find(c.recordings.begin(), c.recordings.end(), e.recording->name) ==
        c.recordings.end())
      c.recordings.push_back(e.recording->name);
  } else {
    std::erase(c.recordings, e.recording->name);
  }
  auto ev = make_event(kind, &c);
  ev.recording_name = e.recording->name;
  ev.recording_format = e.recording->format.empty() ? it->second.format : e.recording->format;
  if (kind == EventKind::call_recording_finished) ev.duration = e.recording->duration.value_or(0);
  if (kind == EventKind::call_recording_failed)
    ev.cause = e.recording->cause.empty() ? "failed" : e.recording->cause;
  if (kind != EventKind::call_recording_started) recordings.erase(it);
  emit(std::move(ev));
  update_state(c);
}

}  // namespace aa::calls
