// imatrix files in both of llama.cpp's layouts, assembled by hand (llama-imatrix's save_imatrix
// and save_imatrix_legacy define them), and the importance weights derived from them.
#include <gtest/gtest.h>

#include "core/error.h"
#include "formats/gguf_bytes.h"
#include "formats/imatrix.h"

namespace qs::imatrix_test {
namespace {

using test::GgufBytes;
using test::ScratchDir;

// general.type = "imatrix"; tensor "blk.0.ffn_down_exps.weight" with 2 experts of 4 columns.
GgufBytes gguf_imatrix() {
  GgufBytes b;
  b.header(3, 2, 4).kv_string("general.type", "imatrix");
  b.str("imatrix.datasets").u32(9).u32(8).u64(1).str("calibration.txt");
  b.kv_u32("imatrix.chunk_count", 10).kv_u32("imatrix.chunk_size", 512);
  b.tensor_info("blk.0.ffn_down_exps.weight.counts", {1, 2}, 0, 0);
  b.tensor_info("blk.0.ffn_down_exps.weight.in_sum2", {4, 2}, 0, 32).pad_to(32);
  b.f32(10).f32(4).pad_to(32);                         // counts: expert 0 saw 10 tokens, expert 1 saw 4
  for (float v : {10.f, 20.f, 30.f, 40.f, 4.f, 8.f, 12.f, 2.f}) b.f32(v);  // sums of squares
  return b;
}

TEST(Imatrix, ReadsTheGgufLayoutAndAveragesPerExpert) {
  ScratchDir dir;
  gguf_imatrix().save(dir.path() / "i.gguf");
  const Imatrix m = read_imatrix(dir.path() / "i.gguf");
  EXPECT_EQ(m.chunk_count, 10u);
  EXPECT_EQ(m.chunk_size, 512u);
  EXPECT_EQ(m.datasets, std::vector<std::string>{"calibration.txt"});
  EXPECT_EQ(m.importance("blk.0.ffn_down_exps.weight", 4, 0), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(m.importance("blk.0.ffn_down_exps.weight", 4, 1), (std::vector<float>{1, 2, 3, 0.5f}));
  EXPECT_THROW(m.importance("blk.0.ffn_down_exps.weight", 4, 2), Error);
  EXPECT_THROW(m.importance("blk.0.ffn_down_exps.weight", 8, 0), Error);
  EXPECT_THROW(m.importance("blk.1.attn_q.weight", 4, 0), Error);
}

TEST(Imatrix, ReadsTheLegacyDatLayout) {
  // Two entries; values are stored as (sum / count) * ncall, so importance = value / ncall.
  GgufBytes b;
  b.raw<int32_t>(2);
  b.raw<int32_t>(19).raw('b').raw('l').raw('k').raw('.').raw('0').raw('.').raw('a').raw('t').raw('t').raw('n')
      .raw('_').raw('q').raw('.').raw('w').raw('e').raw('i').raw('g').raw('h').raw('t');
  b.raw<int32_t>(4).raw<int32_t>(2).f32(8).f32(2);  // ncall 4, 2 values -> importance 2, 0.5
  b.raw<int32_t>(1).raw('x').raw<int32_t>(2).raw<int32_t>(1).f32(6);
  b.raw<int32_t>(7).raw<int32_t>(4).raw('t').raw('e').raw('x').raw('t');
  ScratchDir dir;
  b.save(dir.path() / "i.dat");
  const Imatrix m = read_imatrix(dir.path() / "i.dat");
  EXPECT_EQ(m.importance("blk.0.attn_q.weight", 2), (std::vector<float>{2, 0.5f}));
  EXPECT_EQ(m.importance("x", 1), (std::vector<float>{3}));
  EXPECT_EQ(m.chunk_count, 7u);
  EXPECT_EQ(m.datasets, std::vector<std::string>{"text"});
}

TEST(Imatrix, LegacyStackedExpertsAreSplitByColumnCount) {
  GgufBytes b;
  b.raw<int32_t>(1).raw<int32_t>(1).raw('e').raw<int32_t>(2).raw<int32_t>(4).f32(2).f32(4).f32(6).f32(8);
  ScratchDir dir;
  b.save(dir.path() / "e.dat");
  const Imatrix m = read_imatrix(dir.path() / "e.dat");
  EXPECT_EQ(m.importance("e", 2, 1), (std::vector<float>{3, 4}));
}

TEST(Imatrix, WrittenGgufReadsBack) {
  Imatrix m;
  m.datasets = {"a.txt"};
  m.chunk_count = 3;
  m.chunk_size = 128;
  m.entries["blk.0.attn_q.weight"] = ImatrixEntry{3, 1, {3, 6, 9}, {3}};
  m.entries["blk.0.ffn_up_exps.weight"] = ImatrixEntry{2, 2, {1, 2, 3, 4}, {1, 2}};
  ScratchDir dir;
  write_imatrix_gguf(m, dir.path() / "w.gguf");
  const Imatrix r = read_imatrix(dir.path() / "w.gguf");
  EXPECT_EQ(r.importance("blk.0.attn_q.weight", 3), (std::vector<float>{1, 2, 3}));
  EXPECT_EQ(r.importance("blk.0.ffn_up_exps.weight", 2, 1), (std::vector<float>{1.5f, 2}));
  EXPECT_EQ(r.datasets, m.datasets);
  EXPECT_EQ(r.chunk_size, 128u);
}

TEST(Imatrix, RefusesBrokenFiles) {
  ScratchDir dir;
  GgufBytes not_imatrix;
  not_imatrix.header(3, 0, 1).kv_string("general.type", "model");
  not_imatrix.save(dir.path() / "m.gguf");
  EXPECT_THROW(read_imatrix(dir.path() / "m.gguf"), Error);
  GgufBytes sums_only;
  sums_only.header(3, 1, 1).kv_string("general.type", "imatrix").tensor_info("w.in_sum2", {2, 1}, 0, 0).pad_to(32);
  sums_only.f32(1).f32(1);
  sums_only.save(dir.path() / "s.gguf");
  EXPECT_THROW(read_imatrix(dir.path() / "s.gguf"), Error);
  GgufBytes truncated;
  truncated.raw<int32_t>(1).raw<int32_t>(1).raw('e').raw<int32_t>(2).raw<int32_t>(400);
  truncated.save(dir.path() / "t.dat");
  EXPECT_THROW(read_imatrix(dir.path() / "t.dat"), Error);
}

}  // namespace
}  // namespace qs::imatrix_test
