#pragma once
#include <spdlog/spdlog.h>

#include <string_view>

namespace aa::log {

using spdlog::debug;
using spdlog::error;
using spdlog::info;
using spdlog::trace;
using spdlog::warn;

/// Configure the default logger. `level`: trace|debug|info|warn|error|off.
/// `format`: text|json (one JSON object per line). Returns false on a bad value.
bool configure(std::string_view level, std::string_view format);

}  // namespace aa::log
