// The one route table: method, pattern, handler. docs/api.md lists the same routes.
#include "server/routes.h"

#include "server/api_catalog.h"
#include "server/api_events.h"
#include "server/api_jobs.h"
#include "server/api_strategy.h"
#include "server/static_routes.h"

namespace qs::server {

void add_routes(HttpServer &server, ServerContext &context) {
  ServerContext *c = &context;
  const auto with = [c](HttpResponse (*handler)(ServerContext &, const HttpRequest &)) {
    return [c, handler](const HttpRequest &request) { return handler(*c, request); };
  };

  server.route("GET", "/api/info", with(api_info));
  server.route("GET", "/api/types", with(api_types));
  server.route("GET", "/api/files", with(api_files));
  server.route("GET", "/api/models/inspect", with(api_inspect_model));

  server.route("GET", "/api/jobs", with(api_list_jobs));
  server.route("POST", "/api/jobs", with(api_create_job));
  server.route("GET", "/api/jobs/{id}", with(api_job_detail));
  server.route("GET", "/api/jobs/{id}/measurements", with(api_job_measurements));
  server.route("POST", "/api/jobs/{id}/pause", with(api_pause_job));
  server.route("POST", "/api/jobs/{id}/resume", with(api_resume_job));
  server.route("POST", "/api/jobs/{id}/cancel", with(api_cancel_job));
  server.route("GET", "/api/jobs/{id}/candidates", with(api_candidates));
  server.route("GET", "/api/jobs/{id}/pareto", with(api_pareto));
  server.route("GET", "/api/jobs/{id}/compare", with(api_job_compare));
  server.route("GET", "/api/jobs/{id}/files", with(api_download_files));
  server.route("GET", "/api/events", with(api_events));

  server.route("POST", "/api/strategy", with(api_make_strategy));
  server.route("POST", "/api/strategy/totals", with(api_strategy_totals));
  server.route("POST", "/api/strategy/save", with(api_save_strategy));
  server.route("GET", "/api/strategy", with(api_read_strategy));
  server.route("POST", "/api/strategy/recipe", with(api_strategy_recipe));

  // Last: every other GET is the UI (an unknown /api path answers 404 there).
  server.route("GET", "/*", serve_static);
}

}  // namespace qs::server
