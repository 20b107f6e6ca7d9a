// A real `quantscope serve` for end-to-end tests: started as a child process on 127.0.0.1 with
// --port 0, a scratch job database and root, its URL read from what it prints; stopped with
// SIGTERM at the end of the test (and its exit status checked). Requests go through cpp-httplib's
// client.
#pragma once

#include <httplib.h>
#include <signal.h>

#include <chrono>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_process.h"
#include "test_support.h"

namespace qs::test {

inline const std::string kShippedModel = std::string(QUANTSCOPE_SOURCE_DIR) + "/models/kjv-llama";
inline const std::string kShippedText = kShippedModel + "/calibration.txt";

class ServerProcess {
 public:
  // `args` after `serve --port 0`, e.g. {"--db", db, "--root", dir}.
  ServerProcess(const ScratchDir &dir, std::vector<std::string> args) : dir_(dir) {
    args.insert(args.begin(), {"serve", "--port", "0"});
    pid_ = spawn_cli(dir, args, "serve");
    // Polls what it printed until the URL is there (or it exited).
    const std::regex listening(R"(listening on http://([^:/]+):(\d+)/(#token=([0-9a-zA-Z]+))?)");
    for (int attempt = 0; attempt < 2000 && port_ == 0; ++attempt) {
      std::smatch m;
      const std::string out = slurp(dir / "serve.out");
      if (std::regex_search(out, m, listening)) {
        host_ = m[1];
        port_ = std::stoi(m[2]);
        token_ = m[4];
        break;
      }
      if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  ~ServerProcess() { stop(); }

  // SIGTERM, then the exit status (0 when it shut down cleanly).
  int stop() {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, SIGTERM);
    const CliRun run = finish_cli(dir_, pid_, "serve");
    pid_ = -1;
    exit_code_ = run.exit_code;
    err_ = run.err;
    return exit_code_;
  }

  bool started() const { return port_ != 0; }
  bool alive() const { return pid_ > 0 && waitpid(pid_, nullptr, WNOHANG) == 0; }
  int port() const { return port_; }
  const std::string &token() const { return token_; }
  const std::string &stderr_text() const { return err_; }
  std::string printed() const { return slurp(dir_ / "serve.out") + slurp(dir_ / "serve.err"); }

  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(600, 0);
    return c;
  }

  httplib::Headers json_headers() const {
    httplib::Headers h;
    if (!token_.empty()) h.emplace("Authorization", "Bearer " + token_);
    return h;
  }

  httplib::Result get(const std::string &path) { return client().Get(path.c_str(), json_headers()); }
  httplib::Result post(const std::string &path, const nlohmann::json &body) {
    return client().Post(path.c_str(), json_headers(), body.dump(), "application/json");
  }

 private:
  const ScratchDir &dir_;
  pid_t pid_ = -1;
  std::string host_, token_, err_;
  int port_ = 0;
  int exit_code_ = -1;
};

inline nlohmann::json body_json(const httplib::Result &result) {
  if (!result) return nullptr;
  return nlohmann::json::parse(result->body, nullptr, false);
}

// The job's JSON once `done(job)` holds, polling (bounded by a count, not by time).
template <class Done>
nlohmann::json wait_for_job(ServerProcess &server, int64_t id, Done done) {
  nlohmann::json job;
  for (int attempt = 0; attempt < 20000; ++attempt) {
    job = body_json(server.get("/api/jobs/" + std::to_string(id)));
    if (job.is_object() && done(job)) return job;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return job;
}

// The job's JSON once it has stopped running (done, failed, paused or cancelled).
inline nlohmann::json wait_for_job_to_stop(ServerProcess &server, int64_t id) {
  return wait_for_job(server, id, [](const nlohmann::json &j) { return j["state"] != "queued" && j["state"] != "running"; });
}

}  // namespace qs::test
