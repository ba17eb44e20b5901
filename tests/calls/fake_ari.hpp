#pragma once
// A scriptable in-memory AriApi for domain unit tests: records every request,
// answers success by default, and lets a test fail any operation.
#include <map>
#include <string>
#include <vector>

#include "ari/client.hpp"

namespace aa::test {

class FakeAri : public ari::AriApi {
 public:
  struct Call {
    std::string op;
    std::string target;  // channel/bridge/recording id
    std::string detail;  // media, dtmf, endpoint...
  };
  std::vector<Call> calls;
  std::map<std::string, ari::AriError> fail;  // op -> error to return
  std::vector<ari::Channel> channels;          // what list_channels returns
  std::vector<ari::Bridge> bridges;            // what list_bridges returns
  std::vector<std::string> unknown_endpoints;  // resources get_endpoint 404s
  std::map<std::string, std::string> variables;  // "<channel>/<name>" → value (set_variable too)

  size_t count(std::string_view op) const {
    size_t n = 0;
    for (auto& c : calls) n += c.op == op;
    return n;
  }
  const Call* last(std::string_view op) const {
    for (auto it = calls.rbegin(); it != calls.rend(); ++it)
      if (it->op == op) return &*it;
    return nullptr;
  }

  template <typename T>
  ari::Result<T> answer(std::string op, std::string target, std::string detail, T value) {
    calls.push_back({op, std::move(target), std::move(detail)});
    if (auto it = fail.find(op); it != fail.end()) return ari::Result<T>::fail(it->second);
    ari::Result<T> r;
    r.value = std::move(value);
    return r;
  }
  ari::Status ok(std::string op, std::string target, std::string detail = {}) {
    return answer<ari::Unit>(std::move(op), std::move(target), std::move(detail), ari::Unit{});
  }

  std::vector<std::pair<std::string, std::string>> last_originate_variables;
  awaitable<ari::Result<ari::Channel>> originate(const ari::OriginateParams& p) override {
    ari::Channel ch;
    ch.id = p.channel_id;
    ch.state = "Down";
    last_originate_variables = p.variables;
    co_return answer("originate", p.channel_id, p.endpoint, ch);
  }
  awaitable<ari::Result<ari::Channel>> get_channel(std::string_view id) override {
    ari::Channel ch;
    ch.id = std::string(id);
    co_return answer("get_channel", std::string(id), "", ch);
  }
  awaitable<ari::Result<std::vector<ari::Channel>>> list_channels() override {
    co_return answer("list_channels", "", "", channels);
  }
  awaitable<ari::Status> hangup(std::string_view id, std::string_view reason) override {
    co_return ok("hangup", std::string(id), std::string(reason));
  }
  awaitable<ari::Status> answer(std::string_view id) override { co_return ok("answer", std::string(id)); }
  awaitable<ari::Status> ring(std::string_view id) override { co_return ok("ring", std::string(id)); }
  awaitable<ari::Result<ari::Playback>> play(std::string_view ch, const ari::PlayParams& p) override {
    ari::Playback pb;
    pb.id = p.playback_id;
    pb.media_uri = p.media.empty() ? "" : p.media[0];
    pb.state = "queued";
    co_return answer("play", std::string(ch), p.playback_id, pb);
  }
  awaitable<ari::Result<ari::LiveRecording>> record(std::string_view ch,
                                                    const ari::RecordParams& p) override {
    ari::LiveRecording r;
    r.name = p.name;
    r.format = p.format;
    co_return answer("record", std::string(ch), p.name, r);
  }
  awaitable<ari::Status> send_dtmf(std::string_view ch, const ari::DtmfParams& p) override {
    co_return ok("send_dtmf", std::string(ch), p.dtmf);
  }
  awaitable<ari::Status> continue_in_dialplan(std::string_view id, std::string_view,
                                              std::string_view, std::optional<int64_t>) override {
    co_return ok("continue", std::string(id));
  }
  awaitable<ari::Status> redirect(std::string_view id, std::string_view ep) override {
    co_return ok("redirect", std::string(id), std::string(ep));
  }
  awaitable<ari::Result<ari::Channel>> snoop(std::string_view id, const ari::SnoopParams&) override {
    co_return answer("snoop", std::string(id), "", ari::Channel{});
  }
  awaitable<ari::Result<ari::Channel>> external_media(const ari::ExternalMediaParams&) override {
    co_return answer("external_media", "", "", ari::Channel{});
  }
  awaitable<ari::Result<std::string>> get_variable(std::string_view id, std::string_view n) override {
    auto it = variables.find(std::string(id) + "/" + std::string(n));
    if (it == variables.end() && !fail.count("get_variable")) {
      calls.push_back({"get_variable", std::string(id), std::string(n)});
      co_return ari::Result<std::string>::fail(
          {ari::AriError::Kind::http, 404, "Provided variable was not found"});
    }
    co_return answer("get_variable", std::string(id), std::string(n),
                     it == variables.end() ? std::string{} : it->second);
  }
  awaitable<ari::Status> set_variable(std::string_view id, std::string_view n,
                                      std::string_view v) override {
    variables[std::string(id) + "/" + std::string(n)] = std::string(v);
    co_return ok("set_variable", std::string(id), std::string(n));
  }
  awaitable<ari::Result<ari::Bridge>> create_bridge(std::string_view type, std::string_view id,
                                                    std::string_view name) override {
    ari::Bridge b;
    b.id = std::string(id);
    b.bridge_type = std::string(type);
    b.name = std::string(name);
    co_return answer("create_bridge", std::string(id), std::string(name), b);
  }
  awaitable<ari::Result<ari::Bridge>> get_bridge(std::string_view id) override {
    ari::Bridge b;
    b.id = std::string(id);
    co_return answer("get_bridge", std::string(id), "", b);
  }
  awaitable<ari::Result<std::vector<ari::Bridge>>> list_bridges() override {
    co_return answer("list_bridges", "", "", bridges);
  }
  awaitable<ari::Status> destroy_bridge(std::string_view id) override {
    co_return ok("destroy_bridge", std::string(id));
  }
  awaitable<ari::Status> add_channels(std::string_view b, const std::vector<std::string>& ids) override {
    std::string all;
    for (auto& i : ids) all += (all.empty() ? "" : ",") + i;
    co_return ok("add_channels", std::string(b), all);
  }
  awaitable<ari::Status> remove_channels(std::string_view b,
                                         const std::vector<std::string>& ids) override {
    co_return ok("remove_channels", std::string(b), ids.empty() ? "" : ids[0]);
  }
  awaitable<ari::Result<ari::Playback>> play_bridge(std::string_view b, const ari::PlayParams& p) override {
    ari::Playback pb;
    pb.id = p.playback_id;
    co_return answer("play_bridge", std::string(b), "", pb);
  }
  awaitable<ari::Result<ari::LiveRecording>> record_bridge(std::string_view b,
                                                           const ari::RecordParams& p) override {
    ari::LiveRecording r;
    r.name = p.name;
    co_return answer("record_bridge", std::string(b), p.name, r);
  }
  awaitable<ari::Result<ari::Playback>> get_playback(std::string_view id) override {
    co_return answer("get_playback", std::string(id), "", ari::Playback{});
  }
  awaitable<ari::Status> stop_playback(std::string_view id) override {
    co_return ok("stop_playback", std::string(id));
  }
  awaitable<ari::Status> control_playback(std::string_view id, std::string_view op) override {
    co_return ok("control_playback", std::string(id), std::string(op));
  }
  awaitable<ari::Result<ari::LiveRecording>> get_live_recording(std::string_view n) override {
    co_return answer("get_live_recording", std::string(n), "", ari::LiveRecording{});
  }
  awaitable<ari::Status> stop_live_recording(std::string_view n) override {
    co_return ok("stop_live_recording", std::string(n));
  }
  awaitable<ari::Status> cancel_live_recording(std::string_view n) override {
    co_return ok("cancel_live_recording", std::string(n));
  }
  awaitable<ari::Result<std::vector<ari::StoredRecording>>> list_stored_recordings() override {
    co_return answer("list_stored_recordings", "", "", std::vector<ari::StoredRecording>{});
  }
  awaitable<ari::Result<ari::StoredRecording>> get_stored_recording(std::string_view n) override {
    co_return answer("get_stored_recording", std::string(n), "", ari::StoredRecording{std::string(n), "wav"});
  }
  awaitable<ari::Result<std::string>> download_stored_recording(std::string_view n,
                                                                const std::string&) override {
    co_return answer("download_stored_recording", std::string(n), "", std::string("audio/wav"));
  }
  awaitable<ari::Result<ari::StoredRecording>> copy_stored_recording(std::string_view n,
                                                                     std::string_view d) override {
    co_return answer("copy_stored_recording", std::string(n), std::string(d),
                     ari::StoredRecording{std::string(d), "wav"});
  }
  awaitable<ari::Status> delete_stored_recording(std::string_view n) override {
    co_return ok("delete_stored_recording", std::string(n));
  }
  awaitable<ari::Result<std::vector<ari::Endpoint>>> list_endpoints() override {
    co_return answer("list_endpoints", "", "", std::vector<ari::Endpoint>{});
  }
  awaitable<ari::Result<std::vector<ari::Endpoint>>> list_endpoints_by_tech(std::string_view t) override {
    co_return answer("list_endpoints_by_tech", std::string(t), "", std::vector<ari::Endpoint>{});
  }
  awaitable<ari::Result<ari::Endpoint>> get_endpoint(std::string_view tech,
                                                     std::string_view res) override {
    for (auto& u : unknown_endpoints)
      if (u == res) {
        calls.push_back({"get_endpoint", std::string(tech) + "/" + std::string(res), ""});
        co_return ari::Result<ari::Endpoint>::fail({ari::AriError::Kind::http, 404, "Endpoint not found"});
      }
    ari::Endpoint e;
    e.technology = std::string(tech);
    e.resource = std::string(res);
    co_return answer("get_endpoint", e.technology + "/" + e.resource, "", e);
  }
  awaitable<ari::Status> subscribe(std::string_view app, std::string_view src) override {
    co_return ok("subscribe", std::string(app), std::string(src));
  }
  awaitable<ari::Status> unsubscribe(std::string_view app, std::string_view src) override {
    co_return ok("unsubscribe", std::string(app), std::string(src));
  }
  awaitable<ari::Result<ari::AsteriskInfo>> asterisk_info() override {
    co_return answer("asterisk_info", "", "", ari::AsteriskInfo{});
  }
};

}  // namespace aa::test
