// Downloads from a mock Hub (tests/hub/mock_hub.h) on 127.0.0.1, through the library: listing,
// revision resolution, huggingface_hub's cache layout byte for byte, reuse of complete files,
// Range resume after a dropped connection, hash checks, the Hub's errors, timeouts, and the token
// going only to the endpoint's host.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cli/cli_process.h"
#include "cli/cli_runner.h"
#include "hub/hub_api.h"
#include "hub/hub_test_env.h"
#include "hub/mock_hub.h"
#include "hub/sha256.h"
#include "pipeline/download_job.h"
#include "test_support.h"

namespace qs::hub_download_test {
namespace {
namespace fs = std::filesystem;
using test::MockHub;
using test::MockRepoFile;

std::vector<MockRepoFile> tiny_repo_files() {
  return {{"config.json", test::slurp(test::source_path("models/kjv-llama/config.json")), false},
          {"tokenizer_config.json", test::slurp(test::source_path("models/kjv-llama/tokenizer_config.json")), false},
          {"model.safetensors", test::tiny_safetensors(64 * 1024), true},
          {"sub/extra.safetensors", test::tiny_safetensors(1000), true},
          {"pytorch_model.bin", std::string(5000, 'b'), true},
          {"README.md", "# tiny\n", false}};
}

// A mock Hub, a scratch cache and job database, and the environment pointing at them.
struct HubFixture {
  test::ScratchDir dir;
  MockHub hub{"org/tiny", tiny_repo_files()};
  test::ScopedEnv env{{{"HF_ENDPOINT", hub.endpoint()},
                       {"HF_HUB_CACHE", (dir / "hub").string()},
                       {"HF_HOME", (dir / "hf_home").string()},
                       {"HF_TOKEN", std::nullopt},
                       {"HF_TOKEN_PATH", std::nullopt},
                       {"HF_HUB_OFFLINE", std::nullopt}}};
  JobStore store{dir / "jobs.db"};
  HubClientOptions client{5, 3, 0.01};

  fs::path repo_dir() const { return dir / "hub" / "models--org--tiny"; }

  RunOutcome download(const DownloadRequest &request, const std::string &token = "") {
    const DownloadJob job = create_download_job(store, request, token, client);
    DownloadRunOptions options;
    options.token_flag = token;
    options.client = client;
    return run_download_job(store, job.id, {}, options);
  }
};

DownloadRequest tiny_request() {
  DownloadRequest r;
  r.repo_id = "org/tiny";
  return r;
}

std::string read_file(const fs::path &path) { return test::slurp(path); }

TEST(HubDownload, ListsTheRepoAndResolvesTheRevisionToItsCommit) {
  HubFixture f;
  const HubHttp http(f.hub.endpoint(), std::nullopt, f.client);
  const RepoListing listing = fetch_repo_listing(http, "org/tiny", "main");
  EXPECT_EQ(listing.commit, MockHub::kCommit);
  ASSERT_EQ(listing.files.size(), 6u);
  EXPECT_EQ(listing.files[0].path, "config.json");
  EXPECT_EQ(listing.files[0].etag, test::git_blob_id(f.hub.file("config.json").bytes));
  EXPECT_EQ(listing.files[0].sha256, "");
  const auto &weights = f.hub.file("model.safetensors").bytes;
  EXPECT_EQ(listing.files[2].path, "model.safetensors");
  EXPECT_EQ(listing.files[2].sha256, sha256_hex(weights));
  EXPECT_EQ(listing.files[2].etag, sha256_hex(weights));
  EXPECT_EQ(listing.files[2].size, static_cast<int64_t>(weights.size()));
  EXPECT_EQ(fetch_repo_listing(http, "org/tiny", MockHub::kCommit).commit, MockHub::kCommit);
}

TEST(HubDownload, WritesHuggingFaceHubsCacheLayoutByteForByte) {
  HubFixture f;
  const RunOutcome outcome = f.download(tiny_request());
  ASSERT_EQ(outcome.state, JobState::done) << outcome.error;
  EXPECT_EQ(outcome.units_total, 6);  // 5 files (not pytorch_model.bin: safetensors exist) + snapshot
  // refs/main holds the commit with no newline, as huggingface_hub writes it.
  EXPECT_EQ(read_file(f.repo_dir() / "refs" / "main"), MockHub::kCommit);
  const fs::path snapshot = f.repo_dir() / "snapshots" / MockHub::kCommit;
  for (const auto &file : f.hub.files()) {
    const fs::path link = snapshot / file.path;
    if (file.path == "pytorch_model.bin") {
      EXPECT_FALSE(fs::exists(fs::symlink_status(link)));
      continue;
    }
    const std::string etag = file.lfs ? sha256_hex(file.bytes) : test::git_blob_id(file.bytes);
    ASSERT_TRUE(fs::is_symlink(link)) << link;
    const std::string depth = file.path.find('/') == std::string::npos ? "../../" : "../../../";
    EXPECT_EQ(fs::read_symlink(link).string(), depth + "blobs/" + etag) << file.path;  // relative, as huggingface_hub's
    EXPECT_EQ(read_file(f.repo_dir() / "blobs" / etag), file.bytes) << file.path;
    EXPECT_EQ(read_file(link), file.bytes) << file.path;
  }
  size_t n_blobs = 0;
  for (const auto &entry : fs::directory_iterator(f.repo_dir() / "blobs")) {
    EXPECT_EQ(entry.path().extension(), "") << "left behind: " << entry.path();
    ++n_blobs;
  }
  EXPECT_EQ(n_blobs, 5u);
  // The token is nowhere in the job (there was none); the snapshot is the job's artifact.
  const auto artifacts = f.store.artifacts(1);
  ASSERT_EQ(artifacts.size(), 1u);
  EXPECT_EQ(artifacts[0].path, snapshot);
}

TEST(HubDownload, FilesAlreadyInTheCacheAreNotFetchedAgain) {
  HubFixture f;
  ASSERT_EQ(f.download(tiny_request()).state, JobState::done);
  const int64_t sent = f.hub.content_bytes_sent;
  // Another tool's download of the same blobs (or ours), with the snapshot links gone.
  fs::remove_all(f.repo_dir() / "snapshots");
  fs::remove_all(f.repo_dir() / "refs");
  ASSERT_EQ(f.download(tiny_request()).state, JobState::done);
  EXPECT_EQ(f.hub.content_bytes_sent, sent);
  EXPECT_TRUE(fs::is_symlink(f.repo_dir() / "snapshots" / MockHub::kCommit / "model.safetensors"));
  EXPECT_EQ(read_file(f.repo_dir() / "refs" / "main"), MockHub::kCommit);
}

TEST(HubDownload, DroppedConnectionResumesWithARangeForTheRestOnly) {
  HubFixture f;
  DownloadRequest request = tiny_request();
  request.include = {"model.safetensors"};
  const int64_t size = static_cast<int64_t>(f.hub.file("model.safetensors").bytes.size());
  f.hub.drop_after_bytes = 100000;
  ASSERT_EQ(f.download(request).state, JobState::done);
  // 100000 bytes before the drop, then exactly the remainder: nothing moved twice.
  EXPECT_EQ(f.hub.bytes_sent_of("model.safetensors"), size);
  std::vector<std::string> ranges;
  for (const auto &r : f.hub.requests())
    if (r.path.rfind("/cdn/", 0) == 0) ranges.push_back(r.range);
  EXPECT_EQ(ranges, (std::vector<std::string>{"", "bytes=100000-"}));
  EXPECT_EQ(read_file(f.repo_dir() / "snapshots" / MockHub::kCommit / "model.safetensors"), f.hub.file("model.safetensors").bytes);
}

TEST(HubDownload, PartialBlobLeftByAnotherRunIsContinued) {
  HubFixture f;
  const auto &bytes = f.hub.file("model.safetensors").bytes;
  fs::create_directories(f.repo_dir() / "blobs");
  {
    std::ofstream partial(f.repo_dir() / "blobs" / (sha256_hex(bytes) + ".incomplete"), std::ios::binary);
    partial.write(bytes.data(), 70000);
  }
  DownloadRequest request = tiny_request();
  request.include = {"model.safetensors"};
  ASSERT_EQ(f.download(request).state, JobState::done);
  EXPECT_EQ(f.hub.bytes_sent_of("model.safetensors"), static_cast<int64_t>(bytes.size()) - 70000);
  EXPECT_EQ(read_file(f.repo_dir() / "blobs" / sha256_hex(bytes)), bytes);
}

TEST(HubDownload, ServerErrorsAreRetriedWithBackoff) {
  HubFixture f;
  DownloadRequest request = tiny_request();
  request.include = {"config.json"};
  f.hub.unavailable_answers = 2;
  ASSERT_EQ(f.download(request).state, JobState::done);
  int resolves = 0;
  for (const auto &r : f.hub.requests()) resolves += r.path.find("/resolve/") != std::string::npos;
  EXPECT_EQ(resolves, 3);  // 503, 503, then the file
  EXPECT_EQ(read_file(f.repo_dir() / "snapshots" / MockHub::kCommit / "config.json"), f.hub.file("config.json").bytes);

  HubFixture g;
  g.client.max_retries = 1;
  g.hub.unavailable_answers = 5;
  const RunOutcome outcome = g.download(request);
  EXPECT_EQ(outcome.state, JobState::failed);
  EXPECT_NE(outcome.error.find("HTTP 503"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("gave up after 2 attempts"), std::string::npos) << outcome.error;
}

TEST(HubDownload, WrongHashIsRefetchedOnceThenFails) {
  HubFixture f;
  DownloadRequest request = tiny_request();
  request.include = {"model.safetensors"};
  const auto &bytes = f.hub.file("model.safetensors").bytes;
  f.hub.corrupt_serves = 1;
  ASSERT_EQ(f.download(request).state, JobState::done);
  EXPECT_EQ(f.hub.bytes_sent_of("model.safetensors"), 2 * static_cast<int64_t>(bytes.size()));
  EXPECT_EQ(read_file(f.repo_dir() / "blobs" / sha256_hex(bytes)), bytes);

  HubFixture g;
  g.hub.corrupt_serves = 2;
  const RunOutcome outcome = g.download(request);
  EXPECT_EQ(outcome.state, JobState::failed);
  EXPECT_NE(outcome.error.find("hash mismatch for model.safetensors"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find(sha256_hex(bytes)), std::string::npos) << outcome.error;
  EXPECT_FALSE(fs::exists(g.repo_dir() / "blobs" / sha256_hex(bytes)));
  EXPECT_FALSE(fs::exists(g.repo_dir() / "blobs" / (sha256_hex(bytes) + ".incomplete")));
  EXPECT_FALSE(fs::exists(fs::symlink_status(g.repo_dir() / "snapshots" / MockHub::kCommit / "model.safetensors")));
}

TEST(HubDownload, HubErrorsSayWhatToDo) {
  HubFixture f;
  f.hub.required_token = "hf_right";
  test::expect_error_containing([&] { f.download(tiny_request()); }, {"401", "org/tiny", "token", "HF_TOKEN"});
  test::expect_error_containing([&] { f.download(tiny_request(), "hf_wrong"); }, {"401"});
  EXPECT_EQ(test::error_of([&] { f.download(tiny_request(), "hf_wrong"); }).find("hf_wrong"), std::string::npos);
  EXPECT_EQ(f.download(tiny_request(), "hf_right").state, JobState::done);

  HubFixture g;
  g.hub.gated = true;
  test::expect_error_containing([&] { g.download(tiny_request()); }, {"403", "gated", g.hub.endpoint() + "/org/tiny"});
  g.hub.gated = false;
  g.hub.gated_files = true;  // as huggingface.co does: the listing is public, the files are not
  const RunOutcome gated_files = g.download(tiny_request());
  EXPECT_EQ(gated_files.state, JobState::failed);
  for (const std::string &part : std::vector<std::string>{"403", "gated repo", "accept its conditions at " + g.hub.endpoint() + "/org/tiny"})
    EXPECT_NE(gated_files.error.find(part), std::string::npos) << gated_files.error;
  EXPECT_FALSE(fs::exists(g.repo_dir() / "snapshots" / MockHub::kCommit / "config.json"));

  HubFixture h;
  DownloadRequest unknown = tiny_request();
  unknown.repo_id = "org/nothing";
  test::expect_error_containing([&] { h.download(unknown); }, {"404", "no model repo 'org/nothing'"});
  DownloadRequest bad_revision = tiny_request();
  bad_revision.revision = "v9";
  test::expect_error_containing([&] { h.download(bad_revision); }, {"404", "no revision 'v9'"});
  test::expect_error_containing([&] { h.download({"../etc", "main", {}, {}}); }, {"not a Hugging Face repo id"});
  DownloadRequest nothing = tiny_request();
  nothing.include = {"*.nothing"};
  test::expect_error_containing([&] { h.download(nothing); }, {"no file of org/tiny"});
}

TEST(HubDownload, MissingFileIsA404NamingIt) {
  HubFixture f;
  const HubHttp http(f.hub.endpoint(), std::nullopt, f.client);
  HubRepoCache cache("org/tiny");
  cache.prepare();
  test::expect_error_containing(
      [&] { fetch_hub_file(http, cache, "org/tiny", MockHub::kCommit, {"gone.json", 3, "abc", ""}); },
      {"404", "gone.json"});
}

TEST(HubDownload, SlowServerTimesOut) {
  HubFixture f;
  f.hub.listing_delay_ms = 3000;
  f.client = {1, 0, 0.01};  // 1 s without a byte is a stall; no retry
  test::expect_error_containing([&] { f.download(tiny_request()); }, {"timed out", "/api/models/org/tiny"});
}

TEST(HubDownload, TokenGoesOnlyToTheEndpointHostNeverToTheRedirect) {
  HubFixture f;
  f.hub.required_token = "hf_secret";
  ASSERT_EQ(f.download(tiny_request(), "hf_secret").state, JobState::done);
  int to_endpoint = 0, to_cdn = 0;
  for (const auto &r : f.hub.requests()) {
    if (r.host.rfind("127.0.0.1:", 0) == 0) {
      EXPECT_EQ(r.authorization, "Bearer hf_secret") << r.path;
      ++to_endpoint;
    } else {
      EXPECT_EQ(r.host.rfind("localhost:", 0), 0u) << r.host;
      EXPECT_EQ(r.authorization, "") << r.path;
      ++to_cdn;
    }
  }
  EXPECT_GE(to_endpoint, 5);  // the listing, two small files, the LFS resolves
  EXPECT_EQ(to_cdn, 2);       // the two LFS files
  // And the token is not in the job's params.
  EXPECT_EQ(f.store.job(1).params.dump().find("hf_secret"), std::string::npos);
}

TEST(HubDownload, DiskFullIsAClearError) {
  HubFixture f;
  DownloadRequest request = tiny_request();
  request.include = {"model.safetensors"};
  const std::string sha = sha256_hex(f.hub.file("model.safetensors").bytes);
  // The partial blob is /dev/full: every write fails with ENOSPC, as on a full disk.
  fs::create_directories(f.repo_dir() / "blobs");
  fs::create_symlink("/dev/full", f.repo_dir() / "blobs" / (sha + ".incomplete"));
  const RunOutcome outcome = f.download(request);
  EXPECT_EQ(outcome.state, JobState::failed);
  EXPECT_NE(outcome.error.find("disk full writing " + (f.repo_dir() / "blobs" / (sha + ".incomplete")).string()),
            std::string::npos) << outcome.error;
  EXPECT_FALSE(fs::exists(f.repo_dir() / "blobs" / sha));
  EXPECT_FALSE(fs::exists(fs::symlink_status(f.repo_dir() / "snapshots" / MockHub::kCommit / "model.safetensors")));
}

TEST(HubDownload, UnwritableCacheIsAClearError) {
  HubFixture f;
  // A cache folder that cannot be created (a file stands in its path); unlike a read-only
  // folder, this holds for root too.
  f.dir.write_text("a_file", "x");
  test::ScopedEnv env(test::EnvList{{"HF_HUB_CACHE", (f.dir / "a_file" / "hub").string()}});
  const RunOutcome outcome = f.download(tiny_request());
  EXPECT_EQ(outcome.state, JobState::failed);
  EXPECT_NE(outcome.error.find("cache directory"), std::string::npos) << outcome.error;
  EXPECT_NE(outcome.error.find("is not writable"), std::string::npos) << outcome.error;
  EXPECT_EQ(f.store.finished_units(1).size(), 0u);
  if (geteuid() == 0) return;  // root writes into read-only folders
  fs::create_directories(f.dir / "ro");
  fs::permissions(f.dir / "ro", fs::perms::owner_read | fs::perms::owner_exec);
  test::ScopedEnv read_only(test::EnvList{{"HF_HUB_CACHE", (f.dir / "ro").string()}});
  const RunOutcome refused = f.download(tiny_request());
  fs::permissions(f.dir / "ro", fs::perms::owner_all);
  EXPECT_EQ(refused.state, JobState::failed);
  EXPECT_NE(refused.error.find("is not writable"), std::string::npos) << refused.error;
}

// Asks for `state` from another connection once the mock has sent `after_bytes` of content.
std::thread request_state_later(HubFixture &f, int64_t job_id, JobState state, int64_t after_bytes) {
  return std::thread([&f, job_id, state, after_bytes] {
    // (Bounded only so that a broken download fails the test instead of hanging it.)
    for (int i = 0; i < 24000 && f.hub.content_bytes_sent < after_bytes; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    JobStore other(f.dir / "jobs.db");
    if (state == JobState::paused) other.pause_job(job_id);
    else other.cancel_job(job_id);
  });
}

TEST(HubDownload, PauseMidFileKeepsThePartialBlobAndResumeSendsOnlyTheRest) {
  HubFixture f;
  DownloadRequest request = tiny_request();
  request.include = {"model.safetensors"};
  const auto &bytes = f.hub.file("model.safetensors").bytes;
  const fs::path partial = f.repo_dir() / "blobs" / (sha256_hex(bytes) + ".incomplete");
  const DownloadJob job = create_download_job(f.store, request, "", f.client);
  DownloadRunOptions options;
  options.client = f.client;
  RunOptions run;
  run.renew_every_seconds = 0.05;
  f.hub.chunk_delay_ms = 20;
  std::thread pauser = request_state_later(f, job.id, JobState::paused, 8192);
  const RunOutcome paused = run_download_job(f.store, job.id, run, options);
  pauser.join();
  ASSERT_EQ(paused.state, JobState::paused) << paused.error;
  ASSERT_TRUE(fs::exists(partial));
  const auto kept = static_cast<int64_t>(fs::file_size(partial));
  EXPECT_GT(kept, 0);
  EXPECT_LT(kept, static_cast<int64_t>(bytes.size()));

  f.hub.chunk_delay_ms = 0;
  f.store.resume_job(job.id);
  ASSERT_EQ(run_download_job(f.store, job.id, run, options).state, JobState::done);
  // The resumed request asked for the rest and got exactly that.
  const test::MockRequest last = f.hub.requests().back();
  EXPECT_EQ(last.range, "bytes=" + std::to_string(kept) + "-");
  EXPECT_EQ(last.content_bytes_sent, static_cast<int64_t>(bytes.size()) - kept);
  EXPECT_EQ(read_file(f.repo_dir() / "blobs" / sha256_hex(bytes)), bytes);
}

TEST(HubDownload, CancelMidFileRemovesThePartialBlob) {
  HubFixture f;
  DownloadRequest request = tiny_request();
  request.include = {"model.safetensors"};
  const fs::path partial =
      f.repo_dir() / "blobs" / (sha256_hex(f.hub.file("model.safetensors").bytes) + ".incomplete");
  const DownloadJob job = create_download_job(f.store, request, "", f.client);
  DownloadRunOptions options;
  options.client = f.client;
  RunOptions run;
  run.renew_every_seconds = 0.05;
  f.hub.chunk_delay_ms = 20;
  std::thread canceller = request_state_later(f, job.id, JobState::cancelled, 8192);
  const RunOutcome outcome = run_download_job(f.store, job.id, run, options);
  canceller.join();
  EXPECT_EQ(outcome.state, JobState::cancelled) << outcome.error;
  EXPECT_FALSE(fs::exists(partial));
  EXPECT_FALSE(fs::exists(f.repo_dir() / "blobs" / sha256_hex(f.hub.file("model.safetensors").bytes)));
}

}  // namespace
}  // namespace qs::hub_download_test
