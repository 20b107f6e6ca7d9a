// The web UI built into the binary: every file of web/dist, embedded at build time by
// cmake/embed_assets.cmake (generated/embedded_assets.cpp), sorted by path.
#pragma once

#include <span>
#include <string_view>

namespace qs::server {

struct StaticAsset {
  std::string_view path;          // "/index.html", "/assets/index-3f2a9c.js"
  std::string_view content_type;  // by extension
  std::string_view etag;          // quoted: "\"<first 16 hex digits of the content's SHA-256>\""
  std::span<const unsigned char> data;
};

std::span<const StaticAsset> embedded_assets();  // sorted by path

// The asset at `path`, or nullptr (binary search over the sorted table).
const StaticAsset *find_asset(std::string_view path);

}  // namespace qs::server
