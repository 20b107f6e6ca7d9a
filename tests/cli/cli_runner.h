// Runs the real quantscope binary (built alongside the tests) and captures its exit status,
// stdout and stderr, for end-to-end tests of the command line.
#pragma once

#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "test_support.h"

namespace qs::test {

struct CliResult {
  int status = -1;
  std::string out;
  std::string err;
};

// `args` is appended to the binary's path as a shell command line (quote paths yourself).
inline CliResult run_quantscope(const std::string &args) {
  ScratchDir scratch;
  const auto err_path = scratch.path() / "stderr";
  // Commands that keep jobs (measure, quantize) write to a database of this call's own, not the
  // user's, unless the test passes --db.
  const std::string command = "QUANTSCOPE_DB=" + (scratch.path() / "jobs.db").string() + " " +
                              std::string(QUANTSCOPE_BINARY) + " " + args + " 2>" + err_path.string();
  CliResult result;
  FILE *pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  std::array<char, 4096> buffer;
  size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) result.out.append(buffer.data(), n);
  const int raw = pclose(pipe);
  result.status = WIFEXITED(raw) ? WEXITSTATUS(raw) : -1;
  std::ifstream err(err_path);
  std::stringstream text;
  text << err.rdbuf();
  result.err = text.str();
  return result;
}

// A command that must fail on bad input: exit status 2 and one line on stderr naming every part.
inline void expect_one_line_error(const CliResult &r, const std::vector<std::string> &parts) {
  EXPECT_EQ(r.status, 2) << r.out << r.err;
  for (const auto &part : parts) EXPECT_NE(r.err.find(part), std::string::npos) << r.err << "\nmissing: " << part;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
}
inline void expect_one_line_error(const CliResult &r, const char *part) {
  expect_one_line_error(r, std::vector<std::string>{part});
}

inline std::string source_path(const std::string &relative) {
  return std::string(QUANTSCOPE_SOURCE_DIR) + "/" + relative;
}

}  // namespace qs::test
