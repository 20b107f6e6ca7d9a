// A model to read weights from, whatever it is stored as: a Hugging Face directory (config.json +
// safetensors, sharded or not) or a GGUF file. Tensors are presented the way llama.cpp sees them:
// GGUF names, ggml shape order (shape[0] = row length), llama-family Q/K rows permuted for
// llama.cpp's rope, per-expert matrices stacked into one [n_expert, rows, cols] tensor.
// Everything downstream (inspect, quantize, the forward pass, measurement) reads through this.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "formats/hf_config.h"
#include "model/architectures.h"
#include "quant/types.h"

namespace qs {

struct SourceTensor {
  std::string name;                   // GGUF name, e.g. "blk.3.attn_q.weight"
  std::vector<int64_t> shape;         // ggml order: shape[0] is the row length
  GgmlType stored_type;               // F32/F16/BF16 for safetensors; the file's type for GGUF
  std::string stored_dtype;           // as the source names it: "BF16", "F32", "Q4_K", ...
  std::vector<std::string> hf_names;  // source tensors (several for stacked experts); empty for GGUF
  uint64_t stored_bytes = 0;

  int64_t n_elements() const;
  int64_t row_length() const { return shape.empty() ? 1 : shape[0]; }
  int64_t n_rows() const;
};

class ModelSource {
 public:
  enum class Kind { Safetensors, Gguf };

  // A directory with config.json (+ safetensors), or a .gguf file. Throws qs::Error naming the
  // path and what is wrong (missing config, unknown architecture, bad tensor, ...).
  static std::unique_ptr<ModelSource> open(const std::filesystem::path &path);
  virtual ~ModelSource() = default;

  virtual Kind kind() const = 0;
  const std::filesystem::path &path() const { return path_; }
  const ModelConfig &config() const { return config_; }
  const Architecture &architecture() const { return *architecture_; }
  const std::vector<SourceTensor> &tensors() const { return tensors_; }
  const SourceTensor *find(std::string_view gguf_name) const;
  const SourceTensor &get(std::string_view gguf_name) const;  // throws naming the model and tensor

  // The tensor's values as f32 (dequantized / converted), n_elements() floats into out.
  virtual void read_f32(const SourceTensor &tensor, float *out) const = 0;
  std::vector<float> read_f32(const SourceTensor &tensor) const;
  // Rows [first_row, first_row + n_rows) of read_f32's values (a row is shape[0] values), reading
  // only their bytes, where the source can (reads_rows): an export then holds a block of rows,
  // not the tensor.
  virtual bool reads_rows(const SourceTensor &tensor) const { return false; }
  virtual void read_f32_rows(const SourceTensor &tensor, int64_t first_row, int64_t n_rows, float *out) const;
  // After reading a tensor in a single pass over the model: its source pages leave the resident
  // set (MappedFile::release_pages), so peak memory follows the largest tensor, not the file.
  virtual void release_pages() const {}

 protected:
  std::filesystem::path path_;
  ModelConfig config_;
  const Architecture *architecture_ = nullptr;
  std::vector<SourceTensor> tensors_;
};

}  // namespace qs
