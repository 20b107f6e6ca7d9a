// Serving the embedded UI: an asset by its path, "/" and every other non-API path as index.html
// (the UI routes in the browser), with ETags and 304s.
#pragma once

#include "server/http_server.h"
#include "server/static_assets.h"

namespace qs::server {

// GET of any path outside /api (an /api path no route matched: 404).
HttpResponse serve_static(const HttpRequest &request);

}  // namespace qs::server
