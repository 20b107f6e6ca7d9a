// Downloads through `quantscope serve`, against the mock Hub of tests/hub on 127.0.0.1: the token
// goes with the request that needs it and nowhere else (not the job's params, not the database, not
// the server's output, not the CDN host the weights redirect to); per-file progress ends with every
// file in the cache, byte for byte the Hub's.
#include <gtest/gtest.h>

#include <filesystem>

#include "hub/hub_test_env.h"
#include "hub/mock_hub.h"
#include "server/server_process.h"

namespace qs::serve_download_test {
namespace {

using test::body_json;
using test::ServerProcess;

std::vector<test::MockRepoFile> small_repo() {
  std::vector<test::MockRepoFile> files;
  for (const char *name : {"config.json", "tokenizer.json", "tokenizer_config.json"})
    files.push_back({name, test::slurp(test::kShippedModel + "/" + name), false});
  files.push_back({"model.safetensors", test::slurp(test::kShippedModel + "/model.safetensors"), true});
  return files;
}

TEST(ServerDownload, TokenIsUsedOnceAndNeverKeptAndEveryFileLandsInTheCache) {
  test::ScratchDir dir;
  test::MockHub hub("org/kjv", small_repo());
  const std::string token = "hf_serverDownloadSecret0123456789";
  hub.required_token = token;
  test::ScopedEnv env({{"HF_ENDPOINT", hub.endpoint()},
                       {"HF_HUB_CACHE", (dir / "hub").string()},
                       {"HF_HOME", (dir / "hf_home").string()},
                       {"HF_TOKEN", std::nullopt},
                       {"HF_HUB_OFFLINE", std::nullopt}});
  const std::string db = (dir / "jobs.db").string();
  ServerProcess server(dir, {"--db", db, "--root", dir.path().string()});
  ASSERT_TRUE(server.started()) << server.printed();

  // Without the token the Hub's 401 comes back as a 400 saying so; no job is made.
  const auto refused = server.post("/api/jobs", {{"kind", "download"}, {"params", {{"repo_id", "org/kjv"}}}});
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 400) << refused->body;
  EXPECT_NE(refused->body.find("401"), std::string::npos) << refused->body;
  // A token for a job that takes none is refused.
  const auto misplaced = server.post("/api/jobs", {{"kind", "measure"}, {"token", token}, {"params", {{"model", test::kShippedModel}}}});
  ASSERT_TRUE(misplaced);
  EXPECT_EQ(misplaced->status, 400);
  EXPECT_EQ(body_json(misplaced)["error"]["field"], "token");

  const auto created = server.post("/api/jobs", {{"kind", "download"}, {"token", token}, {"params", {{"repo_id", "org/kjv"}}}});
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const int64_t id = body_json(created)["id"];
  const auto job = test::wait_for_job_to_stop(server, id);
  ASSERT_EQ(job["state"], "done") << job.dump();

  const auto files = body_json(server.get("/api/jobs/" + std::to_string(id) + "/files"));
  ASSERT_EQ(files["files"].size(), 4u) << files.dump();
  for (const auto &f : files["files"]) {
    EXPECT_TRUE(f["done"].get<bool>()) << f.dump();
    EXPECT_EQ(f["bytes_on_disk"], f["size"]) << f.dump();
  }
  const std::filesystem::path snapshot = files["snapshot"].get<std::string>();
  EXPECT_EQ(snapshot, dir / "hub" / "models--org--kjv" / "snapshots" / test::MockHub::kCommit);
  EXPECT_EQ(test::slurp(snapshot / "model.safetensors"), hub.file("model.safetensors").bytes);

  // The weights came from the CDN host ("localhost"), which never saw the token.
  bool cdn_seen = false;
  for (const auto &request : hub.requests()) {
    if (request.host.rfind("localhost", 0) != 0) continue;
    cdn_seen = true;
    EXPECT_TRUE(request.authorization.empty()) << request.path;
  }
  EXPECT_TRUE(cdn_seen);
  EXPECT_EQ(server.stop(), 0) << server.stderr_text();
  // Nowhere kept: the job's JSON, the database file (and its WAL), what the server printed.
  EXPECT_EQ(job.dump().find(token), std::string::npos);
  for (const char *file : {"jobs.db", "jobs.db-wal"})
    EXPECT_EQ(test::slurp(dir / file).find(token), std::string::npos) << file;
  EXPECT_EQ(server.printed().find(token), std::string::npos);
  EXPECT_EQ(server.stderr_text().find(token), std::string::npos);
}

}  // namespace
}  // namespace qs::serve_download_test
