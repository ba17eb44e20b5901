// Bridges: the ones we create (tracked, with bridge.created/destroyed events),
// pass-through listing and control, and calls entering and leaving bridges.
#include <algorithm>

#include "calls/call_manager_impl.hpp"
#include "common/log.hpp"
#include "common/util.hpp"

namespace aa::calls {

void CallManager::Impl::on_bridge_membership(const ari::Event& e) {
  if (!e.bridge) return;
  bool entered = e.type == ari::EventType::ChannelEnteredBridge;
  auto bt = bridges.find(e.bridge->id);
  if (bt != bridges.end()) bt->second.channel_ids = e.bridge->channels;
  if (!e.channel) return;
  auto c = by_channel(e.channel->id);
  if (!c) return;
  if (e.bridge->id.starts_with(kVoiceBridgePrefix)) {
    // The voice module's private bridge: the call is not "bridged" in it.
    if (entered) {
      c->voice_bridge = e.bridge->id;
    } else if (c->voice_bridge == e.bridge->id) {
      c->voice_bridge.clear();
    }
    return;
  }
  if (entered) {
    c->rec->bridge_id = e.bridge->id;
  } else if (c->rec->bridge_id == e.bridge->id) {
    c->rec->bridge_id.clear();
  }
  update_state(*c);
}

void CallManager::Impl::bridge_gone(const std::string& id) {
  bool tracked = bridges.erase(id) > 0;
  dissolve_transfer_links_of_bridge(id);
  for (auto& [_, c] : calls) {
    if (c->rec->bridge_id == id) {
      c->rec->bridge_id.clear();
      update_state(*c);
    }
  }
  if (tracked && destroyed_bridges.insert(id).second) {
    auto ev = make_event(EventKind::bridge_destroyed, nullptr);
    ev.bridge_id = id;
    emit(std::move(ev));
  }
  if (destroyed_bridges.size() > 10000) destroyed_bridges.clear();
}

// ---------------------------------------------------------------------------

awaitable<Outcome<BridgeRecord>> CallManager::create_bridge(std::string name) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  std::string id = uuid_v4();
  auto r = co_await im.ari.create_bridge("mixing", id, name);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  // Asterisk sends BridgeDestroyed only to apps subscribed to the bridge.
  std::string source = "bridge:" + id;
  auto sub = co_await im.ari.subscribe(im.opts.app, source);
  if (!sub.ok()) log::warn("subscribing to {} failed: {}", source, sub.error.message);
  BridgeRecord rec;
  rec.id = id;
  rec.name = name;
  rec.type = r->bridge_type.empty() ? "mixing" : r->bridge_type;
  rec.channel_ids = r->channels;
  rec.created_at_ms = now_epoch_ms();
  im.bridges[id] = rec;
  auto ev = im.make_event(EventKind::bridge_created, nullptr);
  ev.bridge_id = id;
  ev.bridge_name = name;
  ev.bridge_type = rec.type;
  im.emit(std::move(ev));
  co_return rec;
}

awaitable<Outcome<BridgeListing>> CallManager::list_bridges() {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.list_bridges();
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  BridgeListing out;
  out.asterisk = std::move(*r);
  for (auto& [_, b] : im.bridges) out.tracked.push_back(b);
  std::sort(out.tracked.begin(), out.tracked.end(),
            [](const BridgeRecord& a, const BridgeRecord& b) {
              return a.created_at_ms < b.created_at_ms;
            });
  co_return out;
}

awaitable<Outcome<BridgeDetail>> CallManager::get_bridge(std::string id) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.get_bridge(id);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  BridgeDetail d;
  d.asterisk = std::move(*r);
  if (auto it = im.bridges.find(id); it != im.bridges.end()) d.tracked = it->second;
  co_return d;
}

awaitable<Status> CallManager::destroy_bridge(std::string id) {
  auto& im = *impl_;
  if (auto s = im.require_ari(); !s) co_return s.error();
  auto r = co_await im.ari.destroy_bridge(id);
  if (!r.ok()) co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  im.bridge_gone(id);
  co_return ok_status();
}

awaitable<Status> CallManager::add_to_bridge(std::string bridge_id, std::string call_id) {
  auto& im = *impl_;
  auto c = im.controllable_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  std::vector<std::string> legs{(*c)->rec->channel_id};
  auto r = co_await im.ari.add_channels(bridge_id, legs);
  if (!r.ok()) {
    if (r.error.kind == ari::AriError::Kind::http &&
        (r.error.status == 422 || r.error.status == 400))
      co_return Error(ErrorCode::wrong_state, "Call cannot join the bridge: " + r.error.message);
    co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  }
  co_return ok_status();
}

awaitable<Status> CallManager::remove_from_bridge(std::string bridge_id, std::string call_id) {
  auto& im = *impl_;
  auto c = im.active_call(call_id);
  if (!c) co_return c.error();
  if (auto s = im.require_ari(); !s) co_return s.error();
  std::vector<std::string> legs{(*c)->rec->channel_id};
  auto r = co_await im.ari.remove_channels(bridge_id, legs);
  if (!r.ok()) {
    if (r.error.kind == ari::AriError::Kind::http &&
        (r.error.status == 422 || r.error.status == 400))
      co_return Error(ErrorCode::wrong_state, "Call is not in this bridge");
    co_return from_ari(r.error, ErrorCode::bridge_not_found, "Bridge");
  }
  co_return ok_status();
}
}  // namespace aa::calls
