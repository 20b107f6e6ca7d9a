// Test helpers shared across suites: a scratch directory per test, and a check that a call
// throws qs::Error with a message naming what it should.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "core/error.h"

namespace qs::test {

// A fresh directory under the system temp dir, removed when the test ends.
class ScratchDir {
 public:
  ScratchDir() {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            (std::string("quantscope_") + info->test_suite_name() + "_" + info->name() + "_" +
             std::to_string(reinterpret_cast<uintptr_t>(this)));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path &path() const { return path_; }
  std::filesystem::path operator/(const std::string &name) const { return path_ / name; }

  std::filesystem::path write(const std::string &name, const std::vector<uint8_t> &bytes) const {
    const auto file = path_ / name;
    std::ofstream out(file, std::ios::binary);
    out.write(reinterpret_cast<const char *>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
    return file;
  }
  std::filesystem::path write_text(const std::string &name, const std::string &text) const {
    return write(name, std::vector<uint8_t>(text.begin(), text.end()));
  }

 private:
  std::filesystem::path path_;
};

// The message of the qs::Error fn throws, or "(no error)".
template <class Fn>
std::string error_of(Fn &&fn) {
  try {
    fn();
  } catch (const qs::Error &e) {
    return e.what();
  }
  return "(no error)";
}

// Runs fn, which must throw qs::Error whose message contains every one of `parts`.
template <class Fn>
void expect_error_containing(Fn &&fn, const std::vector<std::string> &parts) {
  try {
    fn();
    ADD_FAILURE() << "expected a qs::Error";
  } catch (const qs::Error &e) {
    const std::string message = e.what();
    for (const auto &part : parts) EXPECT_NE(message.find(part), std::string::npos) << "message: " << message << "\nmissing: " << part;
  }
}

}  // namespace qs::test
