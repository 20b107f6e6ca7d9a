// What every request must pass before it is routed (headers only; the body is not read yet):
// the Host check against DNS rebinding, the same-origin rule for writes, the access token, and
// JSON bodies only. docs/api.md, "Conventions".
#pragma once

#include <string>

#include "server/http_server.h"

namespace qs::server {

struct GatePolicy {
  bool loopback_only = true;  // bound to a loopback address: Host must name it
  std::string token;          // "" = no token required
};

// Throws HttpError: 403 (foreign Host, cross-origin write), 401 (token missing or wrong; the
// event stream may carry it as ?access_token=), 415 (a POST/PUT body that is not JSON).
void check_request(const GatePolicy &policy, const HttpRequest &request);

}  // namespace qs::server
