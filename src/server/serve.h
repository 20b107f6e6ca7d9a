// `quantscope serve` as one call: the job database, the roots, the token, the HTTP server with its
// routes, and the job runner, until SIGINT or SIGTERM.
#pragma once

#include "server/server_context.h"

namespace qs::server {

// Largest request body; larger ones are refused with 413.
inline constexpr size_t kMaxBodyBytes = 8u << 20;

// Serves until SIGINT/SIGTERM, then pauses the running job (it stops after its current unit) and
// returns. Prints "quantscope serve: listening on <url>" once it accepts connections (the chosen
// port when options.port is 0). Throws qs::Error for bad options (a root that is no directory, a
// port in use).
void serve(const ServeOptions &options);

}  // namespace qs::server
