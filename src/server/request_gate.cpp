// The request gate: the security checks of security.h applied in order.
#include "server/request_gate.h"

#include "server/http_error.h"
#include "server/security.h"

namespace qs::server {
namespace {

bool is_write(const std::string &method) { return method == "POST" || method == "PUT" || method == "DELETE"; }

bool is_api(const std::string &path) { return path == "/api" || path.rfind("/api/", 0) == 0; }

void check_token(const GatePolicy &policy, const HttpRequest &request) {
  std::string given = bearer_token(request.header("Authorization"));
  // Browsers cannot set headers on an EventSource: the stream alone takes the token in the query.
  if (given.empty() && request.path == "/api/events") given = request.query_param("access_token");
  if (given.empty()) throw unauthorized("this server requires an access token: send 'Authorization: Bearer <token>'");
  if (!constant_time_equal(given, policy.token)) throw unauthorized("wrong access token");
}

}  // namespace

void check_request(const GatePolicy &policy, const HttpRequest &request) {
  const std::string host = request.header("Host");
  if (policy.loopback_only && !is_loopback_host_header(host))
    throw forbidden("Host '" + host + "' is not this server's name (only localhost, 127.0.0.1 and [::1] are answered)");
  if (is_write(request.method) && request.has_header("Origin") && !is_own_origin(request.header("Origin"), host))
    throw forbidden("cross-origin request refused: Origin '" + request.header("Origin") + "' is not this server");
  if (!policy.token.empty() && is_api(request.path)) check_token(policy, request);
  if ((request.method == "POST" || request.method == "PUT") && !is_json_content_type(request.header("Content-Type")))
    throw unsupported_media_type("the request body must be JSON (Content-Type: application/json)");
}

}  // namespace qs::server
