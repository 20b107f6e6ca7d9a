// Sizes with units: the factors are the SI and IEC definitions, written out by hand.
#include <gtest/gtest.h>

#include "core/byte_size.h"
#include "test_support.h"

namespace qs::byte_size_test {
namespace {

TEST(ByteSize, PlainBytesAndUnits) {
  EXPECT_EQ(parse_byte_size("4718592000", "--size"), 4718592000ull);
  EXPECT_EQ(parse_byte_size("4500MB", "--size"), 4500000000ull);
  EXPECT_EQ(parse_byte_size("4500 mb", "--size"), 4500000000ull);
  EXPECT_EQ(parse_byte_size("2GiB", "--size"), 2147483648ull);
  EXPECT_EQ(parse_byte_size("1.5KiB", "--size"), 1536ull);
  EXPECT_EQ(parse_byte_size("3TB", "--size"), 3000000000000ull);
  EXPECT_EQ(parse_byte_size("12B", "--size"), 12ull);
  // 4.2 * 2^30 = 4509715660.8: whole bytes, rounded down so a budget is never exceeded.
  EXPECT_EQ(parse_byte_size("4.2GiB", "--size"), 4509715660ull);
  EXPECT_EQ(parse_byte_size("4.7e9", "--size"), 4700000000ull);
}

TEST(ByteSize, RefusesWhatCouldMeanTwoThings) {
  test::expect_error_containing([] { parse_byte_size("4G", "--size"); }, {"--size", "'4G'", "GB", "GiB"});
  test::expect_error_containing([] { parse_byte_size("4.2 gigs", "--gpu"); }, {"--gpu", "unknown unit"});
  test::expect_error_containing([] { parse_byte_size("", "--size"); }, {"is not a size"});
  test::expect_error_containing([] { parse_byte_size("-5GB", "--size"); }, {"is not a size"});
  test::expect_error_containing([] { parse_byte_size("0x10", "--size"); }, {"is not a size"});
  test::expect_error_containing([] { parse_byte_size("99999999TB", "--size"); }, {"too large"});
}

}  // namespace
}  // namespace qs::byte_size_test
