#include "stream/twilio.hpp"

#include "common/json.hpp"
#include "common/util.hpp"

namespace aa::stream {

std::string_view to_string(Format f) {
  return f == Format::slin16 ? "slin16" : "mulaw8k";
}
std::string_view to_string(Tracks t) {
  return t == Tracks::both ? "both" : "inbound";
}
std::optional<Format> parse_format(std::string_view s) {
  if (s == "mulaw8k") return Format::mulaw8k;
  if (s == "slin16") return Format::slin16;
  return std::nullopt;
}
std::optional<Tracks> parse_tracks(std::string_view s) {
  if (s == "inbound") return Tracks::inbound;
  if (s == "both") return Tracks::both;
  return std::nullopt;
}
std::string_view encoding(Format f) {
  return f == Format::slin16 ? "audio/l16;rate=16000" : "audio/x-mulaw";
}
uint32_t sample_rate(Format f) {
  return f == Format::slin16 ? 16000 : 8000;
}
size_t chunk_bytes(Format f) {
  return f == Format::slin16 ? 640 : 160;
}

namespace twilio {

namespace {
std::string seq_str(uint64_t seq) {
  return std::to_string(seq);
}
}  // namespace

std::string connected() {
  json::Writer w;
  w.begin_object().field("event", "connected").field("protocol", "Call").field("version", "1.0.0");
  w.end_object();
  return w.str();
}

std::string start(uint64_t seq, const StartInfo& s) {
  json::Writer w;
  w.begin_object().field("event", "start").field("sequenceNumber", seq_str(seq));
  w.key("start").begin_object();
  w.field("accountSid", s.account_sid)
      .field("streamSid", s.stream_sid)
      .field("callSid", s.call_sid);
  w.key("tracks").begin_array().string("inbound");
  if (s.tracks == Tracks::both) w.string("outbound");
  w.end_array();
  w.key("customParameters").begin_object();
  for (const auto& [k, v] : s.custom_parameters) w.field(k, v);
  w.end_object();
  w.key("mediaFormat").begin_object();
  w.field("encoding", encoding(s.format))
      .field_int("sampleRate", sample_rate(s.format))
      .field_int("channels", 1);
  w.end_object();
  w.end_object();
  w.field("streamSid", s.stream_sid);
  w.end_object();
  return w.str();
}

std::string media(uint64_t seq, std::string_view stream_sid, std::string_view track, uint64_t chunk,
                  uint64_t timestamp_ms, std::string_view payload_b64) {
  json::Writer w;
  w.begin_object().field("event", "media").field("sequenceNumber", seq_str(seq));
  w.key("media").begin_object();
  w.field("track", track)
      .field("chunk", std::to_string(chunk))
      .field("timestamp", std::to_string(timestamp_ms))
      .field("payload", payload_b64);
  w.end_object();
  w.field("streamSid", stream_sid);
  w.end_object();
  return w.str();
}

std::string dtmf(uint64_t seq, std::string_view stream_sid, std::string_view digit) {
  json::Writer w;
  w.begin_object().field("event", "dtmf").field("streamSid", stream_sid);
  w.field("sequenceNumber", seq_str(seq));
  w.key("dtmf").begin_object().field("track", "inbound_track").field("digit", digit).end_object();
  w.end_object();
  return w.str();
}

std::string mark(uint64_t seq, std::string_view stream_sid, std::string_view name) {
  json::Writer w;
  w.begin_object().field("event", "mark").field("sequenceNumber", seq_str(seq));
  w.field("streamSid", stream_sid);
  w.key("mark").begin_object().field("name", name).end_object();
  w.end_object();
  return w.str();
}

std::string stop(uint64_t seq, std::string_view stream_sid, std::string_view call_sid,
                 std::string_view account_sid) {
  json::Writer w;
  w.begin_object().field("event", "stop").field("sequenceNumber", seq_str(seq));
  w.field("streamSid", stream_sid);
  w.key("stop").begin_object().field("accountSid", account_sid).field("callSid", call_sid);
  w.end_object();
  w.end_object();
  return w.str();
}

std::pair<std::optional<Inbound>, Refusal> parse(std::string_view text, std::string_view stream_sid,
                                                 Format format) {
  auto refuse = [](uint16_t code, std::string why) {
    return std::pair<std::optional<Inbound>, Refusal>{std::nullopt, Refusal{code, std::move(why)}};
  };
  bool bad_utf8 = false;
  std::string err;
  auto doc = json::parse_utf8(text, &err, &bad_utf8);
  if (!doc) return refuse(1007, bad_utf8 ? "message is not valid UTF-8" : "message is not JSON");
  if (!doc->IsObject()) return refuse(1007, "message is not a JSON object");
  const json::Value* ev = json::find(*doc, "event");
  if (!ev || !ev->IsString()) return refuse(1008, "message has no \"event\"");
  const std::string_view event = json::as_view(*ev);
  if (const json::Value* sid = json::find(*doc, "streamSid")) {
    if (!sid->IsString()) return refuse(1008, "\"streamSid\" must be a string");
    if (json::as_view(*sid) != stream_sid)
      return refuse(1008, "\"streamSid\" names another stream");
  }
  Inbound in;
  if (event == "media") {
    const json::Value* m = json::find(*doc, "media");
    const json::Value* p = m ? json::find(*m, "payload") : nullptr;
    if (!p || !p->IsString()) return refuse(1008, "media message has no media.payload string");
    if (!base64_decode(json::as_view(*p), in.audio))
      return refuse(1007, "media.payload is not base64");
    if (format == Format::slin16 && in.audio.size() % 2 != 0)
      return refuse(1007, "media.payload is not whole 16-bit samples");
    in.kind = Inbound::Kind::media;
    return {std::move(in), {}};
  }
  if (event == "mark") {
    const json::Value* m = json::find(*doc, "mark");
    const json::Value* n = m ? json::find(*m, "name") : nullptr;
    if (!n || !n->IsString()) return refuse(1008, "mark message has no mark.name string");
    if (n->GetStringLength() > kMaxMarkName)
      return refuse(1008, "mark.name is longer than 256 bytes");
    in.kind = Inbound::Kind::mark;
    in.name = std::string(json::as_view(*n));
    return {std::move(in), {}};
  }
  if (event == "clear") {
    in.kind = Inbound::Kind::clear;
    return {std::move(in), {}};
  }
  if (event == "hangup") {
    in.kind = Inbound::Kind::hangup;
    return {std::move(in), {}};
  }
  if (event == "connected" || event == "start" || event == "stop" || event == "dtmf")
    return {std::move(in), {}};  // ignored
  return refuse(1008, "unknown event \"" + std::string(event.substr(0, 64)) + "\"");
}

}  // namespace twilio
}  // namespace aa::stream
