#pragma once
/// The OpenAPI 3.1 document of the HTTP API: src/http/openapi.json, embedded at
/// build time by cmake/embed.cmake and served at `GET /openapi.json`.
/// tests/http/openapi_test.cpp keeps it in step with the routes and the responses.
#include <string_view>

namespace aa::http {

/// The document, as the JSON text of src/http/openapi.json.
std::string_view openapi_json();

}  // namespace aa::http
