// What the API handlers share: the server's settings, its path guard, a job database connection
// for requests, and the job runner they hand new and resumed jobs to.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <vector>

#include "jobs/job_store.h"
#include "server/path_guard.h"
#include "server/server_job_runner.h"

namespace qs::server {

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string db;                   // "" = the default job database
  std::vector<std::string> roots;   // empty = the current directory
  std::string token;                // "" = generated when the host is not loopback
};

struct ServerContext {
  std::filesystem::path db_path;
  PathGuard guard;
  bool token_required = false;
  JobStore &store;             // shared by the request handlers (it locks per call)
  ServerJobRunner &runner;
  std::atomic<bool> &stopping;  // set when the server shuts down: event streams end
};

}  // namespace qs::server
