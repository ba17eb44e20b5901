// Transfer: originate a new leg, wait for it to answer, bridge both legs.
#include "calls/call_manager_impl.hpp"
#include "common/log.hpp"

namespace aa::calls {

using detail::Clock;
using detail::Signal;

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

  auto hangup_leg = [&im](std::string id) -> awaitable<void> {
    auto it = im.calls.find(id);
    if (it == im.calls.end()) co_return;
    it->second->hangup_requested = true;
    std::string ch = it->second->rec->channel_id;
    co_await im.ari.hangup(ch, "normal");
  };

  // Wait until the new leg is in Stasis (answered), ends, or time runs out.
  for (;;) {
    auto nl = im.calls.find(new_id);
    if (nl == im.calls.end()) {
      auto ended = im.ended_by_id.find(new_id);
      std::string cause = ended != im.ended_by_id.end() ? ended->second->hangup_cause : "failed";
      if (cause == "no_answer")
        co_return Error(ErrorCode::transfer_timeout, "Transfer target did not answer in time");
      co_return Error(ErrorCode::wrong_state, "Transfer target did not answer (" + cause + ")");
    }
    if (!im.calls.count(call_id)) {
      co_await hangup_leg(new_id);
      co_return Error(ErrorCode::wrong_state, "Call ended during the transfer");
    }
    if (nl->second->in_stasis && nl->second->answered) break;
    auto sig = std::make_shared<Signal>(im.ex);
    nl->second->watchers.push_back(sig);
    if (!co_await sig->wait(deadline)) {
      co_await hangup_leg(new_id);
      co_return Error(ErrorCode::transfer_timeout, "Transfer target did not answer in time");
    }
  }

  std::string bridge_name = "transfer-" + call_id;
  auto bridge = co_await create_bridge(bridge_name);
  if (!bridge) {
    co_await hangup_leg(new_id);
    co_return bridge.error();
  }
  std::string bridge_id = bridge->id;
  auto a = im.calls.find(call_id);
  auto b = im.calls.find(new_id);
  Status added = (a == im.calls.end() || b == im.calls.end())
                     ? Status(Error(ErrorCode::wrong_state, "A leg ended during the transfer"))
                     : ok_status();
  if (added) {
    std::vector<std::string> legs{a->second->rec->channel_id, b->second->rec->channel_id};
    auto r = co_await im.ari.add_channels(bridge_id, legs);
    if (!r.ok()) added = from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  }
  if (!added) {
    co_await destroy_bridge(bridge_id);
    co_await hangup_leg(new_id);
    co_return added.error();
  }
  log::info("call {} transferred to {} (new call {}) in bridge {}", call_id, req.endpoint, new_id,
            bridge_id);
  co_return TransferResult{bridge_id, new_id};
}
}  // namespace aa::calls
