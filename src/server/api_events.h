// GET /api/events: server-sent events of every job of the database, whichever process runs it.
// Each stream polls the database on its own connection every 250 ms and sends `event: job` with a
// job's JSON when its state, progress or updated_at changed (every job once at connect), and a
// `: keepalive` comment every 15 s. It ends when the client goes or the server stops.
#pragma once

#include "server/http_server.h"
#include "server/server_context.h"

namespace qs::server {

HttpResponse api_events(ServerContext &context, const HttpRequest &request);

}  // namespace qs::server
