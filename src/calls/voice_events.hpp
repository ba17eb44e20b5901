#pragma once
// Publishing an event of the voice side (speak, capture, agent streams)
// through the calls domain, so /events and webhooks see one ordered stream.
#include <memory>
#include <string>

#include "calls/call_manager.hpp"
#include "calls/model.hpp"

namespace aa::calls {

inline void publish_voice(CallManager& calls, EventKind kind, std::string call_id, VoiceEvent v) {
  DomainEvent e;
  e.kind = kind;
  e.call_id = std::move(call_id);
  e.voice = std::make_shared<const VoiceEvent>(std::move(v));
  calls.publish(std::move(e));
}

}  // namespace aa::calls
