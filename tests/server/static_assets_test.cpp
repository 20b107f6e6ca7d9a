// The embedded UI table (src/server/static_assets.h): sorted so find_asset can binary-search it,
// index.html always present (the placeholder when web/dist was not built), ETags the quoted first
// 16 hex digits of a SHA-256.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <fstream>

#include "server/static_assets.h"
#include "test_support.h"

namespace qs::server::static_assets_test {
namespace {

TEST(ServerStaticAssets, SortedWithIndexAndWellFormedEtags) {
  const auto assets = embedded_assets();
  ASSERT_FALSE(assets.empty());
  EXPECT_TRUE(std::is_sorted(assets.begin(), assets.end(), [](const auto &a, const auto &b) { return a.path < b.path; }));
  for (const StaticAsset &asset : assets) {
    EXPECT_EQ(asset.path.front(), '/');
    ASSERT_EQ(asset.etag.size(), 18u) << asset.path;
    EXPECT_EQ(asset.etag.front(), '"');
    EXPECT_EQ(asset.etag.back(), '"');
    EXPECT_EQ(asset.etag.substr(1, 16).find_first_not_of("0123456789abcdef"), std::string_view::npos);
    EXPECT_EQ(find_asset(asset.path), &asset);
  }
  const StaticAsset *index = find_asset("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(find_asset("/no-such-file.js"), nullptr);
}

// The ETag against coreutils' sha256sum of the same bytes.
TEST(ServerStaticAssets, EtagIsTheStartOfTheContentsSha256) {
  test::ScratchDir dir;
  const StaticAsset *index = find_asset("/index.html");
  ASSERT_NE(index, nullptr);
  const auto file = dir / "index.html";
  std::ofstream(file, std::ios::binary)
      .write(reinterpret_cast<const char *>(index->data.data()), static_cast<std::streamsize>(index->data.size()));
  FILE *pipe = popen(("sha256sum " + file.string()).c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char digest[65] = {};
  ASSERT_EQ(std::fread(digest, 1, 64, pipe), 64u);
  pclose(pipe);
  EXPECT_EQ(index->etag, "\"" + std::string(digest, 16) + "\"");
}

}  // namespace
}  // namespace qs::server::static_assets_test
