// The server's security checks (src/server/security.h), from the rules they implement: RFC 6454
// origins ("http://" + host[:port]), RFC 6750 bearer tokens, RFC 7231 media types, and the
// loopback names a DNS-rebinding page cannot send.
#include <gtest/gtest.h>

#include <set>

#include "server/security.h"

namespace qs::server::security_test {
namespace {

TEST(ServerSecurity, LoopbackBindAddresses) {
  for (const char *host : {"127.0.0.1", "127.1.2.3", "localhost", "LOCALHOST", "::1", "[::1]"})
    EXPECT_TRUE(is_loopback_host(host)) << host;
  for (const char *host : {"0.0.0.0", "192.168.1.2", "::", "128.0.0.1", "127.0.0.256", "127.0.0.1x", "example.com"})
    EXPECT_FALSE(is_loopback_host(host)) << host;
}

TEST(ServerSecurity, HostHeaderMustNameThisMachineWithAnyPort) {
  for (const char *host : {"localhost", "localhost:8080", "127.0.0.1:1", "127.0.0.1", "[::1]:8080", "[::1]", "LocalHost:80"})
    EXPECT_TRUE(is_loopback_host_header(host)) << host;
  // A rebinding page sends its own name; odd spellings are refused rather than interpreted.
  for (const char *host : {"", "evil.example", "evil.example:8080", "localhost.evil.example", "127.0.0.1.nip.io",
                           "127.0.0.1:80:80", "localhost:", "localhost:http", "[::1", "::1", "127.0.0.2:8080"})
    EXPECT_FALSE(is_loopback_host_header(host)) << host;
}

TEST(ServerSecurity, OwnOriginIsHttpPlusTheHostTheBrowserUsed) {
  EXPECT_TRUE(is_own_origin("http://127.0.0.1:8080", "127.0.0.1:8080"));
  EXPECT_TRUE(is_own_origin("http://LOCALHOST:8080", "localhost:8080"));
  EXPECT_FALSE(is_own_origin("http://localhost:8081", "localhost:8080"));
  EXPECT_FALSE(is_own_origin("https://localhost:8080", "localhost:8080"));
  EXPECT_FALSE(is_own_origin("http://evil.example", "localhost:8080"));
  EXPECT_FALSE(is_own_origin("null", "localhost:8080"));
  EXPECT_FALSE(is_own_origin("http://", ""));
}

TEST(ServerSecurity, ConstantTimeCompareIsStillACompare) {
  EXPECT_TRUE(constant_time_equal("abc123", "abc123"));
  EXPECT_FALSE(constant_time_equal("abc124", "abc123"));
  EXPECT_FALSE(constant_time_equal("abc12", "abc123"));
  EXPECT_FALSE(constant_time_equal("abc1234", "abc123"));
  EXPECT_FALSE(constant_time_equal("", "abc123"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

TEST(ServerSecurity, BearerTokenOnly) {
  EXPECT_EQ(bearer_token("Bearer abc"), "abc");
  EXPECT_EQ(bearer_token("bearer  abc "), "abc");
  EXPECT_EQ(bearer_token("Basic YWJj"), "");
  EXPECT_EQ(bearer_token("Bearer"), "");
  EXPECT_EQ(bearer_token(""), "");
}

TEST(ServerSecurity, JsonContentTypeWithOrWithoutParameters) {
  EXPECT_TRUE(is_json_content_type("application/json"));
  EXPECT_TRUE(is_json_content_type("Application/JSON; charset=utf-8"));
  EXPECT_FALSE(is_json_content_type("text/plain"));
  EXPECT_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
  EXPECT_FALSE(is_json_content_type("multipart/form-data; boundary=x"));
  EXPECT_FALSE(is_json_content_type(""));
}

TEST(ServerSecurity, RandomTokensAre32HexDigitsAndDiffer) {
  std::set<std::string> seen;
  for (int i = 0; i < 20; ++i) {
    const std::string token = random_token();
    ASSERT_EQ(token.size(), 32u);
    EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos) << token;
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 20u);
}

TEST(ServerSecurity, BrowserUrlCarriesTheTokenInTheFragment) {
  EXPECT_EQ(browser_url("127.0.0.1", 8080, ""), "http://127.0.0.1:8080/");
  EXPECT_EQ(browser_url("0.0.0.0", 80, "ab12"), "http://0.0.0.0:80/#token=ab12");
  EXPECT_EQ(browser_url("::1", 9000, ""), "http://[::1]:9000/");
}

}  // namespace
}  // namespace qs::server::security_test
