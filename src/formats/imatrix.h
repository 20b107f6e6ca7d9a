// Importance matrices (imatrix): per weight matrix, the sum of squared input activations of each
// input column and the number of tokens seen. Read and written in llama.cpp's GGUF layout
// (general.type = "imatrix", tensors "<name>.in_sum2" [n_cols, n_mat] and "<name>.counts"
// [1, n_mat]) and read from llama.cpp's legacy .dat layout too.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace qs {

struct ImatrixEntry {
  int64_t n_cols = 0;         // input columns of one matrix
  int64_t n_mat = 1;          // matrices (experts) stacked in the tensor
  std::vector<float> sums;    // n_mat * n_cols sums of squared activations
  std::vector<float> counts;  // n_mat token counts (legacy files: one count for all)
};

struct Imatrix {
  std::map<std::string, ImatrixEntry> entries;  // by weight tensor name, e.g. "blk.0.attn_q.weight"
  std::vector<std::string> datasets;
  uint32_t chunk_count = 0;
  uint32_t chunk_size = 0;

  const ImatrixEntry *find(std::string_view tensor_name) const;
  // Mean squared activation per input column of matrix `expert` of the tensor: the importance
  // weights quantizers take. Throws qs::Error if the tensor is absent, has another column count,
  // or saw no tokens for that matrix.
  std::vector<float> importance(std::string_view tensor_name, int64_t n_cols, int64_t expert = 0) const;
};

// Reads a GGUF imatrix or a legacy .dat imatrix (told apart by the GGUF magic).
Imatrix read_imatrix(const std::filesystem::path &path);
// Writes the GGUF layout (entries sorted by name, as llama-imatrix does), via name.tmp + rename.
void write_imatrix_gguf(const Imatrix &imatrix, const std::filesystem::path &path);

}  // namespace qs
