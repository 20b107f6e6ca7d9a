// A Hugging Face checkpoint seen as llama.cpp sees it after convert_hf_to_gguf.py. The mapping
// itself (names, shapes, q/k permutation, stacked or fused experts, rope_freqs) is the tensor
// plan's (model/tensor_plan.h); this adapts it to the ModelSource interface.
#include "model/safetensors_source.h"

#include "core/error.h"
#include "formats/safetensors.h"
#include "model/tensor_plan.h"

namespace qs {
namespace {

GgmlType stored_type_of(Dtype dtype) {
  switch (dtype) {
    case Dtype::F16: return GgmlType::F16;
    case Dtype::BF16: return GgmlType::BF16;
    default: return GgmlType::F32;  // everything else is read as f32
  }
}

class SafetensorsSource final : public ModelSource {
 public:
  explicit SafetensorsSource(const std::filesystem::path &dir) : checkpoint_(SafetensorsModel::open(dir)) {
    path_ = dir;
    config_ = read_model_config(dir);
    plan_ = plan_gguf_tensors(config_, checkpoint_);
    architecture_ = plan_.architecture;
    for (const auto &p : plan_.tensors) {
      SourceTensor t;
      t.name = p.name;
      t.shape = p.ggml_shape;
      t.hf_names = p.hf_names();
      if (p.sources.empty()) {  // computed from the config (rope_freqs)
        t.stored_type = GgmlType::F32;
        t.stored_dtype = "F32";
        t.stored_bytes = static_cast<uint64_t>(p.n_elements()) * sizeof(float);
      } else {
        const SafetensorsTensor &first = *p.sources.front().tensor;
        t.stored_type = stored_type_of(first.dtype);
        t.stored_dtype = dtype_name(first.dtype);
        t.stored_bytes = static_cast<uint64_t>(p.n_elements()) * dtype_size(first.dtype);
      }
      tensors_.push_back(std::move(t));
    }
  }

  Kind kind() const override { return Kind::Safetensors; }
  void release_pages() const override { checkpoint_.release_pages(); }

  bool reads_rows(const SourceTensor &tensor) const override {
    const GgufTensorPlan *p = plan_.find(tensor.name);
    return p && planned_rows_readable(*p);
  }
  void read_f32_rows(const SourceTensor &tensor, int64_t first_row, int64_t n_rows, float *out) const override {
    const GgufTensorPlan *p = plan_.find(tensor.name);
    if (!p) fail(path_.string(), ": no tensor named '", tensor.name, "'");
    read_planned_rows(*p, first_row, n_rows, out);
  }

  void read_f32(const SourceTensor &tensor, float *out) const override {
    const GgufTensorPlan *p = plan_.find(tensor.name);
    if (!p) fail(path_.string(), ": no tensor named '", tensor.name, "'");
    read_planned_tensor(*p, config_, out);
  }

 private:
  SafetensorsModel checkpoint_;
  ModelPlan plan_;
};

}  // namespace

std::unique_ptr<ModelSource> open_safetensors_source(const std::filesystem::path &dir) {
  return std::make_unique<SafetensorsSource>(dir);
}

}  // namespace qs
