// SHA-256 against the FIPS 180-4 example vectors (NIST's "SHA256.pdf" examples and the
// one-million-'a' vector), in one piece and fed in uneven parts.
#include <gtest/gtest.h>

#include "hub/sha256.h"
#include "test_support.h"

namespace qs::sha256_test {
namespace {

TEST(HubSha256, FipsExampleVectors) {
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(sha256_hex(std::string(1000000, 'a')), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(HubSha256, PartsAndFilesGiveTheSameDigest) {
  const std::string text = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
  Sha256 hash;
  hash.update(text.data(), 3);
  hash.update(text.data() + 3, text.size() - 3);
  EXPECT_EQ(hash.hex_digest(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  test::ScratchDir dir;
  EXPECT_EQ(sha256_file_hex(dir.write_text("f", text)), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

}  // namespace
}  // namespace qs::sha256_test
