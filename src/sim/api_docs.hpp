#pragma once
// The simulator's ARI description in Swagger 1.2 form, as Asterisk serves it
// under /ari/api-docs/: a resource listing (resources.json) and one API
// declaration per resource (<resource>.json) with its operations and models.
// Third-party ARI clients (node's ari-client, Python's ari) build their whole
// API from these documents before their first request.
//
// The operations are not written here: RestApi describes each route it serves
// (Operation below, one table in rest_api.cpp) and the documents are generated
// from that table, so the listing cannot drift from what is served. The models
// (Channel, Bridge, the events...) are described here, in our own words, with
// the members the simulator writes.
//
// Format facts (from Asterisk 22's rest-api/*.json and res_ari.c): operations
// use the 1.1-style keys Asterisk uses (httpMethod, responseClass, dataType,
// errorResponses {code, reason}); basePath is "http://<Host header>/ari";
// listing paths are "/api-docs/<resource>.{format}". Asterisk labels most of
// its files swaggerVersion "1.1" but follows 1.2's model shape; we say "1.2"
// (node's swagger-client logs a deprecation line on every load for "1.1").
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace aa::sim::apidocs {

/// Where a parameter travels.
enum class In { path, query, body };

/// One request parameter, as documented.
struct Param {
  std::string_view name = {};
  In in = In::query;
  /// Swagger data type: string, int, long, boolean, containers (a JSON object
  /// body), or a model name.
  std::string_view type = "string";
  bool required = false;
  bool multiple = false;                // comma-separated list (allowMultiple)
  std::string_view values = {};         // allowed values, '|'-separated; empty: any
  std::string_view default_value = {};  // as text; empty: none
  std::string_view description = {};

  // Modified copies, for one-line parameter lists: query(...).req().multi().
  Param req() const {
    Param p = *this;
    p.required = true;
    return p;
  }
  Param multi() const {
    Param p = *this;
    p.multiple = true;
    return p;
  }
  Param one_of(std::string_view v) const {
    Param p = *this;
    p.values = v;
    return p;
  }
  Param def(std::string_view v) const {
    Param p = *this;
    p.default_value = v;
    return p;
  }
};

/// A path parameter (always required).
Param path(std::string_view name, std::string_view description);
/// A query parameter of `type`.
Param query(std::string_view name, std::string_view type, std::string_view description);
/// A JSON object body member (Asterisk's "containers", e.g. `variables`).
Param body(std::string_view name, std::string_view description);

/// One operation: an HTTP method on a path template of one resource.
struct Operation {
  std::string_view resource = {};  // "channels": the declaration it belongs to
  std::string_view method = {};    // "GET", "POST", "PUT", "DELETE"
  std::string_view path = {};      // "/channels/{channelId}/play" (under /ari)
  std::string_view nickname = {};  // Asterisk's operation name ("play"): clients call it by name
  std::string_view summary = {};
  std::string_view response = {};  // a model, "List[<model>]", "binary" or "void"
  std::vector<Param> params = {};
  std::vector<std::pair<int, std::string_view>> errors = {};  // status, meaning
  bool websocket = false;  // the events socket: upgrade websocket, protocol "ari"
};

/// The resources, in listing order, each with a one-line description.
struct Resource {
  std::string_view name = {};
  std::string_view description = {};
};
const std::vector<Resource>& resources();

/// resources.json: every resource that has at least one operation in `ops`.
std::string resource_listing(std::string_view base_path, const std::vector<const Operation*>& ops);
/// "<resource>.json": its operations (grouped by path, in `ops` order) and the
/// models it owns. nullopt for a resource with no operation in `ops`.
std::optional<std::string> api_declaration(std::string_view resource, std::string_view base_path,
                                           const std::vector<const Operation*>& ops);

/// Whether the events declaration has a model for event `type`. An event type
/// without a model makes node's ari-client throw on receipt (it looks the
/// model up to wrap channels, bridges... in objects), so Engine::emit checks.
bool has_event_model(std::string_view type);

}  // namespace aa::sim::apidocs
