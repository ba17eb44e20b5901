// Transfer: originate a new leg, wait for it to answer, bridge both legs.
//
// The legs of a transfer live and die together (a TransferLink ties them):
// - the transferred call ends while the target still rings → the target leg is
//   hung up at once and the pending request answers 409;
// - once both are bridged, either leg ending hangs up the other and destroys
//   the transfer's bridge;
// - the target failing before it answered (busy, no answer) leaves the caller
//   up: the request answers with the failure and the caller can be sent elsewhere.
// Destroying the transfer's bridge through the API unties the legs.
#include <algorithm>

#include "calls/call_manager_impl.hpp"
#include "common/log.hpp"

namespace aa::calls {

using detail::Clock;
using detail::Signal;

std::shared_ptr<CallManager::Impl::TransferLink> CallManager::Impl::link_transfer(
    const std::string& caller_id, const std::string& target_id) {
  auto link = std::make_shared<TransferLink>();
  link->caller_id = caller_id;
  link->target_id = target_id;
  transfer_links[caller_id].push_back(link);
  transfer_links[target_id].push_back(link);
  return link;
}

void CallManager::Impl::unlink_transfer(const std::shared_ptr<TransferLink>& link) {
  for (const std::string* id : {&link->caller_id, &link->target_id}) {
    auto it = transfer_links.find(*id);
    if (it == transfer_links.end()) continue;
    std::erase(it->second, link);
    if (it->second.empty()) transfer_links.erase(it);
  }
}

void CallManager::Impl::end_transfer_links(const Call& c) {
  auto it = transfer_links.find(c.rec->id);
  if (it == transfer_links.end()) return;
  const auto links = it->second;
  for (const auto& link : links) {
    unlink_transfer(link);
    const bool caller_ended = link->caller_id == c.rec->id;
    // A target that never answered takes nobody with it.
    if (!caller_ended && !link->bridged) continue;
    const std::string& other_id = caller_ended ? link->target_id : link->caller_id;
    if (auto other = calls.find(other_id); other != calls.end()) {
      log::info("call {} ended: hanging up {} (the other leg of its transfer)", c.rec->id,
                other_id);
      spawn_hangup(other->second);
    }
    if (!link->bridge_id.empty()) spawn_destroy_bridge(link->bridge_id);
  }
}

void CallManager::Impl::dissolve_transfer_links_of_bridge(const std::string& bridge_id) {
  std::vector<std::shared_ptr<TransferLink>> gone;
  for (const auto& [_, links] : transfer_links)
    for (const auto& l : links)
      if (l->bridge_id == bridge_id && std::find(gone.begin(), gone.end(), l) == gone.end())
        gone.push_back(l);
  for (const auto& l : gone) unlink_transfer(l);
}

awaitable<Outcome<TransferResult>> CallManager::transfer(std::string call_id, TransferRequest req) {
  auto& im = *impl_;
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (!(*c)->answered) co_return Error(ErrorCode::wrong_state, "Call is not answered yet");
  OriginateRequest o;
  o.endpoint = req.endpoint;
  o.caller_id = req.caller_id;
  o.timeout_s = req.timeout_s;
  auto leg = co_await originate(o);
  if (!leg) co_return leg.error();
  std::string new_id = leg->id;
  auto deadline = Clock::now() + std::chrono::seconds(req.timeout_s);
  const Error caller_gone(ErrorCode::wrong_state, "The call ended during the transfer");
  if (!im.calls.count(call_id)) {
    // Ended while the originate request was on its way.
    if (auto nl = im.calls.find(new_id); nl != im.calls.end()) im.spawn_hangup(nl->second);
    co_return caller_gone;
  }
  auto link = im.link_transfer(call_id, new_id);

  // Hang up the new leg and wait for Asterisk's answer (the client's error
  // answer comes after it). Not a coroutine lambda: it returns the task.
  auto hangup_leg = [&im](const std::string& id) -> awaitable<void> {
    auto it = im.calls.find(id);
    if (it == im.calls.end() || it->second->hangup_requested) return im.nothing();
    it->second->hangup_requested = true;
    return im.hangup_task(it->second->rec->channel_id, im.alive);
  };

  // Wait until the new leg is in Stasis (answered), either leg ends, or time runs out.
  for (;;) {
    if (!im.calls.count(call_id)) {
      // end_call has hung up the ringing target already.
      im.unlink_transfer(link);
      co_return caller_gone;
    }
    auto nl = im.calls.find(new_id);
    if (nl == im.calls.end()) {
      im.unlink_transfer(link);
      auto ended = im.ended_by_id.find(new_id);
      std::string cause = ended != im.ended_by_id.end() ? ended->second->hangup_cause : "failed";
      if (cause == "no_answer")
        co_return Error(ErrorCode::transfer_timeout, "Transfer target did not answer in time");
      co_return Error(ErrorCode::wrong_state, "Transfer target did not answer (" + cause + ")");
    }
    if (nl->second->in_stasis && nl->second->answered) break;
    // Woken by any change of either leg.
    auto sig = std::make_shared<Signal>(im.ex);
    nl->second->watchers.push_back(sig);
    im.calls.find(call_id)->second->watchers.push_back(sig);
    if (!co_await sig->wait(deadline)) {
      im.unlink_transfer(link);
      co_await hangup_leg(new_id);
      co_return Error(ErrorCode::transfer_timeout, "Transfer target did not answer in time");
    }
  }

  std::string bridge_name = "transfer-" + call_id;
  auto bridge = co_await create_bridge(bridge_name);
  if (!bridge) {
    im.unlink_transfer(link);
    co_await hangup_leg(new_id);
    co_return bridge.error();
  }
  std::string bridge_id = bridge->id;
  link->bridge_id = bridge_id;
  auto a = im.calls.find(call_id);
  auto b = im.calls.find(new_id);
  Status added = a == im.calls.end() ? Status(caller_gone)
                 : b == im.calls.end()
                     ? Status(Error(ErrorCode::wrong_state, "The transfer target hung up"))
                     : ok_status();
  if (added) {
    std::vector<std::string> legs{a->second->rec->channel_id, b->second->rec->channel_id};
    auto r = co_await im.ari.add_channels(bridge_id, legs);
    if (!r.ok()) added = from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  }
  // Either leg may have ended while the bridge was being set up.
  if (added && !im.calls.count(call_id)) added = Status(caller_gone);
  if (added && !im.calls.count(new_id))
    added = Status(Error(ErrorCode::wrong_state, "The transfer target hung up"));
  if (!added) {
    im.unlink_transfer(link);
    if (im.bridges.count(bridge_id)) im.spawn_destroy_bridge(bridge_id);
    co_await hangup_leg(new_id);
    co_return added.error();
  }
  link->bridged = true;
  log::info("call {} transferred to {} (new call {}) in bridge {}", call_id, req.endpoint, new_id,
            bridge_id);
  co_return TransferResult{bridge_id, new_id};
}

}  // namespace aa::calls
