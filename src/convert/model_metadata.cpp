// GGUF metadata assembly, following convert_hf_to_gguf.py and llama-quantize.
#include "convert/model_metadata.h"

#include <optional>

#include "model/tokenizer.h"
#include "model/tokenizer_gguf.h"


namespace qs {
namespace {

// llama_ftype values (llama.h) of the types that have a file type of their own.
std::optional<uint32_t> llama_file_type(GgmlType type) {
  switch (type) {
    case GgmlType::F32: return 0;
    case GgmlType::F16: return 1;
    case GgmlType::Q4_0: return 2;
    case GgmlType::Q4_1: return 3;
    case GgmlType::Q8_0: return 7;
    case GgmlType::Q5_0: return 8;
    case GgmlType::Q5_1: return 9;
    case GgmlType::Q2_K: return 10;
    case GgmlType::Q6_K: return 18;
    case GgmlType::IQ2_XXS: return 19;
    case GgmlType::IQ2_XS: return 20;
    case GgmlType::IQ3_XXS: return 23;
    case GgmlType::IQ1_S: return 24;
    case GgmlType::IQ4_NL: return 25;
    case GgmlType::IQ3_S: return 26;
    case GgmlType::IQ2_S: return 28;
    case GgmlType::IQ4_XS: return 30;
    case GgmlType::IQ1_M: return 31;
    case GgmlType::BF16: return 32;
    case GgmlType::TQ1_0: return 36;
    case GgmlType::TQ2_0: return 37;
    default: return std::nullopt;  // Q3_K/Q4_K/Q5_K exist only as S/M/L mixes
  }
}

constexpr uint32_t kQuantizationVersion = 2;  // GGML_QNT_VERSION

}  // namespace

std::vector<gguf::KeyValue> gguf_model_metadata(const ModelSource &model, GgmlType dominant_type) {
  return gguf_model_metadata_with_file_type(model, llama_file_type(dominant_type));
}

std::vector<gguf::KeyValue> gguf_model_metadata_with_file_type(const ModelSource &model, std::optional<uint32_t> file_type) {
  std::vector<gguf::KeyValue> kv;
  if (model.kind() == ModelSource::Kind::Gguf) {
    const auto file = gguf::GgufFile::open(model.path());
    for (const auto &entry : file.metadata()) {
      if (entry.key == "general.file_type" || entry.key == "general.quantization_version" ||
          entry.key == "general.alignment") {
        continue;
      }
      kv.push_back(entry);
    }
  } else {
    kv = gguf_hparams(model.config());
    std::string name = model.path().filename().string();
    if (name.empty()) name = model.path().parent_path().filename().string();
    kv.insert(kv.begin() + 1, {"general.name", gguf::Value(name)});
    kv.insert(kv.begin() + 1, {"general.type", gguf::Value(std::string("model"))});
    // llama.cpp cannot load a model without its vocabulary; a checkpoint without tokenizer.json
    // still converts (ggml reads it), and says so nowhere else, so it is simply absent here.
    if (std::filesystem::exists(model.path() / "tokenizer.json")) {
      const Tokenizer tokenizer = Tokenizer::from_hf_files(model.path());
      const auto tokenizer_kv = tokenizer_gguf_metadata(tokenizer, static_cast<int32_t>(model.config().vocab_size));
      kv.insert(kv.end(), tokenizer_kv.begin(), tokenizer_kv.end());
    }
  }
  if (file_type) kv.push_back({"general.file_type", gguf::Value(*file_type)});
  kv.push_back({"general.quantization_version", gguf::Value(kQuantizationVersion)});
  return kv;
}

}  // namespace qs
