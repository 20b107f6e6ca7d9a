// The GGUF writer: its bytes equal a file assembled by hand from the specification, it round-trips
// through the reader, streams tensors in any order, and leaves nothing behind when it fails.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/resource.h>

#include <fstream>
#include <iterator>

#include "core/error.h"
#include "formats/gguf.h"
#include "formats/gguf_bytes.h"

namespace qs::gguf_writer_test {
namespace {

using test::GgufBytes;
using test::ScratchDir;

std::vector<uint8_t> read_file(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::span<const uint8_t> as_bytes(const std::vector<float> &v) {
  return {reinterpret_cast<const uint8_t *>(v.data()), v.size() * sizeof(float)};
}

TEST(GgufWriter, WritesExactlyTheSpecifiedLayout) {
  ScratchDir dir;
  const std::vector<float> a = {1, 2, 3};       // 12 bytes -> padded to 32
  const std::vector<float> b = {4, 5, 6, 7, 8};  // starts at offset 32
  {
    gguf::GgufWriter w(dir.path() / "out.gguf");
    w.set("general.architecture", "llama");
    w.set("llama.block_count", uint32_t{8});
    w.add_tensor("a", {3}, GgmlType::F32);
    w.add_tensor("b", {5, 1}, GgmlType::F32);
    w.write_tensor_data("b", as_bytes(b));  // out of order on purpose
    w.write_tensor_data("a", as_bytes(a));
    w.finish();
  }
  GgufBytes expected;
  expected.header(3, 2, 2).kv_string("general.architecture", "llama").kv_u32("llama.block_count", 8);
  expected.tensor_info("a", {3}, 0, 0).tensor_info("b", {5, 1}, 0, 32).pad_to(32);
  for (float v : a) expected.f32(v);
  expected.pad_to(32);
  for (float v : b) expected.f32(v);
  expected.pad_to(32);  // ggml pads the last tensor too
  EXPECT_EQ(read_file(dir.path() / "out.gguf"), expected.bytes);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "out.gguf.tmp"));
}

TEST(GgufWriter, RoundTripsMetadataAndTensorsThroughTheReader) {
  ScratchDir dir;
  std::vector<float> w1(256 * 4);
  for (size_t i = 0; i < w1.size(); ++i) w1[i] = static_cast<float>(i) * 0.5f;
  std::vector<uint8_t> q(34 * 2, 0xab);  // two Q8_0 blocks of arbitrary bytes
  {
    gguf::GgufWriter w(dir.path() / "rt.gguf");
    w.set("general.name", "round trip");
    w.set("tokenizer.ggml.tokens", gguf::string_array({"<s>", "</s>", "h\xc3\xa9"}));
    w.set("scores", gguf::number_array(std::vector<float>{0.5f, -1.0f}));
    w.set("flag", true);
    w.set("big", uint64_t{1} << 50);
    w.add_tensor("blk.0.ffn_up.weight", {256, 4}, GgmlType::F32);
    w.add_tensor("q", {64}, GgmlType::Q8_0);
    w.write_tensor_data("blk.0.ffn_up.weight", as_bytes(w1));
    w.write_tensor_data("q", q);
    w.finish();
  }
  const auto f = gguf::GgufFile::open(dir.path() / "rt.gguf");
  EXPECT_EQ(f.get("general.name").as_string(), "round trip");
  EXPECT_EQ(f.get("tokenizer.ggml.tokens").as_array().items[2].as_string(), "h\xc3\xa9");
  EXPECT_EQ(f.get("scores").as_array().element_type, gguf::ValueType::FLOAT32);
  EXPECT_EQ(f.get("scores").as_array().items[1].as_float(), -1.0);
  EXPECT_EQ(f.get("flag").type(), gguf::ValueType::BOOL);
  EXPECT_EQ(f.get("big").as_int(), int64_t{1} << 50);
  const auto *t = f.find_tensor("blk.0.ffn_up.weight");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->shape, (std::vector<int64_t>{256, 4}));
  const auto data = f.tensor_data(*t);
  EXPECT_EQ(0, std::memcmp(data.data(), w1.data(), data.size()));
  const auto qdata = f.tensor_data(*f.find_tensor("q"));
  EXPECT_EQ(std::vector<uint8_t>(qdata.begin(), qdata.end()), q);
}

TEST(GgufWriter, MissingTensorDataLeavesNoFile) {
  ScratchDir dir;
  {
    gguf::GgufWriter w(dir.path() / "x.gguf");
    w.add_tensor("a", {4}, GgmlType::F32);
    w.add_tensor("b", {4}, GgmlType::F32);
    const std::vector<float> a = {1, 2, 3, 4};
    w.write_tensor_data("a", as_bytes(a));
    EXPECT_THROW(w.finish(), Error);
  }
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.gguf"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.gguf.tmp"));
}

TEST(GgufWriter, RefusesMisuse) {
  ScratchDir dir;
  gguf::GgufWriter w(dir.path() / "m.gguf");
  w.add_tensor("a", {4}, GgmlType::F32);
  EXPECT_THROW(w.add_tensor("a", {4}, GgmlType::F32), Error);         // duplicate
  EXPECT_THROW(w.add_tensor("q", {16}, GgmlType::Q4_0), Error);       // 16 is not a multiple of 32
  const std::vector<float> three = {1, 2, 3};
  EXPECT_THROW(w.write_tensor_data("a", as_bytes(three)), Error);     // wrong size
  EXPECT_THROW(w.write_tensor_data("nope", as_bytes(three)), Error);  // unknown tensor
  gguf::Array mixed;
  mixed.element_type = gguf::ValueType::UINT32;
  mixed.items.emplace_back(std::string("not a number"));
  EXPECT_THROW(w.set("mixed", gguf::Value(mixed)), Error);
}

TEST(GgufWriter, AFullDiskIsAClearErrorAndLeavesNothing) {
  // RLIMIT_FSIZE makes writes past the limit fail with EFBIG, as a full disk fails with ENOSPC.
  ScratchDir dir;
  struct rlimit old_limit {};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = signal(SIGXFSZ, SIG_IGN);
  struct rlimit small = old_limit;
  small.rlim_cur = 4096;
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &small), 0);
  std::string message;
  {
    gguf::GgufWriter w(dir.path() / "big.gguf");
    w.add_tensor("a", {4096}, GgmlType::F32);
    const std::vector<float> a(4096, 1.0f);
    try {
      w.write_tensor_data("a", as_bytes(a));
      w.finish();
    } catch (const Error &e) {
      message = e.what();
    }
  }
  setrlimit(RLIMIT_FSIZE, &old_limit);
  signal(SIGXFSZ, old_handler);
  EXPECT_NE(message.find("big.gguf.tmp"), std::string::npos) << message;
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "big.gguf"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "big.gguf.tmp"));
}

}  // namespace
}  // namespace qs::gguf_writer_test

namespace qs::gguf_writer_test {
namespace {

// Two tensors, as a resumable job writes them: the first, then a "crash" that keeps the partial file.
void write_first_of_two(const std::filesystem::path &path, const std::vector<float> &a, GgmlType b_type) {
  gguf::GgufWriter w(path);
  w.set("general.name", gguf::Value(std::string("resume")));
  w.add_tensor("a", {4}, GgmlType::F32);
  w.add_tensor("b", {4}, b_type);
  w.keep_partial_file();
  w.write_tensor_data("a", as_bytes(a));
  w.sync();
}

TEST(GgufWriter, ResumesItsOwnPartialFileAndWritesTheSameBytes) {
  ScratchDir dir;
  const std::vector<float> a = {1, 2, 3, 4}, b = {5, 6, 7, 8};
  {
    gguf::GgufWriter whole(dir.path() / "whole.gguf");
    whole.set("general.name", gguf::Value(std::string("resume")));
    whole.add_tensor("a", {4}, GgmlType::F32);
    whole.add_tensor("b", {4}, GgmlType::F32);
    whole.write_tensor_data("a", as_bytes(a));
    whole.write_tensor_data("b", as_bytes(b));
    whole.finish();
  }
  write_first_of_two(dir.path() / "x.gguf", a, GgmlType::F32);
  ASSERT_TRUE(std::filesystem::exists(dir.path() / "x.gguf.tmp"));
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "x.gguf"));

  gguf::GgufWriter w(dir.path() / "x.gguf");
  w.set("general.name", gguf::Value(std::string("resume")));
  w.add_tensor("a", {4}, GgmlType::F32);
  w.add_tensor("b", {4}, GgmlType::F32);
  const std::vector<std::string> written = {"a"};
  ASSERT_TRUE(w.resume_partial(written));
  EXPECT_THROW(w.write_tensor_data("a", as_bytes(a)), Error);  // already there
  w.write_tensor_data("b", as_bytes(b));
  w.finish();
  EXPECT_EQ(read_file(dir.path() / "x.gguf"), read_file(dir.path() / "whole.gguf"));
}

TEST(GgufWriter, RefusesAPartialFileOfAnotherLayout) {
  ScratchDir dir;
  const std::vector<float> a = {1, 2, 3, 4};
  write_first_of_two(dir.path() / "x.gguf", a, GgmlType::F16);  // b was F16 in that run
  const auto make = [&](gguf::GgufWriter &w, const char *name) {
    w.set("general.name", gguf::Value(std::string(name)));
    w.add_tensor("a", {4}, GgmlType::F32);
    w.add_tensor("b", {4}, GgmlType::F32);
  };
  const std::vector<std::string> written = {"a"};
  {
    gguf::GgufWriter w(dir.path() / "x.gguf");
    make(w, "resume");
    EXPECT_FALSE(w.resume_partial(written));  // b's type differs: another header
    w.keep_partial_file();
  }
  {
    gguf::GgufWriter w(dir.path() / "x.gguf");
    make(w, "other");
    EXPECT_FALSE(w.resume_partial(written));  // other metadata
    w.keep_partial_file();
  }
  {
    gguf::GgufWriter w(dir.path() / "x.gguf");
    make(w, "resume");
    const std::vector<std::string> unknown = {"c"};
    EXPECT_FALSE(w.resume_partial(unknown));
    w.keep_partial_file();
  }
  std::filesystem::resize_file(dir.path() / "x.gguf.tmp", 100);  // truncated
  gguf::GgufWriter w(dir.path() / "x.gguf");
  make(w, "resume");
  EXPECT_FALSE(w.resume_partial(written));
  gguf::GgufWriter none(dir.path() / "y.gguf");
  none.add_tensor("a", {4}, GgmlType::F32);
  EXPECT_FALSE(none.resume_partial(written));  // no partial file at all
}

}  // namespace
}  // namespace qs::gguf_writer_test
