// Runs the real quantscope binary as a child process with an argument vector (no shell), its
// stdout and stderr going to files in a scratch directory: to completion, or in the background
// for tests that pause, cancel or kill it.
#pragma once

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace qs::test {

struct CliRun {
  int exit_code = -1;  // 128 + signal when a signal ended it
  std::string out, err;
};

inline std::string slurp(const std::filesystem::path &path) {
  std::ifstream file(path, std::ios::binary);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// Starts quantscope with `args`, stdout/stderr to `<name>.out` / `<name>.err` in `dir`; `env`
// entries ("NAME=value") are added to its environment.
inline pid_t spawn_cli(const ScratchDir &dir, std::vector<std::string> args, const std::string &name = "cli",
                       std::vector<std::string> env = {}) {
  const auto out_path = dir / (name + ".out");
  const auto err_path = dir / (name + ".err");
  std::fflush(nullptr);
  const pid_t pid = fork();
  if (pid == 0) {
    const int out = open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    const int err = open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(out, 1);
    dup2(err, 2);
    // Commands that keep jobs use a database in the test's directory unless told otherwise.
    static std::string default_db = "QUANTSCOPE_DB=" + (dir.path() / "jobs.db").string();
    putenv(default_db.data());
    for (auto &entry : env) putenv(entry.data());
    std::vector<char *> argv{const_cast<char *>(QUANTSCOPE_BINARY)};
    for (auto &arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(QUANTSCOPE_BINARY, argv.data());
    _exit(127);
  }
  return pid;
}

// Waits for a spawned run and collects what it printed.
inline CliRun finish_cli(const ScratchDir &dir, pid_t pid, const std::string &name = "cli") {
  CliRun result;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = slurp(dir / (name + ".out"));
  result.err = slurp(dir / (name + ".err"));
  return result;
}

inline CliRun run_cli(const ScratchDir &dir, std::vector<std::string> args, std::vector<std::string> env = {}) {
  return finish_cli(dir, spawn_cli(dir, std::move(args), "cli", std::move(env)));
}

}  // namespace qs::test
