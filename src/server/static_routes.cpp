// The embedded UI's GET handler.
#include "server/static_routes.h"

#include <algorithm>

#include "server/http_error.h"

namespace qs::server {
namespace {

// Whether If-None-Match (a list, or "*") names this ETag; weak tags match too.
bool etag_matches(const std::string &if_none_match, std::string_view etag) {
  if (if_none_match.empty()) return false;
  if (if_none_match.find('*') != std::string::npos) return true;
  return if_none_match.find(etag) != std::string::npos;
}

}  // namespace

const StaticAsset *find_asset(std::string_view path) {
  const auto assets = embedded_assets();
  const auto found = std::lower_bound(assets.begin(), assets.end(), path,
                                      [](const StaticAsset &a, std::string_view p) { return a.path < p; });
  return found != assets.end() && found->path == path ? &*found : nullptr;
}

HttpResponse serve_static(const HttpRequest &request) {
  if (request.path == "/api" || request.path.rfind("/api/", 0) == 0) throw not_found("no such route: " + request.path);
  const StaticAsset *asset = request.path == "/" ? nullptr : find_asset(request.path);
  if (!asset) asset = find_asset("/index.html");
  if (!asset) throw not_found("no such file: " + request.path);
  HttpResponse response;
  response.headers.emplace_back("ETag", std::string(asset->etag));
  // Files under /assets/ carry their content hash in the name (Vite): they never change. index.html
  // must be checked each time so a rebuilt UI is picked up.
  const bool immutable = asset->path.rfind("/assets/", 0) == 0;
  response.headers.emplace_back("Cache-Control", immutable ? "public, max-age=31536000, immutable" : "no-cache");
  response.headers.emplace_back("X-Content-Type-Options", "nosniff");
  if (etag_matches(request.header("If-None-Match"), asset->etag)) {
    response.status = 304;
    response.content_type.clear();
    return response;
  }
  response.content_type = std::string(asset->content_type);
  response.body.assign(reinterpret_cast<const char *>(asset->data.data()), asset->data.size());
  return response;
}

}  // namespace qs::server
