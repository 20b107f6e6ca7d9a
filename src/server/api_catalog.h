// The read-only API about the machine: /api/info, /api/types, /api/files, /api/models/inspect.
#pragma once

#include "server/http_server.h"
#include "server/server_context.h"

namespace qs::server {

HttpResponse api_info(ServerContext &context, const HttpRequest &request);
HttpResponse api_types(ServerContext &context, const HttpRequest &request);
HttpResponse api_files(ServerContext &context, const HttpRequest &request);
HttpResponse api_inspect_model(ServerContext &context, const HttpRequest &request);

}  // namespace qs::server
