// Request bodies and parameters.
#include "server/request_json.h"

#include <charconv>

namespace qs::server {
namespace {

std::optional<int64_t> parse_integer(const std::string &text) {
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < 0) return std::nullopt;
  return value;
}

}  // namespace

nlohmann::json parse_json_body(const HttpRequest &request) {
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(request.body);
  } catch (const nlohmann::json::parse_error &e) {
    // The parser's message says where: "syntax error while parsing value - ... at line 1, column 7".
    throw bad_request(std::string("malformed JSON body: ") + e.what());
  }
  if (!body.is_object()) throw bad_request("the request body must be a JSON object");
  return body;
}

int64_t query_integer(const HttpRequest &request, const std::string &name, int64_t fallback) {
  if (!request.has_query(name)) return fallback;
  const auto value = parse_integer(request.query_param(name));
  if (!value) throw bad_request(name + ": '" + request.query_param(name) + "' is not a non-negative integer", name);
  return *value;
}

int64_t job_id_param(const HttpRequest &request) {
  const auto value = parse_integer(request.path_param("id"));
  if (!value) throw not_found("no job '" + request.path_param("id") + "'", "id");
  return *value;
}

}  // namespace qs::server
