// `quantscope serve` end to end, against the real binary on 127.0.0.1: what a request outside the
// rules gets (docs/api.md, "Conventions"), the read-only routes, and the embedded UI.
#include <gtest/gtest.h>

#include <filesystem>

#include "infer/compute_device.h"
#include "server/server_process.h"

namespace qs::serve_api_test {
namespace {

namespace fs = std::filesystem;
using test::body_json;
using test::ServerProcess;

class ServerApi : public ::testing::Test {
 protected:
  test::ScratchDir dir;
  fs::path root = dir / "root";
  std::string db = (dir / "jobs.db").string();

  void SetUp() override {
    fs::create_directories(root);
    dir.write_text("outside.txt", "In the beginning");
    dir.write_text("root/text.txt", "In the beginning");
    fs::create_symlink(dir / "outside.txt", root / "escape.txt");
  }

  std::vector<std::string> args() const { return {"--db", db, "--root", root.string(), "--root", test::kShippedModel}; }

  static void expect_error(const httplib::Result &r, int status, const std::string &field = {}) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    const auto body = body_json(r);
    ASSERT_TRUE(body.is_object() && body.contains("error")) << r->body;
    EXPECT_TRUE(body["error"]["message"].is_string()) << r->body;
    EXPECT_FALSE(body["error"]["message"].get<std::string>().empty());
    if (!field.empty()) {
      EXPECT_EQ(body["error"].value("field", ""), field) << r->body;
    }
    EXPECT_FALSE(r->has_header("Access-Control-Allow-Origin"));
  }
};

TEST_F(ServerApi, InfoTypesAndInspectGiveTheCliShapes) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  const auto info = body_json(server.get("/api/info"));
  EXPECT_EQ(info["token_required"], false);
  EXPECT_EQ(info["db"], db);
  ASSERT_EQ(info["roots"].size(), 2u);
  EXPECT_EQ(info["roots"][0], fs::canonical(root).string());
  EXPECT_EQ(info["cuda_built"], built_with_cuda());
  EXPECT_EQ(info["cuda_devices"], cuda_device_count());

  const auto types = body_json(server.get("/api/types"));
  const test::CliRun cli_types = test::run_cli(dir, {"types", "--json"});
  EXPECT_EQ(types, nlohmann::json::parse(cli_types.out));

  const auto inspected = server.get("/api/models/inspect?path=" + test::kShippedModel);
  ASSERT_EQ(inspected->status, 200) << inspected->body;
  const test::CliRun cli_inspect = test::run_cli(dir, {"inspect", test::kShippedModel, "--json"});
  auto expected = nlohmann::json::parse(cli_inspect.out);
  EXPECT_EQ(body_json(inspected), expected);

  const auto texts = body_json(server.get("/api/files?kind=text"));
  ASSERT_TRUE(texts.is_array());
  bool found = false;
  for (const auto &file : texts) found |= file["path"] == fs::canonical(root / "text.txt").string();
  EXPECT_TRUE(found) << texts.dump();
  expect_error(server.get("/api/files?kind=photos"), 400, "kind");
}

TEST_F(ServerApi, PathsOutsideTheRootsAreForbiddenNamingTheField) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  expect_error(server.get("/api/models/inspect?path=../outside.txt"), 403, "path");
  expect_error(server.get("/api/models/inspect?path=" + (dir / "outside.txt").string()), 403, "path");
  expect_error(server.get("/api/models/inspect?path=/etc/passwd"), 403, "path");
  expect_error(server.get("/api/models/inspect?path=escape.txt"), 403, "path");
  expect_error(server.get("/api/strategy?path=escape.txt"), 403, "path");
  expect_error(server.post("/api/jobs", {{"kind", "measure"}, {"params", {{"model", test::kShippedModel},
                                                                          {"text", "../outside.txt"}}}}),
               403, "params.text");
  expect_error(server.post("/api/jobs", {{"kind", "measure"}, {"params", {{"model", "/etc"}}}}), 403, "params.model");
}

TEST_F(ServerApi, BadRequestsGetJsonErrors) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  auto client = server.client();
  // Malformed JSON: 400 with the parser's position.
  const auto malformed = client.Post("/api/jobs", "{\"kind\": ", "application/json");
  expect_error(malformed, 400);
  EXPECT_NE(body_json(malformed)["error"]["message"].get<std::string>().find("column"), std::string::npos);
  // Over 8 MiB: 413, and the server goes on answering.
  expect_error(client.Post("/api/jobs", std::string((8u << 20) + 1, ' '), "application/json"), 413);
  // Not JSON: 415.
  expect_error(client.Post("/api/jobs", "kind=measure", "application/x-www-form-urlencoded"), 415);
  expect_error(server.get("/api/no/such/route"), 404);
  expect_error(client.Delete("/api/jobs"), 404);
  expect_error(server.get("/api/jobs/999"), 404, "id");
  expect_error(server.get("/api/jobs/abc"), 404, "id");
  expect_error(server.post("/api/jobs", {{"kind", "bake"}}), 400, "kind");
  expect_error(server.post("/api/jobs", {{"kind", "measure"}, {"params", {{"modle", "x"}}}}), 400, "params.modle");
  // A device that is no device: refused naming the word (no job is made).
  const auto gpu = server.post("/api/jobs", {{"kind", "measure"},
                                             {"params", {{"model", test::kShippedModel}, {"device", "gpu"}}}});
  expect_error(gpu, 400);
  EXPECT_NE(body_json(gpu)["error"]["message"].get<std::string>().find("'gpu'"), std::string::npos) << gpu->body;
  // precision is a parameter (fp32 by default): tf32 at the proxy level is refused saying why.
  const auto tf32 = server.post("/api/jobs", {{"kind", "measure"},
                                              {"params", {{"model", test::kShippedModel}, {"precision", "tf32"}}}});
  expect_error(tf32, 400);
  EXPECT_NE(body_json(tf32)["error"]["message"].get<std::string>().find("--precision tf32"), std::string::npos)
      << tf32->body;
  expect_error(server.post("/api/strategy", {{"job", 1}}), 400, "budget");
  EXPECT_EQ(server.get("/api/info")->status, 200);
}

TEST_F(ServerApi, CrossOriginWritesAndForeignHostsAreRefusedAndNoCorsHeaderIsSent) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  auto client = server.client();
  expect_error(client.Post("/api/jobs", {{"Origin", "http://evil.example"}}, "{}", "application/json"), 403);
  expect_error(client.Post("/api/jobs/1/pause", {{"Origin", "null"}}, "{}", "application/json"), 403);
  // Its own origin passes the gate (and fails later, on the missing kind).
  const std::string own = "http://127.0.0.1:" + std::to_string(server.port());
  expect_error(client.Post("/api/jobs", {{"Origin", own}}, "{}", "application/json"), 400, "kind");
  // A reading request from another site gets no CORS header, so its script cannot read the answer.
  const auto read = client.Get("/api/info", {{"Origin", "http://evil.example"}});
  ASSERT_TRUE(read);
  EXPECT_FALSE(read->has_header("Access-Control-Allow-Origin"));
  // DNS rebinding: the page's own name in Host.
  expect_error(client.Get("/api/info", {{"Host", "evil.example:" + std::to_string(server.port())}}), 403);
  expect_error(client.Get("/", {{"Host", "evil.example"}}), 403);
  EXPECT_EQ(client.Get("/api/info", {{"Host", "localhost:" + std::to_string(server.port())}})->status, 200);
}

TEST_F(ServerApi, TokenRequiredWhenGiven) {
  ServerProcess server(dir, {"--db", db, "--root", root.string(), "--token", "s3cret"});
  ASSERT_TRUE(server.started()) << server.printed();
  EXPECT_EQ(server.token(), "s3cret");
  auto client = server.client();
  expect_error(client.Get("/api/info"), 401);
  expect_error(client.Get("/api/info", {{"Authorization", "Bearer wrong"}}), 401);
  expect_error(client.Get("/api/info?access_token=s3cret"), 401);  // the query is for the event stream only
  expect_error(client.Post("/api/jobs", "{}", "application/json"), 401);
  const auto ok = client.Get("/api/info", {{"Authorization", "Bearer s3cret"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(body_json(ok)["token_required"], true);
  // The event stream takes it from the query; read its first bytes, then hang up.
  std::string received;
  client.Get("/api/events?access_token=s3cret", [&](const char *data, size_t n) {
    received.append(data, n);
    return false;
  });
  EXPECT_NE(received.find("retry:"), std::string::npos) << received;
  expect_error(client.Get("/api/events?access_token=wrong"), 401);
  // The UI itself loads without the token (it reads it from the URL's #fragment).
  EXPECT_EQ(client.Get("/")->status, 200);
}

TEST_F(ServerApi, NonLoopbackHostWarnsAndGeneratesAToken) {
  ServerProcess server(dir, {"--host", "0.0.0.0", "--db", db, "--root", root.string()});
  ASSERT_TRUE(server.started()) << server.printed();
  EXPECT_EQ(server.token().size(), 32u) << server.printed();
  EXPECT_NE(server.printed().find("WARNING"), std::string::npos);
  auto client = server.client();
  expect_error(client.Get("/api/info"), 401);
  // Bound to every interface, the token protects it, not the Host check.
  EXPECT_EQ(client.Get("/api/info", {{"Authorization", "Bearer " + server.token()}, {"Host", "my-box:1"}})->status, 200);
}

TEST_F(ServerApi, EmbeddedUiWithEtagsAnd304s) {
  ServerProcess server(dir, args());
  ASSERT_TRUE(server.started()) << server.printed();
  auto client = server.client();
  const auto index = client.Get("/");
  ASSERT_TRUE(index);
  EXPECT_EQ(index->status, 200);
  EXPECT_EQ(index->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index->get_header_value("Cache-Control"), "no-cache");
  const std::string etag = index->get_header_value("ETag");
  ASSERT_EQ(etag.size(), 18u);
  const auto again = client.Get("/index.html", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  EXPECT_EQ(client.Get("/index.html", {{"If-None-Match", "\"0000000000000000\""}})->status, 200);
  // Any other path outside /api is the UI's own route: index.html.
  const auto deep = client.Get("/jobs/3/strategy");
  ASSERT_TRUE(deep);
  EXPECT_EQ(deep->status, 200);
  EXPECT_EQ(deep->get_header_value("ETag"), etag);
  EXPECT_EQ(deep->body, index->body);
}

}  // namespace
}  // namespace qs::serve_api_test
