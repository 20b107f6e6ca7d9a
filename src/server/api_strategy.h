// The strategy API: the candidates and Pareto curve of a measured job, a strategy decided from it,
// a hand-edited strategy checked and totalled, saved, read back, and written as a recipe.
#pragma once

#include "server/http_server.h"
#include "server/server_context.h"

namespace qs::server {

HttpResponse api_candidates(ServerContext &context, const HttpRequest &request);
HttpResponse api_pareto(ServerContext &context, const HttpRequest &request);
HttpResponse api_make_strategy(ServerContext &context, const HttpRequest &request);
HttpResponse api_strategy_totals(ServerContext &context, const HttpRequest &request);
HttpResponse api_save_strategy(ServerContext &context, const HttpRequest &request);
HttpResponse api_read_strategy(ServerContext &context, const HttpRequest &request);
HttpResponse api_strategy_recipe(ServerContext &context, const HttpRequest &request);

}  // namespace qs::server
