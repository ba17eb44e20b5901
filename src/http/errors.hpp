#pragma once
/// The one place where our error codes become HTTP statuses, and where an
/// `aa::Error` becomes a response: the client gets the public message (and
/// per-field details), the log gets the internal detail.
#include <string_view>

#include "common/error.hpp"
#include "net/http_types.hpp"

namespace aa::http {

/// HTTP status for `c` (400, 401, 404, 405, 408, 409, 413, 415, 500, 502, 503, 504).
int http_status(ErrorCode c);

/// JSON error response for `e` (api::error_body). Logs `internal_detail` (never sent).
net::Response to_response(const Error& e);

/// A 400 validation error whose details are the given "field: problem" lines.
Error validation_error(std::vector<std::string> details);

/// JSON error body for protocol-level failures the server detects itself
/// (malformed request, body too large, read timeout...), keyed by status.
net::Response protocol_error(int status, std::string_view message);

}  // namespace aa::http
