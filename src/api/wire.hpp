#pragma once
/// The JSON shapes of our API (API-CONTRACT.md): records, the event envelope
/// shared by WebSocket and webhooks, and error bodies. One place, so REST,
/// /events and webhooks can never drift apart.
#include <string>

#include "ari/models.hpp"
#include "calls/model.hpp"
#include "common/error.hpp"
#include "common/json.hpp"

namespace aa::api {

void write_call(json::Writer& w, const calls::CallRecord& c);
void write_bridge(json::Writer& w, const calls::BridgeRecord& b);
/// The `audioCapture` object (POST /calls/:id/audio/start, CallRecord, event).
void write_audio_capture(json::Writer& w, const calls::AudioCapture& a);

/// WebSocket message: {"type","callId","timestamp","state","seq","data":{...}}.
std::string event_envelope(const calls::DomainEvent& e);
/// Webhook event name for `e`, or "" if `e` is not sent to webhooks.
/// call.created of an inbound call is "call.inbound"; a change to answered is "call.answered".
std::string_view webhook_event_name(const calls::DomainEvent& e);
/// Webhook body: {"event","data":{CallRecord + extra},"timestamp","seq"}.
std::string webhook_body(const calls::DomainEvent& e);
/// {"type":"snapshot","calls":[...],"timestamp":"..."}.
std::string snapshot(const std::vector<calls::CallRecord>& calls);
/// {"error": message, "details": [...]?, "code": "..."}.
std::string error_body(const Error& e);

}  // namespace aa::api
