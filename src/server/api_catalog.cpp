// /api/info, /api/types, /api/files, /api/models/inspect.
#include "server/api_catalog.h"

#include "core/version.h"
#include "infer/compute_device.h"
#include "model/model_source.h"
#include "model/model_summary_json.h"
#include "quant/type_table_json.h"
#include "server/file_listing.h"
#include "server/http_error.h"

namespace qs::server {

HttpResponse api_info(ServerContext &context, const HttpRequest &) {
  nlohmann::json roots = nlohmann::json::array();
  for (const auto &root : context.guard.roots()) roots.push_back(root.string());
  return HttpResponse::json({{"version", kVersion},
                             {"roots", roots},
                             {"db", context.db_path.string()},
                             {"token_required", context.token_required},
                             {"cuda_built", built_with_cuda()},
                             {"cuda_devices", cuda_device_count()}});
}

HttpResponse api_types(ServerContext &, const HttpRequest &) { return HttpResponse::json(type_table_json()); }

HttpResponse api_files(ServerContext &context, const HttpRequest &request) {
  const std::string kind_name = request.query_param("kind");
  const auto kind = parse_file_kind(kind_name);
  if (!kind) throw bad_request("kind: '" + kind_name + "' is not one of model, text, imatrix, strategy, gguf", "kind");
  nlohmann::json files = nlohmann::json::array();
  for (const ListedFile &file : list_files(context.guard.roots(), *kind))
    files.push_back({{"path", file.path.string()}, {"kind", kind_name}, {"bytes", file.bytes}});
  return HttpResponse::json(files);
}

HttpResponse api_inspect_model(ServerContext &context, const HttpRequest &request) {
  const auto path = context.guard.inside(request.query_param("path"), "path");
  if (!std::filesystem::exists(path)) throw not_found("path: no such file or directory: " + path.string(), "path");
  const auto model = ModelSource::open(path.string());
  return HttpResponse::json(model_summary_json(*model, path.string()));
}

}  // namespace qs::server
