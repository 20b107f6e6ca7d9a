// SHA-256 (FIPS 180-4) through OpenSSL's libcrypto, to check downloaded LFS files against the
// hash the Hub lists for them.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>

namespace qs {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256 &) = delete;
  Sha256 &operator=(const Sha256 &) = delete;
  void update(const void *data, size_t n_bytes);
  std::string hex_digest();  // lower-case, 64 characters; ends the hash

 private:
  struct State;
  std::unique_ptr<State> state_;
};

std::string sha256_hex(const std::string &bytes);
// Bytes as lower-case hex, two characters each (a digest as the Hub and git spell it).
std::string lower_hex(const unsigned char *bytes, size_t n);
std::string sha256_file_hex(const std::filesystem::path &path);  // throws qs::Error if unreadable

}  // namespace qs
