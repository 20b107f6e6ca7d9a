// Scoped environment variables for the hub tests (HF_ENDPOINT, HF_HUB_CACHE, ...), restored after.
#pragma once

#include <cstdlib>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace qs::test {

using EnvList = std::vector<std::pair<std::string, std::optional<std::string>>>;  // nullopt: unset

class ScopedEnv {
 public:
  explicit ScopedEnv(EnvList vars) {
    for (auto &[name, value] : vars) {
      const char *old = std::getenv(name.c_str());
      saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
      if (value) setenv(name.c_str(), value->c_str(), 1);
      else unsetenv(name.c_str());
    }
  }
  ~ScopedEnv() {
    for (auto &[name, value] : saved_) {
      if (value) setenv(name.c_str(), value->c_str(), 1);
      else unsetenv(name.c_str());
    }
  }
  ScopedEnv(const ScopedEnv &) = delete;
  ScopedEnv &operator=(const ScopedEnv &) = delete;

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

}  // namespace qs::test
