// At start-up and after every events-socket outage: Asterisk does not replay
// the events it dropped meanwhile, so re-read channels and bridges, end the
// calls that vanished, and take every channel in our app that we do not track
// (adopt it as a call, or hang it up: UNTRACKED_CHANNELS).
#include <unordered_set>

#include "calls/call_manager_impl.hpp"
#include "common/log.hpp"
#include "common/util.hpp"

namespace aa::calls {

awaitable<void> CallManager::Impl::reconcile(std::weak_ptr<bool> alive_w) {
  // Calls created after this point are not in the listing yet: leave them be.
  const uint64_t listed_after = call_order;
  // Counted on every way out, failures included.
  struct Pass {
    std::weak_ptr<bool> alive;
    uint64_t& passes;
    ~Pass() {
      if (!alive.expired()) ++passes;
    }
  } pass{alive_w, untracked.passes};
  auto listed = co_await ari.list_channels();
  if (alive_w.expired() || !connected) co_return;
  if (!listed.ok()) {
    log::warn("re-reading channels after (re)connect failed: {}", listed.error.message);
    co_return;
  }
  std::unordered_map<std::string, const ari::Channel*> alive_channels;
  for (const auto& ch : *listed) alive_channels[ch.id] = &ch;
  std::vector<std::shared_ptr<Call>> lost;
  for (auto& [_, c] : calls) {
    if (c->order > listed_after) continue;
    auto found = alive_channels.find(c->rec->channel_id);
    if (found == alive_channels.end()) {
      lost.push_back(c);
    } else if (found->second->state == "Up") {
      mark_answered(*c);
    }
  }
  for (auto& c : lost) end_call(c, "lost_during_ari_outage");
  if (!lost.empty() || !calls.empty())
    log::info("after reconnect: {} call(s) still up, {} lost during the outage", calls.size(),
              lost.size());

  for (const auto& ch : *listed) {
    if (call_by_channel.count(ch.id) || ended_channels.count(ch.id)) continue;
    if (is_internal(ch)) {
      if (!claimed_internal(ch)) hang_up_untracked(ch, "an internal channel nobody owns");
      continue;
    }
    std::vector<std::string> args;
    if (!detail::in_stasis_app(ch, opts.app, &args)) continue;  // not ours
    take_untracked(ch, std::move(args));
  }

  auto bl = co_await ari.list_bridges();
  if (alive_w.expired() || !bl.ok()) co_return;
  std::unordered_set<std::string> alive_bridges;
  for (const auto& b : *bl) alive_bridges.insert(b.id);
  std::vector<std::string> gone;
  for (auto& [id, b] : bridges)
    if (!alive_bridges.count(id)) gone.push_back(id);
  for (auto& id : gone) bridge_gone(id);
}

bool CallManager::Impl::is_internal(const ari::Channel& ch) const {
  return ch.id.starts_with(kInternalChannelPrefix) || claimed_internal(ch);
}

bool CallManager::Impl::claimed_internal(const ari::Channel& ch) const {
  return internal_filter && internal_filter(ch);
}

void CallManager::Impl::take_untracked(const ari::Channel& ch, std::vector<std::string> args) {
  if (opts.untracked == UntrackedPolicy::hangup) {
    hang_up_untracked(ch, "UNTRACKED_CHANNELS=hangup");
    return;
  }
  if (adopting.count(ch.id)) return;  // under way
  spawn(ex, adopt(ch, std::move(args), alive), "adopt an untracked channel");
}

awaitable<void> CallManager::Impl::adopt(ari::Channel ch, std::vector<std::string> args,
                                         std::weak_ptr<bool> alive_w) {
  const std::string channel_id = ch.id;
  if (!adopting.insert(channel_id).second) co_return;
  // Our id, if we created the call before a restart (originate variables, or
  // set right after an inbound StasisStart).
  auto stored = co_await ari.get_variable(channel_id, kCallIdVariable);
  if (alive_w.expired()) co_return;
  adopting.erase(channel_id);
  const bool vanished = vanished_while_adopting.erase(channel_id) > 0;
  if (vanished || by_channel(channel_id)) co_return;
  if (!stored.ok() && stored.error.kind == ari::AriError::Kind::http &&
      stored.error.status == 404 && stored.error.message.find("hannel") != std::string::npos)
    co_return;  // "Provided channel was not found": gone meanwhile
  std::string id = stored.ok() && !stored->empty() && stored->size() <= 64 && !calls.count(*stored)
                       ? *stored
                       : "";
  const bool kept_id = !id.empty();
  auto c = track_in_stasis(ch, args, std::move(id));
  ++untracked.adopted;
  log::warn("adopted channel {} in our app as {} call {} ({}, {})", channel_id,
            to_string(c->rec->direction), c->rec->id, to_string(c->rec->state),
            kept_id ? "its stored id" : "a new id");
  announce(c);
  if (!kept_id) spawn_set_call_id(channel_id, c->rec->id);
}

void CallManager::Impl::hang_up_untracked(const ari::Channel& ch, std::string_view why) {
  ++untracked.hung_up;
  log::warn("hanging up untracked channel {} ({}, state {}): {}", ch.id, ch.name, ch.state, why);
  spawn(ex, hangup_task(ch.id, alive), "hang up an untracked channel");
}

}  // namespace aa::calls
