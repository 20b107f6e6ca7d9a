// SHA-256 via libcrypto's EVP interface.
#include "hub/sha256.h"

#include <openssl/evp.h>

#include <fstream>
#include <vector>

#include "core/error.h"

namespace qs {

struct Sha256::State {
  EVP_MD_CTX *ctx = nullptr;
};

Sha256::Sha256() : state_(std::make_unique<State>()) {
  state_->ctx = EVP_MD_CTX_new();
  if (!state_->ctx || EVP_DigestInit_ex(state_->ctx, EVP_sha256(), nullptr) != 1) fail("libcrypto: SHA-256 unavailable");
}

Sha256::~Sha256() { EVP_MD_CTX_free(state_->ctx); }

void Sha256::update(const void *data, size_t n_bytes) {
  if (EVP_DigestUpdate(state_->ctx, data, n_bytes) != 1) fail("libcrypto: SHA-256 update failed");
}

std::string Sha256::hex_digest() {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(state_->ctx, digest, &n) != 1) fail("libcrypto: SHA-256 final failed");
  return lower_hex(digest, n);
}

std::string lower_hex(const unsigned char *bytes, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(2 * n);
  for (size_t i = 0; i < n; ++i) {
    hex += kDigits[bytes[i] >> 4];
    hex += kDigits[bytes[i] & 15];
  }
  return hex;
}

std::string sha256_hex(const std::string &bytes) {
  Sha256 hash;
  hash.update(bytes.data(), bytes.size());
  return hash.hex_digest();
}

std::string sha256_file_hex(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path.string(), ": cannot be opened to check its SHA-256");
  Sha256 hash;
  std::vector<char> buffer(1 << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    if (in.gcount() > 0) hash.update(buffer.data(), static_cast<size_t>(in.gcount()));
  }
  if (in.bad()) fail(path.string(), ": read error while checking its SHA-256");
  return hash.hex_digest();
}

}  // namespace qs
