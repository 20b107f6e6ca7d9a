// imatrix files in llama.cpp's two layouts. GGUF: raw sums and counts. Legacy .dat: int32 entry
// count, then per entry int32 name length, name, int32 ncall, int32 nval, nval f32 values already
// averaged and scaled ((sum / count) * ncall); then optionally int32 chunk count and the dataset.
#include "formats/imatrix.h"

#include <cstring>

#include "core/error.h"
#include "core/mapped_file.h"
#include "formats/gguf.h"

namespace qs {
namespace {

constexpr std::string_view kSumSuffix = ".in_sum2";
constexpr std::string_view kCountSuffix = ".counts";

std::vector<float> read_f32_tensor(const gguf::GgufFile &file, const gguf::TensorInfo &info) {
  if (info.type != GgmlType::F32) fail(file.path().string(), ": imatrix tensor '", info.name, "' is not F32");
  const auto bytes = file.tensor_data(info);
  std::vector<float> values(bytes.size() / sizeof(float));
  std::memcpy(values.data(), bytes.data(), values.size() * sizeof(float));
  return values;
}

Imatrix read_gguf_imatrix(const std::filesystem::path &path) {
  const auto file = gguf::GgufFile::open(path);
  const std::string where = path.string();
  if (const auto *type = file.find("general.type"); type == nullptr || type->type() != gguf::ValueType::STRING ||
                                                    type->as_string() != "imatrix") {
    fail(where, ": not an imatrix (general.type is not \"imatrix\")");
  }
  Imatrix imatrix;
  if (const auto *datasets = file.find("imatrix.datasets"); datasets && datasets->type() == gguf::ValueType::ARRAY) {
    for (const auto &d : datasets->as_array().items)
      if (d.type() == gguf::ValueType::STRING) imatrix.datasets.push_back(d.as_string());
  }
  if (const auto *v = file.find("imatrix.chunk_count")) imatrix.chunk_count = static_cast<uint32_t>(v->as_int());
  if (const auto *v = file.find("imatrix.chunk_size")) imatrix.chunk_size = static_cast<uint32_t>(v->as_int());
  for (const auto &info : file.tensors()) {
    const std::string_view name = info.name;
    if (name.size() <= kSumSuffix.size() || name.substr(name.size() - kSumSuffix.size()) != kSumSuffix) continue;
    const std::string base(name.substr(0, name.size() - kSumSuffix.size()));
    const auto *counts_info = file.find_tensor(base + std::string(kCountSuffix));
    if (!counts_info) fail(where, ": imatrix entry '", base, "' has sums but no counts");
    if (info.shape.size() > 2 || info.shape.empty()) fail(where, ": imatrix tensor '", info.name, "' must be 1-D or 2-D");
    ImatrixEntry entry;
    entry.n_cols = info.shape[0];
    entry.n_mat = info.shape.size() == 2 ? info.shape[1] : 1;
    entry.sums = read_f32_tensor(file, info);
    entry.counts = read_f32_tensor(file, *counts_info);
    if (static_cast<int64_t>(entry.counts.size()) != entry.n_mat) {
      fail(where, ": imatrix entry '", base, "' has ", entry.counts.size(), " counts for ", entry.n_mat, " matrices");
    }
    imatrix.entries.emplace(base, std::move(entry));
  }
  for (const auto &info : file.tensors()) {
    const std::string_view name = info.name;
    if (name.size() > kCountSuffix.size() && name.substr(name.size() - kCountSuffix.size()) == kCountSuffix) {
      const std::string base(name.substr(0, name.size() - kCountSuffix.size()));
      if (!imatrix.entries.count(base)) fail(where, ": imatrix entry '", base, "' has counts but no sums");
    }
  }
  if (imatrix.entries.empty()) fail(where, ": imatrix has no entries");
  return imatrix;
}

Imatrix read_legacy_imatrix(const std::filesystem::path &path) {
  const MappedFile file(path);
  const std::string where = path.string();
  size_t pos = 0;
  auto read_i32 = [&](const char *what) {
    if (file.size() - pos < 4) fail(where, ": truncated legacy imatrix (reading ", what, ")");
    int32_t v;
    std::memcpy(&v, file.data() + pos, 4);
    pos += 4;
    return v;
  };
  const int32_t n_entries = read_i32("entry count");
  if (n_entries <= 0 || static_cast<uint64_t>(n_entries) > file.size() / 12) {
    fail(where, ": not an imatrix (", n_entries, " entries claimed)");
  }
  Imatrix imatrix;
  for (int32_t e = 0; e < n_entries; ++e) {
    const int32_t name_length = read_i32("name length");
    if (name_length <= 0 || static_cast<size_t>(name_length) > file.size() - pos) {
      fail(where, ": legacy imatrix entry ", e, " has a bad name length ", name_length);
    }
    std::string name(reinterpret_cast<const char *>(file.data() + pos), static_cast<size_t>(name_length));
    pos += static_cast<size_t>(name_length);
    const int32_t ncall = read_i32("call count");
    const int32_t nval = read_i32("value count");
    if (nval <= 0 || static_cast<size_t>(nval) > (file.size() - pos) / 4) {
      fail(where, ": legacy imatrix entry '", name, "' has a bad value count ", nval);
    }
    ImatrixEntry entry;
    entry.n_cols = nval;  // the legacy layout does not record the matrix count
    entry.n_mat = 1;
    entry.sums.resize(static_cast<size_t>(nval));
    std::memcpy(entry.sums.data(), file.data() + pos, static_cast<size_t>(nval) * 4);
    pos += static_cast<size_t>(nval) * 4;
    entry.counts = {static_cast<float>(ncall)};
    if (!imatrix.entries.emplace(std::move(name), std::move(entry)).second) fail(where, ": duplicate imatrix entry");
  }
  if (file.size() - pos >= 4) imatrix.chunk_count = static_cast<uint32_t>(read_i32("chunk count"));
  if (file.size() - pos >= 4) {
    const int32_t length = read_i32("dataset name length");
    if (length > 0 && static_cast<size_t>(length) <= file.size() - pos) {
      imatrix.datasets.emplace_back(reinterpret_cast<const char *>(file.data() + pos), static_cast<size_t>(length));
    }
  }
  return imatrix;
}

}  // namespace

const ImatrixEntry *Imatrix::find(std::string_view tensor_name) const {
  const auto it = entries.find(std::string(tensor_name));
  return it == entries.end() ? nullptr : &it->second;
}

std::vector<float> Imatrix::importance(std::string_view tensor_name, int64_t n_cols, int64_t expert) const {
  const ImatrixEntry *entry = find(tensor_name);
  if (!entry) fail("imatrix has no entry for tensor '", tensor_name, "'");
  // A legacy entry of a stacked tensor holds all experts' columns back to back in one row.
  const int64_t n_mat = entry->n_mat == 1 && entry->n_cols != n_cols && entry->n_cols % n_cols == 0
                            ? entry->n_cols / n_cols
                            : entry->n_mat;
  if (entry->n_cols * entry->n_mat != n_cols * n_mat) {
    fail("imatrix entry for '", tensor_name, "' has ", entry->n_cols, " columns, the tensor has ", n_cols);
  }
  if (expert < 0 || expert >= n_mat) fail("imatrix entry for '", tensor_name, "' has no matrix ", expert);
  const float count = entry->counts.size() == 1 ? entry->counts[0] : entry->counts[static_cast<size_t>(expert)];
  if (!(count > 0.0f)) fail("imatrix entry for '", tensor_name, "' saw no tokens for matrix ", expert);
  std::vector<float> weights(static_cast<size_t>(n_cols));
  const float *sums = entry->sums.data() + expert * n_cols;
  for (int64_t c = 0; c < n_cols; ++c) weights[static_cast<size_t>(c)] = sums[c] / count;
  return weights;
}

Imatrix read_imatrix(const std::filesystem::path &path) {
  const MappedFile probe(path);
  uint32_t magic = 0;
  if (probe.size() >= 4) std::memcpy(&magic, probe.data(), 4);
  return magic == gguf::kMagic ? read_gguf_imatrix(path) : read_legacy_imatrix(path);
}

void write_imatrix_gguf(const Imatrix &imatrix, const std::filesystem::path &path) {
  gguf::GgufWriter writer(path);
  writer.set("general.type", "imatrix");
  writer.set("imatrix.datasets", gguf::string_array(imatrix.datasets));
  writer.set("imatrix.chunk_count", imatrix.chunk_count);
  writer.set("imatrix.chunk_size", imatrix.chunk_size);
  for (const auto &[name, entry] : imatrix.entries) {  // std::map: sorted by name
    writer.add_tensor(name + std::string(kSumSuffix), {entry.n_cols, entry.n_mat}, GgmlType::F32);
    writer.add_tensor(name + std::string(kCountSuffix), {1, entry.n_mat}, GgmlType::F32);
  }
  for (const auto &[name, entry] : imatrix.entries) {
    const auto as_bytes = [](const std::vector<float> &v) {
      return std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(v.data()), v.size() * sizeof(float));
    };
    writer.write_tensor_data(name + std::string(kSumSuffix), as_bytes(entry.sums));
    writer.write_tensor_data(name + std::string(kCountSuffix), as_bytes(entry.counts));
  }
  writer.finish();
}

}  // namespace qs
