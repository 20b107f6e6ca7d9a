// Reading a request's JSON body and its fields, each failure a 400 naming the field.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "server/http_error.h"
#include "server/http_server.h"

namespace qs::server {

// The body as a JSON object; 400 with the parser's position when it is not JSON or not an object.
nlohmann::json parse_json_body(const HttpRequest &request);

// A required field of an object; 400 naming `name` when missing or of the wrong type.
template <typename T>
T required_field(const nlohmann::json &object, const std::string &name) {
  if (!object.contains(name)) throw bad_request("missing field '" + name + "'", name);
  try {
    return object.at(name).get<T>();
  } catch (const nlohmann::json::exception &) {
    throw bad_request("field '" + name + "' has the wrong type", name);
  }
}

// An optional field: `fallback` when missing or null.
template <typename T>
T optional_field(const nlohmann::json &object, const std::string &name, T fallback) {
  if (!object.contains(name) || object.at(name).is_null()) return fallback;
  return required_field<T>(object, name);
}

// A query parameter that must be a non-negative integer; `fallback` when absent.
int64_t query_integer(const HttpRequest &request, const std::string &name, int64_t fallback);

// The {id} of a /api/jobs/{id}/... route; 404 when it is not a number.
int64_t job_id_param(const HttpRequest &request);

}  // namespace qs::server
