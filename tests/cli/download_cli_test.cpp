// End to end: the real binary's `download` against a mock Hub (tests/hub/mock_hub.h) on 127.0.0.1,
// with HF_ENDPOINT and HF_HUB_CACHE pointing at the test's own directories: the shipped model
// downloaded and then used by its repo id, HF_HUB_OFFLINE, a kill -9 mid-file resumed without
// moving the finished bytes again, and errors that exit 2 without ever showing the token.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "cli/cli_process.h"
#include "cli/cli_runner.h"
#include "hub/mock_hub.h"
#include "hub/sha256.h"
#include "jobs/job_store.h"

namespace qs::test::download_cli_test {
namespace {
namespace fs = std::filesystem;

std::vector<MockRepoFile> kjv_repo_files() {
  std::vector<MockRepoFile> files;
  for (const char *name : {"config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
                           "tokenizer_config.json"})
    files.push_back({name, slurp(source_path(std::string("models/kjv-llama/") + name)), false});
  files.push_back({"model.safetensors", slurp(source_path("models/kjv-llama/model.safetensors")), true});
  return files;
}

std::vector<std::string> hub_env(const ScratchDir &dir, const MockHub &hub) {
  return {"HF_ENDPOINT=" + hub.endpoint(), "HF_HUB_CACHE=" + (dir / "hub").string(),
          "HF_HOME=" + (dir / "hf_home").string(), "QUANTSCOPE_HUB_BACKOFF_SECONDS=0.01"};
}

std::vector<std::string> with(std::vector<std::string> env, const std::string &extra) {
  env.push_back(extra);
  return env;
}

TEST(DownloadCli, DownloadsTheShippedModelThenEveryModelArgumentTakesItsRepoId) {
  ScratchDir dir;
  MockHub hub("org/kjv", kjv_repo_files());
  const auto env = hub_env(dir, hub);
  const CliRun r = run_cli(dir, {"download", "org/kjv"}, env);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const fs::path snapshot = dir / "hub" / "models--org--kjv" / "snapshots" / MockHub::kCommit;
  EXPECT_EQ(r.out, snapshot.string() + "\n");
  EXPECT_NE(r.err.find("fetched model.safetensors"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(snapshot / "model.safetensors"), hub.file("model.safetensors").bytes);

  const CliRun inspect = run_cli(dir, {"inspect", "org/kjv", "--json"}, env);
  ASSERT_EQ(inspect.exit_code, 0) << inspect.err;
  const auto j = nlohmann::json::parse(inspect.out);
  EXPECT_EQ(j["architecture"], "llama");
  EXPECT_EQ(j["params"], 8261888);
  const CliRun stats = run_cli(dir, {"quant-stats", "org/kjv", "--type", "Q8_0", "--json"}, env);
  EXPECT_EQ(stats.exit_code, 0) << stats.err;

  // Offline: the cache only, no request at all.
  const size_t n_requests = hub.requests().size();
  const CliRun offline = run_cli(dir, {"download", "org/kjv"}, with(env, "HF_HUB_OFFLINE=1"));
  EXPECT_EQ(offline.exit_code, 0) << offline.err;
  EXPECT_EQ(offline.out, snapshot.string() + "\n");
  EXPECT_EQ(hub.requests().size(), n_requests);
  const CliRun missing = run_cli(dir, {"download", "org/other"}, with(env, "HF_HUB_OFFLINE=1"));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_NE(missing.err.find("HF_HUB_OFFLINE is set and org/other at revision main is not in the cache"), std::string::npos)
      << missing.err;
  const CliRun inspect_missing = run_cli(dir, {"inspect", "org/other"}, with(env, "HF_HUB_OFFLINE=1"));
  EXPECT_EQ(inspect_missing.exit_code, 2);
  EXPECT_NE(inspect_missing.err.find("no Hugging Face repo of that id in the local cache"), std::string::npos)
      << inspect_missing.err;
  EXPECT_EQ(hub.requests().size(), n_requests);

  // Again online: every file is in the cache, nothing moves.
  const int64_t sent = hub.content_bytes_sent;
  const CliRun again = run_cli(dir, {"download", "org/kjv"}, env);
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(hub.content_bytes_sent, sent);
  EXPECT_NE(again.err.find("cached  model.safetensors"), std::string::npos) << again.err;

  // A blob gone from under the snapshot: the model does not open half there, and says what to do.
  fs::remove(fs::canonical(snapshot / "model.safetensors"));
  const CliRun broken = run_cli(dir, {"inspect", "org/kjv"}, with(env, "HF_HUB_OFFLINE=1"));
  EXPECT_EQ(broken.exit_code, 2);
  EXPECT_NE(broken.err.find("lacks model.safetensors"), std::string::npos) << broken.err;
  EXPECT_NE(broken.err.find("quantscope download org/kjv"), std::string::npos) << broken.err;
}

TEST(DownloadCli, KillNineMidFileThenTheSameCommandMovesOnlyTheRemainder) {
  ScratchDir dir;
  MockHub hub("org/tiny", {{"config.json", slurp(source_path("models/kjv-llama/config.json")), false},
                           {"model.safetensors", tiny_safetensors(256 * 1024), true}});
  const auto env = hub_env(dir, hub);
  const std::string &bytes = hub.file("model.safetensors").bytes;
  const fs::path partial = dir / "hub" / "models--org--tiny" / "blobs" / (sha256_hex(bytes) + ".incomplete");
  hub.chunk_delay_ms = 5;  // 4 KiB every 5 ms: slow enough to kill mid-file
  const pid_t pid = spawn_cli(dir, {"download", "org/tiny", "--include", "model.safetensors"}, "first", env);
  // (A bound on the wait only so that a broken build fails instead of hanging; not a timing check.)
  for (int i = 0; i < 60000 && hub.bytes_sent_of("model.safetensors") < 128 * 1024; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ASSERT_EQ(kill(pid, SIGKILL), 0);
  const CliRun killed = finish_cli(dir, pid, "first");
  ASSERT_EQ(killed.exit_code, 128 + SIGKILL) << killed.err;
  ASSERT_TRUE(fs::exists(partial));
  const auto kept = static_cast<int64_t>(fs::file_size(partial));
  ASSERT_GT(kept, 0);
  ASSERT_LT(kept, static_cast<int64_t>(bytes.size()));
  EXPECT_FALSE(fs::exists(partial.parent_path() / sha256_hex(bytes)));  // no final name for a half file

  hub.chunk_delay_ms = 0;
  const CliRun resumed = run_cli(dir, {"download", "org/tiny", "--include", "model.safetensors"}, env);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_NE(resumed.err.find("continuing an unfinished download"), std::string::npos) << resumed.err;
  // Only the bytes not yet on disk moved, starting where the partial blob ends.
  const MockRequest last = hub.requests().back();
  EXPECT_EQ(last.range, "bytes=" + std::to_string(kept) + "-");
  EXPECT_EQ(last.content_bytes_sent, static_cast<int64_t>(bytes.size()) - kept);
  EXPECT_EQ(slurp(partial.parent_path() / sha256_hex(bytes)), bytes);
  EXPECT_FALSE(fs::exists(partial));
}

TEST(DownloadCli, HubErrorsExitTwoOnOneLineAndNeverShowTheToken) {
  ScratchDir dir;
  MockHub hub("org/tiny", {{"config.json", "{}", false}});
  const auto env = hub_env(dir, hub);
  hub.required_token = "hf_right_token";
  const CliRun unauthorized = run_cli(dir, {"download", "org/tiny", "--token", "hf_wrong_token"}, env);
  EXPECT_EQ(unauthorized.exit_code, 2);
  EXPECT_NE(unauthorized.err.find("401"), std::string::npos) << unauthorized.err;
  EXPECT_EQ(unauthorized.err.find("hf_wrong_token"), std::string::npos);
  EXPECT_EQ(std::count(unauthorized.err.begin(), unauthorized.err.end(), '\n'), 1) << unauthorized.err;

  hub.required_token = "";
  hub.gated = true;
  const CliRun gated = run_cli(dir, {"download", "org/tiny"}, with(env, "HF_TOKEN=hf_env_token"));
  EXPECT_EQ(gated.exit_code, 2);
  EXPECT_NE(gated.err.find("gated"), std::string::npos) << gated.err;
  EXPECT_NE(gated.err.find(hub.endpoint() + "/org/tiny"), std::string::npos) << gated.err;
  EXPECT_EQ((gated.out + gated.err).find("hf_env_token"), std::string::npos);

  hub.gated = false;
  const CliRun unknown = run_cli(dir, {"download", "org/unknown"}, env);
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("404"), std::string::npos) << unknown.err;

  // A job that ran with a token keeps no trace of it.
  const CliRun ok = run_cli(dir, {"download", "org/tiny", "--token", "hf_kept_secret", "--json"}, env);
  ASSERT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(nlohmann::json::parse(ok.out)["state"], "done");
  EXPECT_EQ((ok.out + ok.err).find("hf_kept_secret"), std::string::npos);
  EXPECT_EQ(slurp(dir / "jobs.db").find("hf_kept_secret"), std::string::npos);
  EXPECT_EQ(slurp(dir / "jobs.db-wal").find("hf_kept_secret"), std::string::npos);
}

TEST(DownloadCli, DetachedDownloadRunsUnderJobsResumeAndACommitNeedsNoRef) {
  ScratchDir dir;
  MockHub hub("org/tiny", {{"config.json", slurp(source_path("models/kjv-llama/config.json")), false},
                           {"model.safetensors", tiny_safetensors(4096), true}});
  const auto env = hub_env(dir, hub);
  const CliRun queued = run_cli(dir, {"download", "org/tiny", "--revision", MockHub::kCommit, "--detach", "--json"}, env);
  ASSERT_EQ(queued.exit_code, 0) << queued.err;
  const auto job = nlohmann::json::parse(queued.out);
  EXPECT_EQ(job["state"], "queued");
  const fs::path repo = dir / "hub" / "models--org--tiny";
  EXPECT_FALSE(fs::exists(repo / "snapshots" / MockHub::kCommit / "model.safetensors"));
  const CliRun resumed = run_cli(dir, {"jobs", "resume", std::to_string(job["id"].get<int64_t>())}, env);
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(slurp(repo / "snapshots" / MockHub::kCommit / "model.safetensors"), hub.file("model.safetensors").bytes);
  // Asked for by its commit, the snapshot needs no ref (huggingface_hub writes none either).
  EXPECT_TRUE(fs::is_directory(repo / "refs"));
  EXPECT_TRUE(fs::is_empty(repo / "refs"));
}

TEST(DownloadCli, HelpNamesEveryOption) {
  ScratchDir dir;
  const CliRun r = run_cli(dir, {"download", "--help"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  for (const char *option : {"--revision", "--token", "--include", "--exclude", "--db", "--json", "--detach", "HF_ENDPOINT",
                             "HF_HUB_OFFLINE"})
    EXPECT_NE(r.out.find(option), std::string::npos) << option;
}

}  // namespace
}  // namespace qs::test::download_cli_test
