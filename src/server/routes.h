// The route table of `quantscope serve`: every route of docs/api.md, in one place.
#pragma once

#include "server/http_server.h"
#include "server/server_context.h"

namespace qs::server {

void add_routes(HttpServer &server, ServerContext &context);

}  // namespace qs::server
