// The safetensors reader against files written byte by byte from the format definition: values
// from known bit patterns, sharded checkpoints, and every kind of malformed input.
#include "formats/safetensors.h"

#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <cmath>

#include "formats/safetensors_test_files.h"

namespace qs::safetensors_test {
namespace {

using test::append_u16;
using test::append_u32;
using test::expect_error_containing;
using test::safetensors_bytes;
using test::ScratchDir;

// Seven tensors, one per float dtype plus an integer one and an empty one. Offsets laid out by
// hand: a [0,8) b [8,16) c [16,22) d [22,27) e [27,29) f [29,33) z [33,33).
std::vector<uint8_t> every_dtype_file() {
  const std::string header =
      R"({"c":{"dtype":"BF16","shape":[3],"data_offsets":[16,22]},)"
      R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
      R"("b":{"dtype":"F16","shape":[2,2],"data_offsets":[8,16]},)"
      R"("d":{"dtype":"F8_E4M3","shape":[5],"data_offsets":[22,27]},)"
      R"("e":{"dtype":"F8_E5M2","shape":[2],"data_offsets":[27,29]},)"
      R"("f":{"dtype":"I32","shape":[1],"data_offsets":[29,33]},)"
      R"("z":{"dtype":"F32","shape":[0,4],"data_offsets":[33,33]},)"
      R"("__metadata__":{"format":"pt"}})";
  std::vector<uint8_t> data;
  append_u32(data, 0x3fc00000u);  // 1.5f
  append_u32(data, 0xc0000000u);  // -2.0f
  append_u16(data, 0x3c00);       // F16 1.0
  append_u16(data, 0xc000);       // F16 -2.0
  append_u16(data, 0x3555);       // F16 (1 + 341/1024) * 2^(13-15) = 1365/4096
  append_u16(data, 0x0001);       // F16 smallest subnormal 2^-24
  append_u16(data, 0x3f80);       // BF16 1.0
  append_u16(data, 0x4049);       // BF16 (1 + 73/128) * 2^1 = 3.140625
  append_u16(data, 0xc2f7);       // BF16 -(1 + 119/128) * 2^6 = -123.5
  for (uint8_t b : {0x38, 0x7e, 0x01, 0xb8, 0x7f}) data.push_back(b);  // E4M3: 1, 448, 2^-9, -1, NaN
  for (uint8_t b : {0x3c, 0x7c}) data.push_back(b);                    // E5M2: 1, +inf
  append_u32(data, 7);                                                 // I32 7
  return safetensors_bytes(header, data);
}

TEST(Safetensors, ReadsEveryFloatDtypeExactly) {
  ScratchDir dir;
  const auto path = dir.write("model.safetensors", every_dtype_file());
  const auto model = SafetensorsModel::open(path);

  ASSERT_EQ(model.tensors().size(), 7u);
  // Data-offset order, not the header's key order.
  const char *expected_order[] = {"a", "b", "c", "d", "e", "f", "z"};
  for (size_t i = 0; i < 7; ++i) EXPECT_EQ(model.tensors()[i].name, expected_order[i]);
  EXPECT_EQ(model.metadata().at("format"), "pt");
  EXPECT_EQ(model.find("nope"), nullptr);

  const auto *a = model.find("a");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->dtype, Dtype::F32);
  EXPECT_EQ(a->file, path);
  EXPECT_EQ(read_as_f32(*a), (std::vector<float>{1.5f, -2.0f}));

  const auto *b = model.find("b");
  EXPECT_EQ(b->shape, (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(b->bytes.size(), 8u);
  EXPECT_EQ(read_as_f32(*b), (std::vector<float>{1.0f, -2.0f, 1365.0f / 4096.0f, std::ldexp(1.0f, -24)}));

  EXPECT_EQ(read_as_f32(*model.find("c")), (std::vector<float>{1.0f, 3.140625f, -123.5f}));

  const auto d = read_as_f32(*model.find("d"));
  EXPECT_EQ(d[0], 1.0f);
  EXPECT_EQ(d[1], 448.0f);
  EXPECT_EQ(d[2], std::ldexp(1.0f, -9));
  EXPECT_EQ(d[3], -1.0f);
  EXPECT_TRUE(std::isnan(d[4]));

  const auto e = read_as_f32(*model.find("e"));
  EXPECT_EQ(e[0], 1.0f);
  EXPECT_TRUE(std::isinf(e[1]) && e[1] > 0);

  const auto *f = model.find("f");
  EXPECT_EQ(f->dtype, Dtype::I32);
  expect_error_containing([&] { read_as_f32(*f); }, {"model.safetensors", "\"f\"", "I32"});

  const auto *z = model.find("z");
  EXPECT_EQ(z->n_elements(), 0);
  EXPECT_TRUE(read_as_f32(*z).empty());
}

TEST(Safetensors, E4M3CoversTheWholeCodeSpace) {
  // E4M3FN (OCP FP8): exponent bias 7, 3 mantissa bits, no infinities, S.1111.111 is NaN.
  EXPECT_EQ(f8_e4m3_to_f32(0x00), 0.0f);
  EXPECT_TRUE(std::signbit(f8_e4m3_to_f32(0x80)));
  EXPECT_EQ(f8_e4m3_to_f32(0x07), 7.0f / 512.0f);      // largest subnormal 7/8 * 2^-6
  EXPECT_EQ(f8_e4m3_to_f32(0x08), 1.0f / 64.0f);       // smallest normal 2^-6
  EXPECT_EQ(f8_e4m3_to_f32(0x7e), 448.0f);             // largest finite (1 + 6/8) * 2^8
  EXPECT_EQ(f8_e4m3_to_f32(0x78), 256.0f);             // exponent 15 is finite in E4M3FN
  EXPECT_EQ(f8_e4m3_to_f32(0xfe), -448.0f);
  EXPECT_TRUE(std::isnan(f8_e4m3_to_f32(0x7f)));
  EXPECT_TRUE(std::isnan(f8_e4m3_to_f32(0xff)));
  int nans = 0;
  for (int b = 0; b < 256; ++b) {
    const float v = f8_e4m3_to_f32(static_cast<uint8_t>(b));
    EXPECT_FALSE(std::isinf(v));
    nans += std::isnan(v);
  }
  EXPECT_EQ(nans, 2);
  EXPECT_EQ(f8_e5m2_to_f32(0x7b), 57344.0f);  // E5M2 largest finite (1 + 3/4) * 2^15
  EXPECT_TRUE(std::isnan(f8_e5m2_to_f32(0x7d)));
}

TEST(Safetensors, ReadsF64RoundedToNearestFloat) {
  const std::string header = R"({"x":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}})";
  std::vector<uint8_t> data(8);
  const double value = 0.1;
  std::memcpy(data.data(), &value, 8);
  const auto model = SafetensorsModel::from_memory(safetensors_bytes(header, data), "mem.safetensors");
  // The float nearest to 0.1 is 0x3dcccccd.
  EXPECT_EQ(std::bit_cast<uint32_t>(read_as_f32(*model.find("x"))[0]), 0x3dcccccdu);
}

TEST(Safetensors, ReadsHalfFloatsAtAnOddOffset) {
  // A 7-byte-padded header puts the data area at an odd address: the reader must not assume
  // alignment. The spec allows trailing spaces in the header.
  std::string header = R"({"h":{"dtype":"F16","shape":[3],"data_offsets":[0,6]}})";
  while ((8 + header.size()) % 2 == 0) header += ' ';
  std::vector<uint8_t> data;
  append_u16(data, 0x4200);  // F16 3.0
  append_u16(data, 0xbc00);  // F16 -1.0
  append_u16(data, 0x7bff);  // F16 65504
  const auto model = SafetensorsModel::from_memory(safetensors_bytes(header, data), "odd.safetensors");
  const auto *h = model.find("h");
  ASSERT_EQ(reinterpret_cast<uintptr_t>(h->bytes.data()) % 2, 1u);
  EXPECT_EQ(read_as_f32(*h), (std::vector<float>{3.0f, -1.0f, 65504.0f}));
}

TEST(Safetensors, OpensADirectory) {
  ScratchDir dir;
  dir.write("model.safetensors", every_dtype_file());
  const auto model = SafetensorsModel::open(dir.path());
  EXPECT_EQ(model.tensors().size(), 7u);
  ASSERT_EQ(model.files().size(), 1u);
  EXPECT_EQ(model.files()[0], dir.path() / "model.safetensors");
}

std::vector<uint8_t> one_f32_tensor_file(const std::string &name, float value) {
  std::vector<uint8_t> data;
  append_u32(data, std::bit_cast<uint32_t>(value));
  return safetensors_bytes(R"({")" + name + R"(":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", data);
}

const char *kTwoShardIndex = R"({"metadata":{"total_size":12},"weight_map":{
  "model.embed_tokens.weight":"model-00001-of-00002.safetensors",
  "model.norm.weight":"model-00002-of-00002.safetensors",
  "lm_head.weight":"model-00002-of-00002.safetensors"}})";

TEST(Safetensors, ReadsAShardedCheckpointAsOne) {
  ScratchDir dir;
  dir.write("model-00001-of-00002.safetensors", one_f32_tensor_file("model.embed_tokens.weight", 1.0f));
  std::vector<uint8_t> data;
  append_u32(data, std::bit_cast<uint32_t>(2.0f));
  append_u32(data, std::bit_cast<uint32_t>(3.0f));
  dir.write("model-00002-of-00002.safetensors",
            safetensors_bytes(R"({"model.norm.weight":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                              R"("lm_head.weight":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                              data));
  dir.write_text("model.safetensors.index.json", kTwoShardIndex);

  for (const auto &path : {dir.path(), dir.path() / "model.safetensors.index.json"}) {
    const auto model = SafetensorsModel::open(path);
    ASSERT_EQ(model.tensors().size(), 3u);
    EXPECT_EQ(model.files().size(), 2u);
    EXPECT_EQ(read_as_f32(*model.find("model.embed_tokens.weight"))[0], 1.0f);
    EXPECT_EQ(read_as_f32(*model.find("model.norm.weight"))[0], 2.0f);
    EXPECT_EQ(read_as_f32(*model.find("lm_head.weight"))[0], 3.0f);
    EXPECT_EQ(model.find("lm_head.weight")->file, dir.path() / "model-00002-of-00002.safetensors");
  }
}

TEST(Safetensors, ShardErrorsNameTheFiles) {
  ScratchDir dir;
  dir.write("model-00001-of-00002.safetensors", one_f32_tensor_file("model.embed_tokens.weight", 1.0f));
  dir.write_text("model.safetensors.index.json", kTwoShardIndex);
  expect_error_containing([&] { SafetensorsModel::open(dir.path()); },
                          {"missing shard", "model-00002-of-00002.safetensors"});

  // The same tensor in two shards.
  dir.write("model-00002-of-00002.safetensors", one_f32_tensor_file("model.embed_tokens.weight", 9.0f));
  expect_error_containing([&] { SafetensorsModel::open(dir.path()); },
                          {"\"model.embed_tokens.weight\"", "model-00001-of-00002.safetensors",
                           "model-00002-of-00002.safetensors", "both"});

  // A tensor the index does not list, and one it lists that no shard has.
  dir.write("model-00002-of-00002.safetensors", one_f32_tensor_file("model.norm.weight", 2.0f));
  expect_error_containing([&] { SafetensorsModel::open(dir.path()); },
                          {"model.safetensors.index.json", "\"lm_head.weight\"", "missing from"});
  dir.write("model-00002-of-00002.safetensors", one_f32_tensor_file("extra.weight", 2.0f));
  expect_error_containing([&] { SafetensorsModel::open(dir.path()); },
                          {"model.safetensors.index.json", "\"extra.weight\"", "not in weight_map"});

  // Shard names must stay inside the model directory.
  dir.write_text("model.safetensors.index.json", R"({"weight_map":{"a":"../elsewhere.safetensors"}})");
  expect_error_containing([&] { SafetensorsModel::open(dir.path()); }, {"../elsewhere.safetensors", "relative path"});
  dir.write_text("model.safetensors.index.json", R"({"weight_map":{"a":3}})");
  expect_error_containing([&] { SafetensorsModel::open(dir.path()); }, {"model.safetensors.index.json", "\"a\""});
  dir.write_text("model.safetensors.index.json", R"({"weight_map":)");
  expect_error_containing([&] { SafetensorsModel::open(dir.path()); }, {"model.safetensors.index.json", "JSON"});
}

TEST(Safetensors, EmptyDirectoryIsRefused) {
  ScratchDir dir;
  expect_error_containing([&] { SafetensorsModel::open(dir.path()); }, {dir.path().string(), "model.safetensors"});
  expect_error_containing([&] { SafetensorsModel::open(dir.path() / "absent.safetensors"); }, {"absent.safetensors"});
}

// Malformed single files: each one must be refused with a message naming the file and the fault.
struct BadFile {
  const char *what;
  std::vector<uint8_t> bytes;
  std::vector<std::string> message_parts;
};

std::vector<uint8_t> with_header(const std::string &header, size_t data_bytes) {
  return safetensors_bytes(header, std::vector<uint8_t>(data_bytes, 0));
}

std::vector<BadFile> bad_files() {
  std::vector<BadFile> cases;
  cases.push_back({"truncated header length", {0x10, 0x00, 0x00, 0x00, 0x00}, {"too short"}});
  {
    auto bytes = with_header(R"({})", 0);
    bytes[0] = 0x40;  // header claims 64 bytes, file has 2
    cases.push_back({"header length past the end", bytes, {"header length 64", "past the end"}});
  }
  {
    std::vector<uint8_t> bytes(16, 0);
    bytes[7] = 0x80;  // 2^63
    cases.push_back({"absurd header length", bytes, {"header length 9223372036854775808", "limit"}});
  }
  cases.push_back({"bad JSON", with_header(R"({"a":{"dtype":"F32",)", 0), {"not valid JSON"}});
  cases.push_back({"header not an object", with_header(R"({} [])", 0), {"not valid JSON"}});
  cases.push_back({"header array", with_header(R"([1])", 0), {"start with '{'"}});
  cases.push_back({"unknown dtype", with_header(R"({"a":{"dtype":"F12","shape":[1],"data_offsets":[0,4]}})", 4),
                   {"\"a\"", "unknown dtype \"F12\"", "BF16"}});
  cases.push_back({"offsets past the end",
                   with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
                   {"\"a\"", "past the end of the data area (4 bytes)"}});
  cases.push_back({"offsets not matching shape x dtype size",
                   with_header(R"({"a":{"dtype":"BF16","shape":[3],"data_offsets":[0,8]}})", 8),
                   {"\"a\"", "span 8 bytes", "BF16 shape [3] needs 6"}});
  cases.push_back({"offsets reversed", with_header(R"({"a":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}})", 4),
                   {"\"a\"", "end before they begin"}});
  cases.push_back({"overlapping tensors",
                   with_header(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                               R"("b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                               8),
                   {"\"a\"", "\"b\"", "overlap"}});
  cases.push_back({"duplicate names",
                   with_header(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                               R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
                               8),
                   {"\"a\"", "appears twice"}});
  {
    const std::string header = "{\"a\xff\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    cases.push_back({"invalid UTF-8 in a name", with_header(header, 1), {"not valid UTF-8", "byte 3"}});
    const std::string overlong = "{\"\xc0\xaf\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    cases.push_back({"overlong UTF-8", with_header(overlong, 1), {"not valid UTF-8"}});
    const std::string surrogate = "{\"\xed\xa0\x80\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[0,1]}}";
    cases.push_back({"UTF-8 surrogate", with_header(surrogate, 1), {"not valid UTF-8"}});
  }
  cases.push_back({"negative shape", with_header(R"({"a":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}})", 0),
                   {"\"a\"", "negative"}});
  cases.push_back({"fractional shape", with_header(R"({"a":{"dtype":"U8","shape":[1.5],"data_offsets":[0,1]}})", 1),
                   {"\"a\"", "shape must hold non-negative integers"}});
  cases.push_back({"shape product overflows",
                   with_header(R"({"a":{"dtype":"U8","shape":[4294967296,4294967296],"data_offsets":[0,0]}})", 0),
                   {"\"a\"", "overflows"}});
  cases.push_back({"byte count overflows",
                   with_header(R"({"a":{"dtype":"F64","shape":[4611686018427387904],"data_offsets":[0,0]}})", 0),
                   {"\"a\"", "overflows"}});
  cases.push_back({"missing data_offsets", with_header(R"({"a":{"dtype":"U8","shape":[1]}})", 1),
                   {"\"a\"", "data_offsets"}});
  cases.push_back({"three data_offsets", with_header(R"({"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1,2]}})", 1),
                   {"\"a\"", "data_offsets"}});
  cases.push_back({"entry not an object", with_header(R"({"a":3})", 0), {"\"a\"", "JSON object"}});
  cases.push_back({"metadata not strings", with_header(R"({"__metadata__":{"format":1}})", 0),
                   {"__metadata__", "\"format\"", "string"}});
  cases.push_back({"empty name", with_header(R"({"":{"dtype":"U8","shape":[1],"data_offsets":[0,1]}})", 1),
                   {"empty name"}});
  return cases;
}

TEST(Safetensors, MalformedFilesAreRefusedWithTheFileNamed) {
  ScratchDir dir;
  for (const auto &bad : bad_files()) {
    SCOPED_TRACE(bad.what);
    const auto path = dir.write("bad.safetensors", bad.bytes);
    try {
      SafetensorsModel::open(path);
      ADD_FAILURE() << "accepted: " << bad.what;
    } catch (const Error &e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(path.string()), std::string::npos) << message;
      for (const auto &part : bad.message_parts) EXPECT_NE(message.find(part), std::string::npos) << message << "\nmissing: " << part;
    }
    // The in-memory entry point applies the same checks.
    EXPECT_THROW(SafetensorsModel::from_memory(bad.bytes, "mem"), Error);
  }
}

TEST(Safetensors, DtypeTableMatchesTheFormat) {
  // Element sizes from the safetensors Dtype definition.
  EXPECT_EQ(dtype_size(Dtype::F64), 8u);
  EXPECT_EQ(dtype_size(Dtype::F32), 4u);
  EXPECT_EQ(dtype_size(Dtype::BF16), 2u);
  EXPECT_EQ(dtype_size(Dtype::F16), 2u);
  EXPECT_EQ(dtype_size(Dtype::F8_E4M3), 1u);
  EXPECT_EQ(dtype_size(Dtype::I64), 8u);
  EXPECT_EQ(dtype_size(Dtype::BOOL), 1u);
  EXPECT_STREQ(dtype_name(Dtype::F8_E5M2), "F8_E5M2");
  EXPECT_TRUE(dtype_is_float(Dtype::BF16));
  EXPECT_FALSE(dtype_is_float(Dtype::U8));
}

}  // namespace
}  // namespace qs::safetensors_test
