// Mixing bridges: create/list/destroy and channels entering and leaving.
#include <algorithm>

#include "common/util.hpp"
#include "sim/engine.hpp"
#include "sim/reply.hpp"

namespace aa::sim {

Reply Engine::create_bridge(const std::string& type, std::string id, const std::string& name) {
  static const std::vector<std::string> allowed = {
      "mixing", "holding", "dtmf_events", "proxy_media", "video_sfu", "video_single", "sdp_label"};
  std::string bridge_type = "mixing";
  bool holding = false;
  if (!type.empty()) {
    size_t start = 0;
    while (start <= type.size()) {
      size_t end = type.find(',', start);
      if (end == std::string::npos) end = type.size();
      const std::string part = type.substr(start, end - start);
      if (std::find(allowed.begin(), allowed.end(), part) == allowed.end())
        return error_reply(500, "Unable to create bridge. Possible duplicate bridge id '(null)'");
      if (part == "holding") holding = true;
      start = end + 1;
    }
  }
  if (holding) bridge_type = "holding";
  if (!id.empty() && bridges_.count(id))
    return error_reply(500, "Unable to create bridge. Possible duplicate bridge id '" + id + "'");
  if (id.empty()) id = uuid_v4();
  auto b = std::make_unique<SimBridge>();
  b->info.id = id;
  b->info.technology = holding ? "holding_bridge" : "simple_bridge";
  b->info.bridge_type = bridge_type;
  b->info.bridge_class = "stasis";
  b->info.creator = "Stasis";
  b->info.name = name;
  b->info.creationtime = now_ts();
  b->info.video_mode = "talker";
  Reply reply = model_reply(200, b->info);
  bridges_[id] = std::move(b);
  return reply;
}

Reply Engine::list_bridges() const {
  return array_reply(bridges_,
                     [](json::Writer& w, const auto& kv) { ari::write_json(w, kv.second->info); });
}

Reply Engine::get_bridge(const std::string& id) const {
  auto it = bridges_.find(id);
  if (it == bridges_.end()) return error_reply(404, "Bridge not found");
  return model_reply(200, it->second->info);
}

void Engine::remove_from_bridge(SimChannel& ch, bool emit_event) {
  auto it = bridges_.find(ch.bridge_id);
  ch.bridge_id.clear();
  if (it == bridges_.end()) return;
  auto& chans = it->second->info.channels;
  chans.erase(std::remove(chans.begin(), chans.end(), ch.info.id), chans.end());
  if (!emit_event) return;
  const ari::Bridge bm = it->second->info;
  const ari::Channel cm = channel_model(ch, true);
  emit("ChannelLeftBridge", {ch.info.id}, {bm.id}, [&](json::Writer& w) {
    w.key("bridge");
    ari::write_json(w, bm);
    w.key("channel");
    ari::write_json(w, cm);
  });
}

Reply Engine::bridge_add(const std::string& id, const std::vector<std::string>& channels) {
  auto it = bridges_.find(id);
  if (it == bridges_.end()) return error_reply(404, "Bridge not found");
  if (channels.empty()) return error_reply(400, "Missing parameter channel");
  for (const auto& cid : channels) {
    const SimChannel* ch = find_channel(cid);
    if (!ch) return error_reply(400, "Channel not found");
    if (ch->stasis_app.empty()) return error_reply(422, "Channel not in Stasis application");
  }
  for (const auto& cid : channels) {
    SimChannel& ch = *find_channel(cid);
    if (ch.bridge_id == id) continue;
    if (!ch.bridge_id.empty()) remove_from_bridge(ch, true);
    ch.bridge_id = id;
    auto& b = *bridges_[id];
    b.info.channels.push_back(cid);
    const ari::Bridge bm = b.info;
    const ari::Channel cm = channel_model(ch, true);
    emit("ChannelEnteredBridge", {cid}, {id}, [&](json::Writer& w) {
      w.key("bridge");
      ari::write_json(w, bm);
      w.key("channel");
      ari::write_json(w, cm);
    });
  }
  return no_content();
}

Reply Engine::bridge_remove(const std::string& id, const std::vector<std::string>& channels) {
  auto it = bridges_.find(id);
  if (it == bridges_.end()) return error_reply(404, "Bridge not found");
  if (channels.empty()) return error_reply(400, "Missing parameter channel");
  for (const auto& cid : channels) {
    const SimChannel* ch = find_channel(cid);
    if (!ch) return error_reply(400, "Channel not found");
    if (ch->bridge_id != id) return error_reply(422, "Channel not in this bridge");
  }
  for (const auto& cid : channels) remove_from_bridge(*find_channel(cid), true);
  return no_content();
}

Reply Engine::destroy_bridge(const std::string& id) {
  auto it = bridges_.find(id);
  if (it == bridges_.end()) return error_reply(404, "Bridge not found");
  // BridgeDestroyed goes to apps subscribed to the bridge, and to apps whose
  // channels were still in it (two-leg-bridge trace), not to anyone else.
  std::set<std::string> recipients;
  for (const auto& [name, a] : apps_) {
    if (a->bridges.count(id)) recipients.insert(name);
    for (const auto& cid : it->second->info.channels)
      if (a->channels.count(cid)) recipients.insert(name);
  }
  end_bridge_media(*it->second);
  const auto members = it->second->info.channels;
  for (const auto& cid : members)
    if (SimChannel* ch = find_channel(cid)) remove_from_bridge(*ch, true);
  const ari::Bridge bm = bridges_[id]->info;
  emit(
      "BridgeDestroyed", {}, {id},
      [&](json::Writer& w) {
        w.key("bridge");
        ari::write_json(w, bm);
      },
      &recipients);
  bridges_.erase(id);
  for (auto& [_, a] : apps_) a->bridges.erase(id);
  drop_idle_apps();
  return no_content();
}

}  // namespace aa::sim
