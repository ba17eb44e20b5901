#include "media/chan_websocket.hpp"

#include <charconv>

#include "common/json.hpp"

namespace aa::media::cws {

namespace {

struct Name {
  std::string_view text;
  EventType type;
};
constexpr Name kEvents[] = {
    {"MEDIA_START", EventType::media_start},
    {"MEDIA_XOFF", EventType::media_xoff},
    {"MEDIA_XON", EventType::media_xon},
    {"QUEUE_DRAINED", EventType::queue_drained},
    {"MEDIA_BUFFERING_COMPLETED", EventType::media_buffering_completed},
    {"MEDIA_MARK_PROCESSED", EventType::media_mark_processed},
    {"DTMF_END", EventType::dtmf_end},
    {"STATUS", EventType::status},
    {"ERROR", EventType::error},
};

struct CommandName {
  std::string_view text;
  CommandType type;
};
constexpr CommandName kCommands[] = {
    {"ANSWER", CommandType::answer},
    {"HANGUP", CommandType::hangup},
    {"START_MEDIA_BUFFERING", CommandType::start_media_buffering},
    {"STOP_MEDIA_BUFFERING", CommandType::stop_media_buffering},
    {"MARK_MEDIA", CommandType::mark_media},
    {"FLUSH_MEDIA", CommandType::flush_media},
    {"REPORT_QUEUE_DRAINED", CommandType::report_queue_drained},
    {"GET_STATUS", CommandType::get_status},
    {"PAUSE_MEDIA", CommandType::pause_media},
    {"CONTINUE_MEDIA", CommandType::continue_media},
    {"SET_MEDIA_DIRECTION", CommandType::set_media_direction},
};

EventType event_type_of(std::string_view name) {
  for (const auto& n : kEvents)
    if (n.text == name) return n.type;
  return EventType::unknown;
}

CommandType command_type_of(std::string_view name) {
  for (const auto& n : kCommands)
    if (n.text == name) return n.type;
  return CommandType::unknown;
}

int to_int(std::string_view s) {
  int v = 0;
  std::from_chars(s.data(), s.data() + s.size(), v);
  return v;
}

void set_field(Event& e, std::string_view key, std::string_view value) {
  if (key == "connection_id")
    e.connection_id = value;
  else if (key == "channel")
    e.channel = value;
  else if (key == "channel_id")
    e.channel_id = value;
  else if (key == "format")
    e.format = value;
  else if (key == "optimal_frame_size")
    e.optimal_frame_size = to_int(value);
  else if (key == "ptime")
    e.ptime = to_int(value);
  else if (key == "digit")
    e.digit = value;
  else if (key == "queue_length")
    e.queue_length = to_int(value);
  else if (key == "xon_level")
    e.xon_level = to_int(value);
  else if (key == "xoff_level")
    e.xoff_level = to_int(value);
  else if (key == "queue_full")
    e.queue_full = value == "true";
  else if (key == "bulk_media")
    e.bulk_media = value == "true";
  else if (key == "media_paused")
    e.media_paused = value == "true";
  else if (key == "correlation_id")
    e.correlation_id = value;
}

std::optional<Event> parse_plain(std::string_view text) {
  Event e;
  e.form = Form::plain;
  size_t pos = text.find(' ');
  e.name = std::string(text.substr(0, pos));
  e.type = event_type_of(e.name);
  while (pos != std::string_view::npos) {
    const size_t start = pos + 1;
    // error_text runs to the end of the message (it contains spaces).
    if (text.substr(start).starts_with("error_text:")) {
      e.error_text = std::string(text.substr(start + 11));
      break;
    }
    pos = text.find(' ', start);
    const std::string_view tok =
        text.substr(start, pos == std::string_view::npos ? pos : pos - start);
    if (tok.empty()) continue;
    const size_t colon = tok.find(':');
    if (colon == std::string_view::npos) {
      e.correlation_id = std::string(tok);  // MEDIA_MARK_PROCESSED m1
    } else {
      set_field(e, tok.substr(0, colon), tok.substr(colon + 1));
    }
  }
  return e;
}

std::optional<Event> parse_json(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc || !doc->IsObject()) return std::nullopt;
  Event e;
  e.form = Form::json;
  e.name = std::string(json::get_string(*doc, "event"));
  if (e.name.empty()) return std::nullopt;
  e.type = event_type_of(e.name);
  for (const auto& m : doc->GetObject()) {
    const std::string_view key = json::as_view(m.name);
    if (m.value.IsString()) {
      if (key == "error_text") {
        e.error_text = std::string(json::as_view(m.value));
      } else {
        set_field(e, key, json::as_view(m.value));
      }
    } else if (m.value.IsInt()) {
      set_field(e, key, std::to_string(m.value.GetInt()));
    } else if (m.value.IsBool()) {
      set_field(e, key, m.value.GetBool() ? "true" : "false");
    } else if (m.value.IsObject() && key == "channel_variables") {
      for (const auto& v : m.value.GetObject())
        e.channel_variables.emplace_back(std::string(json::as_view(v.name)),
                                         std::string(json::as_view(v.value)));
    }
  }
  return e;
}

}  // namespace

std::string_view event_name(EventType t) {
  for (const auto& n : kEvents)
    if (n.type == t) return n.text;
  return "UNKNOWN";
}

std::string_view command_name(CommandType t) {
  for (const auto& n : kCommands)
    if (n.type == t) return n.text;
  return "UNKNOWN";
}

std::optional<Event> parse_event(std::string_view text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '{') return parse_json(text);
  return parse_plain(text);
}

std::string format_event(const Event& e, Form form) {
  const std::string_view name =
      e.type == EventType::unknown ? std::string_view(e.name) : event_name(e.type);
  if (form == Form::json) {
    json::Writer w;
    w.begin_object().field("event", name);
    switch (e.type) {
      case EventType::media_start:
        w.field("connection_id", e.connection_id)
            .field("channel", e.channel)
            .field("channel_id", e.channel_id)
            .field("format", e.format)
            .field_int("optimal_frame_size", e.optimal_frame_size)
            .field_int("ptime", e.ptime);
        w.key("channel_variables").begin_object();
        for (const auto& [k, v] : e.channel_variables) w.field(k, v);
        w.end_object();
        break;
      case EventType::media_buffering_completed:
      case EventType::media_mark_processed:
        w.field("channel_id", e.channel_id).field("correlation_id", e.correlation_id);
        break;
      case EventType::dtmf_end:
        w.field("channel_id", e.channel_id).field("digit", e.digit);
        break;
      case EventType::status:
        w.field("channel_id", e.channel_id)
            .field_int("queue_length", e.queue_length)
            .field_int("xon_level", e.xon_level)
            .field_int("xoff_level", e.xoff_level)
            .field_bool("queue_full", e.queue_full)
            .field_bool("bulk_media", e.bulk_media)
            .field_bool("media_paused", e.media_paused);
        break;
      case EventType::error:
        w.field("channel_id", e.channel_id).field("error_text", e.error_text);
        break;
      default:
        w.field("channel_id", e.channel_id);
        break;
    }
    w.end_object();
    return w.str();
  }
  std::string out(name);
  auto kv = [&out](std::string_view k, std::string_view v) {
    out += ' ';
    out += k;
    out += ':';
    out += v;
  };
  auto b = [](bool v) { return v ? "true" : "false"; };
  switch (e.type) {
    case EventType::media_start:
      kv("connection_id", e.connection_id);
      kv("channel", e.channel);
      kv("channel_id", e.channel_id);
      kv("format", e.format);
      kv("optimal_frame_size", std::to_string(e.optimal_frame_size));
      kv("ptime", std::to_string(e.ptime));
      break;
    case EventType::media_buffering_completed:
    case EventType::media_mark_processed:
      if (!e.correlation_id.empty()) out += ' ' + e.correlation_id;
      break;
    case EventType::dtmf_end:
      kv("digit", e.digit);
      kv("channel_id", e.channel_id);
      break;
    case EventType::status:
      kv("channel_id", e.channel_id);
      kv("queue_length", std::to_string(e.queue_length));
      kv("xon_level", std::to_string(e.xon_level));
      kv("xoff_level", std::to_string(e.xoff_level));
      kv("queue_full", b(e.queue_full));
      kv("bulk_media", b(e.bulk_media));
      kv("media_paused", b(e.media_paused));
      break;
    case EventType::error:
      kv("channel_id", e.channel_id);
      kv("error_text", e.error_text);
      break;
    default:
      break;  // MEDIA_XOFF, MEDIA_XON, QUEUE_DRAINED: the name alone
  }
  return out;
}

std::string format_command(CommandType t, Form form, std::string_view correlation_id) {
  const std::string_view name = command_name(t);
  const bool with_id = !correlation_id.empty() &&
                       (t == CommandType::mark_media || t == CommandType::stop_media_buffering);
  if (form == Form::json) {
    json::Writer w;
    w.begin_object().field("command", name);
    if (with_id) w.field("correlation_id", correlation_id);
    w.end_object();
    return w.str();
  }
  std::string out(name);
  if (with_id) {
    out += ' ';
    out += correlation_id;
  }
  return out;
}

std::optional<Command> parse_command(std::string_view text, Form expected) {
  Command c;
  c.form = expected;
  if (expected == Form::json) {
    auto doc = json::parse(text);
    if (!doc || !doc->IsObject()) return std::nullopt;
    const json::Value* cmd = json::find(*doc, "command");
    if (!cmd || !cmd->IsString()) return std::nullopt;
    c.name = std::string(json::as_view(*cmd));
    c.correlation_id = std::string(json::get_string(*doc, "correlation_id"));
    c.direction = std::string(json::get_string(*doc, "direction"));
  } else {
    const size_t sp = text.find(' ');
    c.name = std::string(text.substr(0, sp));
    if (sp != std::string_view::npos) {
      std::string_view rest = text.substr(sp + 1);
      while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r' || rest.back() == ' '))
        rest.remove_suffix(1);
      c.correlation_id = std::string(rest);
    }
  }
  c.type = command_type_of(c.name);
  return c;
}

bool supports_chan_websocket(std::string_view version, std::string* why) {
  std::string_view v = version;
  if (v.starts_with("certified-")) v.remove_prefix(10);
  auto number = [&v](int& out) {
    size_t n = 0;
    out = 0;
    while (n < v.size() && n < 6 && v[n] >= '0' && v[n] <= '9') out = out * 10 + (v[n++] - '0');
    v.remove_prefix(n);
    return n > 0;
  };
  int major = 0, minor = 0;
  if (!number(major)) return true;  // GIT-master-…, SVN-…: a development build
  if (!v.empty() && v.front() == '.') {
    v.remove_prefix(1);
    number(minor);
  }
  bool ok = major >= 23 || (major == 22 && minor >= 6) || (major == 21 && minor >= 11) ||
            (major == 20 && minor >= 16);
  if (!ok && why)
    *why =
        "Voice needs ARI ExternalMedia over chan_websocket: Asterisk 22.6, 21.11, 20.16 or "
        "later (this one is " +
        std::string(version) + ")";
  return ok;
}

}  // namespace aa::media::cws
