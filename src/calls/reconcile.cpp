// After the events socket comes back: Asterisk does not replay the events it
// dropped meanwhile, so re-read channels and bridges and reconcile.
#include <unordered_set>

#include "calls/call_manager_impl.hpp"
#include "common/log.hpp"

namespace aa::calls {

// ---- reconnect ----
awaitable<void> CallManager::Impl::reconcile(std::weak_ptr<bool> alive_w) {
  auto listed = co_await ari.list_channels();
  if (alive_w.expired() || !connected) co_return;
  if (!listed.ok()) {
    log::warn("re-reading channels after reconnect failed: {}", listed.error.message);
    co_return;
  }
  std::unordered_map<std::string, const ari::Channel*> alive_channels;
  for (const auto& ch : *listed) alive_channels[ch.id] = &ch;
  std::vector<std::shared_ptr<Call>> lost;
  for (auto& [_, c] : calls) {
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
  auto bl = co_await ari.list_bridges();
  if (alive_w.expired() || !bl.ok()) co_return;
  std::unordered_set<std::string> alive_bridges;
  for (const auto& b : *bl) alive_bridges.insert(b.id);
  std::vector<std::string> gone;
  for (auto& [id, b] : bridges)
    if (!alive_bridges.count(id)) gone.push_back(id);
  for (auto& id : gone) bridge_gone(id);
}
}  // namespace aa::calls
