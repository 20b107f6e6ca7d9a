// The GGUF reader on files assembled byte by byte from the specification: every value type,
// v2 and v3, custom alignment, and each kind of corruption refused with a message naming the file.
#include <gtest/gtest.h>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_bytes.h"

namespace qs::gguf_reader_test {
namespace {

using test::GgufBytes;
using test::ScratchDir;

// One F32 tensor "w" of shape [4, 2] (ne0 = 4) holding 0..7, plus two metadata keys.
GgufBytes minimal_file(uint32_t version = 3) {
  GgufBytes b;
  b.header(version, 1, 2).kv_string("general.architecture", "llama").kv_u32("general.alignment", 32);
  b.tensor_info("w", {4, 2}, 0, 0).pad_to(32);
  for (int i = 0; i < 8; ++i) b.f32(static_cast<float>(i));
  return b;
}

std::string open_error(const GgufBytes &b) {
  ScratchDir dir;
  b.save(dir.path() / "m.gguf");
  try {
    gguf::GgufFile::open(dir.path() / "m.gguf");
  } catch (const Error &e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("m.gguf"), std::string::npos) << "message does not name the file: " << message;
    return message;
  }
  return "";
}

TEST(GgufReader, ReadsAMinimalFileBuiltFromTheSpec) {
  ScratchDir dir;
  minimal_file().save(dir.path() / "m.gguf");
  const auto f = gguf::GgufFile::open(dir.path() / "m.gguf");
  EXPECT_EQ(f.version(), 3u);
  ASSERT_EQ(f.metadata().size(), 2u);
  EXPECT_EQ(f.get("general.architecture").as_string(), "llama");
  EXPECT_EQ(f.get("general.alignment").as_int(), 32);
  ASSERT_EQ(f.tensors().size(), 1u);
  const auto &t = f.tensors()[0];
  EXPECT_EQ(t.name, "w");
  EXPECT_EQ(t.shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(t.type, GgmlType::F32);
  EXPECT_EQ(t.n_bytes, 32u);
  // Header: 4+4+8+8, key 8+20+4+8+5, key 8+17+4+4, info 8+1+4+16+4+8 = 135 -> data at 160.
  EXPECT_EQ(f.data_offset(), 160u);
  const auto data = f.tensor_data(t);
  float values[8];
  std::memcpy(values, data.data(), sizeof values);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(values[i], static_cast<float>(i));
}

TEST(GgufReader, ReadsVersion2) {
  ScratchDir dir;
  minimal_file(2).save(dir.path() / "m.gguf");
  EXPECT_EQ(gguf::GgufFile::open(dir.path() / "m.gguf").version(), 2u);
}

TEST(GgufReader, ReadsEveryValueTypeIncludingNestedArrays) {
  GgufBytes b;
  b.header(3, 0, 14);
  b.str("u8").u32(0).u8(200);
  b.str("i8").u32(1).raw<int8_t>(-5);
  b.str("u16").u32(2).raw<uint16_t>(65000);
  b.str("i16").u32(3).raw<int16_t>(-30000);
  b.str("u32").u32(4).u32(4000000000u);
  b.str("i32").u32(5).raw<int32_t>(-2000000000);
  b.str("f32").u32(6).f32(1.5f);
  b.str("bool").u32(7).u8(1);
  b.str("str").u32(8).str("h\xc3\xa9llo");
  b.str("u64").u32(10).u64(1ull << 40);
  b.str("i64").u32(11).raw<int64_t>(-(1ll << 40));
  b.str("f64").u32(12).raw<double>(2.25);
  b.str("strings").u32(9).u32(8).u64(3).str("a").str("").str("ccc");
  // An array of two arrays of i32: [[1, 2], [3]].
  b.str("nested").u32(9).u32(9).u64(2).u32(5).u64(2).raw<int32_t>(1).raw<int32_t>(2).u32(5).u64(1).raw<int32_t>(3);
  ScratchDir dir;
  b.save(dir.path() / "v.gguf");
  const auto f = gguf::GgufFile::open(dir.path() / "v.gguf");
  EXPECT_EQ(f.get("u8").as_int(), 200);
  EXPECT_EQ(f.get("i8").as_int(), -5);
  EXPECT_EQ(f.get("u16").as_int(), 65000);
  EXPECT_EQ(f.get("i16").as_int(), -30000);
  EXPECT_EQ(f.get("u32").as_int(), 4000000000ll);
  EXPECT_EQ(f.get("i32").as_int(), -2000000000);
  EXPECT_EQ(f.get("f32").as_float(), 1.5);
  EXPECT_EQ(f.get("bool").type(), gguf::ValueType::BOOL);
  EXPECT_EQ(f.get("bool").as_int(), 1);
  EXPECT_EQ(f.get("str").as_string(), "h\xc3\xa9llo");
  EXPECT_EQ(f.get("u64").as_int(), 1ll << 40);
  EXPECT_EQ(f.get("i64").as_int(), -(1ll << 40));
  EXPECT_EQ(f.get("f64").as_float(), 2.25);
  const auto &strings = f.get("strings").as_array();
  EXPECT_EQ(strings.element_type, gguf::ValueType::STRING);
  ASSERT_EQ(strings.items.size(), 3u);
  EXPECT_EQ(strings.items[2].as_string(), "ccc");
  const auto &nested = f.get("nested").as_array();
  ASSERT_EQ(nested.items.size(), 2u);
  EXPECT_EQ(nested.items[0].as_array().items[1].as_int(), 2);
  EXPECT_EQ(nested.items[1].as_array().items[0].as_int(), 3);
  // Metadata order is the file's order.
  EXPECT_EQ(f.metadata().front().key, "u8");
  EXPECT_EQ(f.metadata().back().key, "nested");
}

TEST(GgufReader, HonoursACustomAlignment) {
  GgufBytes b;
  b.header(3, 2, 1).kv_u32("general.alignment", 64);
  // Q8_0 tensor of one block (34 bytes) at 0, F32 tensor at 64 (next multiple of 64).
  b.tensor_info("q", {32}, 8, 0).tensor_info("f", {2}, 0, 64).pad_to(64);
  for (int i = 0; i < 64; ++i) b.u8(static_cast<uint8_t>(i));
  b.f32(3.0f).f32(4.0f);
  ScratchDir dir;
  b.save(dir.path() / "a.gguf");
  const auto f = gguf::GgufFile::open(dir.path() / "a.gguf");
  EXPECT_EQ(f.alignment(), 64u);
  EXPECT_EQ(f.data_offset() % 64, 0u);
  const auto data = f.tensor_data(*f.find_tensor("f"));
  float v[2];
  std::memcpy(v, data.data(), 8);
  EXPECT_EQ(v[0], 3.0f);
  EXPECT_EQ(v[1], 4.0f);
  EXPECT_EQ(f.find_tensor("q")->n_bytes, 34u);
}

TEST(GgufReader, EveryTruncationIsAClearError) {
  const GgufBytes full = minimal_file();
  for (size_t length = 0; length < full.bytes.size(); ++length) {
    GgufBytes cut;
    cut.bytes.assign(full.bytes.begin(), full.bytes.begin() + static_cast<std::ptrdiff_t>(length));
    EXPECT_FALSE(open_error(cut).empty()) << "prefix of " << length << " bytes accepted";
  }
}

TEST(GgufReader, RefusesBadMagicAndVersions) {
  GgufBytes b = minimal_file();
  b.bytes[0] = 'X';
  EXPECT_NE(open_error(b).find("magic"), std::string::npos);
  EXPECT_NE(open_error(minimal_file(1)).find("version"), std::string::npos);
  EXPECT_NE(open_error(minimal_file(4)).find("version"), std::string::npos);
}

TEST(GgufReader, RefusesAbsurdCountsWithoutAllocating) {
  GgufBytes tensors;
  tensors.header(3, 1ull << 60, 0);
  EXPECT_NE(open_error(tensors).find("tensors"), std::string::npos);
  GgufBytes kvs;
  kvs.header(3, 0, 1ull << 60);
  EXPECT_NE(open_error(kvs).find("metadata"), std::string::npos);
  GgufBytes string_length;
  string_length.header(3, 0, 1).u64(1ull << 62);
  EXPECT_FALSE(open_error(string_length).empty());
  GgufBytes array_length;
  array_length.header(3, 0, 1).str("a").u32(9).u32(5).u64(1ull << 61);
  EXPECT_NE(open_error(array_length).find("array"), std::string::npos);
  GgufBytes dims;
  dims.header(3, 1, 0).tensor_info("w", {1ull << 40, 1ull << 40}, 0, 0).pad_to(32);
  EXPECT_FALSE(open_error(dims).empty());
}

TEST(GgufReader, RefusesBadTensorTables) {
  {  // data offset past the end of the file
    GgufBytes b;
    b.header(3, 1, 0).tensor_info("w", {8}, 0, 1024).pad_to(32);
    for (int i = 0; i < 8; ++i) b.f32(0);
    EXPECT_NE(open_error(b).find("past the end"), std::string::npos);
  }
  {  // two tensors sharing bytes
    GgufBytes b;
    b.header(3, 2, 0).tensor_info("a", {8}, 0, 0).tensor_info("b", {8}, 0, 0).pad_to(32);
    for (int i = 0; i < 8; ++i) b.f32(0);
    EXPECT_NE(open_error(b).find("overlap"), std::string::npos);
  }
  {  // duplicate names
    GgufBytes b;
    b.header(3, 2, 0).tensor_info("a", {8}, 0, 0).tensor_info("a", {8}, 0, 32).pad_to(32);
    for (int i = 0; i < 16; ++i) b.f32(0);
    EXPECT_NE(open_error(b).find("duplicate tensor"), std::string::npos);
  }
  {  // misaligned offset
    GgufBytes b;
    b.header(3, 1, 0).tensor_info("a", {4}, 0, 4).pad_to(32);
    for (int i = 0; i < 8; ++i) b.f32(0);
    EXPECT_NE(open_error(b).find("aligned"), std::string::npos);
  }
  {  // unknown type id
    GgufBytes b;
    b.header(3, 1, 0).tensor_info("a", {4}, 31, 0).pad_to(32);
    EXPECT_NE(open_error(b).find("type"), std::string::npos);
  }
  {  // five dimensions
    GgufBytes b;
    b.header(3, 1, 0).tensor_info("a", {1, 1, 1, 1, 1}, 0, 0).pad_to(32);
    EXPECT_NE(open_error(b).find("dimensions"), std::string::npos);
  }
  {  // row not a multiple of the block size: 16 values of Q4_0 (block 32)
    GgufBytes b;
    b.header(3, 1, 0).tensor_info("a", {16}, 2, 0).pad_to(32);
    for (int i = 0; i < 32; ++i) b.u8(0);
    EXPECT_NE(open_error(b).find("block size"), std::string::npos);
  }
}

TEST(GgufReader, RefusesBadMetadata) {
  {
    GgufBytes b;
    b.header(3, 0, 1).str("bad\xff key").u32(4).u32(1);
    EXPECT_NE(open_error(b).find("UTF-8"), std::string::npos);
  }
  {
    GgufBytes b;
    b.header(3, 0, 2).kv_u32("k", 1).kv_u32("k", 2);
    EXPECT_NE(open_error(b).find("duplicate metadata key"), std::string::npos);
  }
  {
    GgufBytes b;
    b.header(3, 0, 1).str("k").u32(7).u8(2);
    EXPECT_NE(open_error(b).find("bool"), std::string::npos);
  }
  {
    GgufBytes b;
    b.header(3, 0, 1).str("k").u32(13).u32(0);
    EXPECT_NE(open_error(b).find("unknown value type"), std::string::npos);
  }
  {
    GgufBytes b;
    b.header(3, 0, 1).kv_u32("general.alignment", 24);
    EXPECT_NE(open_error(b).find("power of two"), std::string::npos);
  }
}

TEST(GgufReader, MissingFileIsAClearError) {
  try {
    gguf::GgufFile::open("/nonexistent/model.gguf");
    FAIL();
  } catch (const Error &e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.gguf"), std::string::npos);
  }
}

}  // namespace
}  // namespace qs::gguf_reader_test
