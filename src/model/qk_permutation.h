// The q/k row reordering convert_hf_to_gguf.py applies to llama-family checkpoints. HF's rotary
// embedding pairs element i of a head with element i + head_dim/2 ("rotate_half"); llama.cpp's
// normal rope pairs adjacent elements 2j and 2j+1. Reordering each head's rows turns one into
// the other, so llama.cpp computes the same attention as transformers.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qs {

// convert_hf_to_gguf.py's LlamaModel.permute(w, n_head, n_head_kv), for rows of n_cols values:
//   w.reshape(n_head, 2, n_rows / n_head / 2, n_cols).swapaxes(1, 2).reshape(n_rows, n_cols)
// so within each head of head_dim = n_rows / n_head rows, output row 2j is input row j and
// output row 2j+1 is input row j + head_dim/2. Pass n_head for q_proj and n_head_kv for k_proj
// (convert passes n_head_kv as the head count for k). A bias is the n_cols = 1 case.
// Throws qs::Error unless n_rows is a multiple of 2 * n_head. in and out must not overlap.
void permute_qk_rows(const float *in, float *out, int64_t n_head, int64_t n_rows, int64_t n_cols);
// The inverse: GGUF row order back to HF's.
void unpermute_qk_rows(const float *in, float *out, int64_t n_head, int64_t n_rows, int64_t n_cols);

// The same reorderings on rows of any element type (row_bytes bytes per row), e.g. BF16 rows.
void permute_qk_rows_bytes(const void *in, void *out, int64_t n_head, int64_t n_rows, size_t row_bytes);
void unpermute_qk_rows_bytes(const void *in, void *out, int64_t n_head, int64_t n_rows, size_t row_bytes);

// Row index in the input that lands at output row `row` (the permutation itself).
int64_t permuted_qk_source_row(int64_t row, int64_t n_head, int64_t n_rows);

}  // namespace qs
