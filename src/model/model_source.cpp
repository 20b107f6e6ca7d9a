// Opening a model: what kind of thing a path is (GGUF file, HF directory, cached HF repo id),
// and the parts common to every source.
#include "model/model_source.h"

#include <cstdlib>
#include <fstream>

#include "core/error.h"
#include "formats/gguf.h"
#include "model/gguf_source.h"
#include "model/hf_cache.h"
#include "model/safetensors_source.h"

namespace qs {

int64_t SourceTensor::n_elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t SourceTensor::n_rows() const { return row_length() == 0 ? 0 : n_elements() / row_length(); }

const SourceTensor *ModelSource::find(std::string_view gguf_name) const {
  for (const auto &t : tensors_)
    if (t.name == gguf_name) return &t;
  return nullptr;
}

const SourceTensor &ModelSource::get(std::string_view gguf_name) const {
  if (const SourceTensor *t = find(gguf_name)) return *t;
  fail(path_.string(), ": no tensor named '", gguf_name, "'");
}

void ModelSource::read_f32_rows(const SourceTensor &tensor, int64_t, int64_t, float *) const {
  fail(path_.string(), ": tensor '", tensor.name, "' cannot be read by rows");
}

std::vector<float> ModelSource::read_f32(const SourceTensor &tensor) const {
  std::vector<float> values(static_cast<size_t>(tensor.n_elements()));
  read_f32(tensor, values.data());
  return values;
}

namespace {

bool has_gguf_magic(const std::filesystem::path &path) {
  std::ifstream in(path, std::ios::binary);
  uint32_t magic = 0;
  in.read(reinterpret_cast<char *>(&magic), sizeof magic);
  return in.gcount() == sizeof magic && magic == gguf::kMagic;
}

}  // namespace

std::unique_ptr<ModelSource> ModelSource::open(const std::filesystem::path &path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) {
    if (has_gguf_magic(path)) return open_gguf_source(path);
    if (path.filename() == "config.json") return open_safetensors_source(path.parent_path());
    fail(path.string(), ": not a GGUF file (and not a model directory)");
  }
  if (std::filesystem::is_directory(path, ec)) {
    if (!std::filesystem::exists(path / "config.json")) fail(path.string(), ": no config.json in this directory");
    return open_safetensors_source(path);
  }
  // Not a local path: perhaps a Hugging Face repo id already in the local cache.
  if (auto snapshot = find_cached_snapshot(path.string())) {
    check_cached_snapshot_complete(*snapshot, path.string());
    return open_safetensors_source(*snapshot);
  }
  fail(path.string(), ": no such file or directory, and no Hugging Face repo of that id in the local cache");
}

}  // namespace qs
