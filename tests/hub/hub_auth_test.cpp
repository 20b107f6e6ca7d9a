// Endpoint, token and offline resolution, in huggingface_hub's order.
#include <gtest/gtest.h>

#include "hub/hub_auth.h"
#include "hub/hub_test_env.h"
#include "test_support.h"

namespace qs::hub_auth_test {
namespace {

TEST(HubAuth, EndpointDefaultsToHuggingFaceAndLosesTrailingSlash) {
  {
    test::ScopedEnv env(test::EnvList{{"HF_ENDPOINT", std::nullopt}});
    EXPECT_EQ(hub_endpoint(), "https://huggingface.co");
  }
  test::ScopedEnv env(test::EnvList{{"HF_ENDPOINT", "http://127.0.0.1:9/"}});
  EXPECT_EQ(hub_endpoint(), "http://127.0.0.1:9");
}

TEST(HubAuth, TokenFromFlagThenEnvironmentThenTokenFile) {
  test::ScratchDir dir;
  dir.write_text("token", "hf_from_file\n");
  {
    test::ScopedEnv env({{"HF_TOKEN", "hf_from_env"}, {"HF_HOME", dir.path().string()}, {"HF_TOKEN_PATH", std::nullopt}});
    EXPECT_EQ(resolve_hub_token("hf_flag"), "hf_flag");
    EXPECT_EQ(resolve_hub_token(""), "hf_from_env");
  }
  {
    test::ScopedEnv env({{"HF_TOKEN", std::nullopt}, {"HF_HOME", dir.path().string()}, {"HF_TOKEN_PATH", std::nullopt}});
    EXPECT_EQ(hub_token_file(), dir / "token");
    EXPECT_EQ(resolve_hub_token(""), "hf_from_file");
  }
  test::ScopedEnv env({{"HF_TOKEN", std::nullopt}, {"HF_HOME", (dir / "none").string()}, {"HF_TOKEN_PATH", std::nullopt}});
  EXPECT_EQ(resolve_hub_token(""), std::nullopt);
}

TEST(HubAuth, OfflineFlagValues) {
  for (const char *on : {"1", "true", "YES", "on"}) {
    test::ScopedEnv env(test::EnvList{{"HF_HUB_OFFLINE", on}});
    EXPECT_TRUE(hub_offline()) << on;
  }
  for (const char *off : {"0", "", "no"}) {
    test::ScopedEnv env(test::EnvList{{"HF_HUB_OFFLINE", off}});
    EXPECT_FALSE(hub_offline()) << off;
  }
}

TEST(HubAuth, OriginsTellHostsApart) {
  EXPECT_EQ(url_origin("https://huggingface.co/api/models"), "https://huggingface.co:443");
  EXPECT_EQ(url_origin("HTTPS://HuggingFace.co:443/x"), "https://huggingface.co:443");
  EXPECT_EQ(url_origin("http://127.0.0.1:8080/a?b"), "http://127.0.0.1:8080");
  EXPECT_NE(url_origin("http://127.0.0.1:8080/a"), url_origin("http://localhost:8080/a"));
  EXPECT_NE(url_origin("https://huggingface.co/x"), url_origin("https://cdn-lfs.huggingface.co/x"));
  EXPECT_NE(url_origin("https://huggingface.co/x"), url_origin("http://huggingface.co/x"));
}

}  // namespace
}  // namespace qs::hub_auth_test
