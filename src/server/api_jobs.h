// The jobs API: list, detail, measurement rows, create, pause/resume/cancel.
#pragma once

#include "server/http_server.h"
#include "server/server_context.h"

namespace qs::server {

HttpResponse api_list_jobs(ServerContext &context, const HttpRequest &request);
HttpResponse api_job_detail(ServerContext &context, const HttpRequest &request);
HttpResponse api_job_measurements(ServerContext &context, const HttpRequest &request);
HttpResponse api_create_job(ServerContext &context, const HttpRequest &request);
// The comparison an auto job wrote (its "compare" artifact: `compare --json`'s shape).
HttpResponse api_job_compare(ServerContext &context, const HttpRequest &request);
// A download job's files: {repo, commit, files: [{path, size, bytes_on_disk, done}], snapshot}.
HttpResponse api_download_files(ServerContext &context, const HttpRequest &request);
HttpResponse api_pause_job(ServerContext &context, const HttpRequest &request);
HttpResponse api_resume_job(ServerContext &context, const HttpRequest &request);
HttpResponse api_cancel_job(ServerContext &context, const HttpRequest &request);

// The job of the route's {id}; 404 when there is none.
JobInfo job_of_route(ServerContext &context, const HttpRequest &request);

}  // namespace qs::server
