// Measurement requests as job params, and their unit lists.
#include "measure/measure_plan.h"

#include <algorithm>
#include <regex>

#include "core/error.h"
#include "infer/compute_device.h"
#include "jobs/job_json.h"
#include "infer/text_input.h"
#include "jobs/measurement_row.h"
#include "measure/tensor_position.h"
#include "model/quantizable_tensors.h"

namespace qs {
namespace {

std::regex compile_tensor_regex(const std::string &pattern) {
  try {
    return std::regex(pattern);
  } catch (const std::regex_error &e) {
    fail("--tensors: bad regular expression '", pattern, "': ", e.what());
  }
}

template <typename T>
T measure_param(const nlohmann::json &params, const char *name) {
  return job_param<T>(params, "measure", name);
}

}  // namespace

nlohmann::json MeasureRequest::to_json() const {
  nlohmann::json params = {{"model", model},         {"types", types},          {"probes", probes},
                           {"metric", metric_level_name(metric)},
                           {"text", text},           {"imatrix", imatrix},
                           {"tensors", tensor_regex}, {"shard", std::to_string(shard_index) + "/" + std::to_string(shard_count)},
                           {"ctx", n_ctx},           {"chunks", max_chunks}};
  if (device != "cpu") params["device"] = device;
  if (precision != "fp32") params["precision"] = precision;
  return params;
}

MeasureRequest MeasureRequest::from_json(const nlohmann::json &params) {
  if (!params.is_object()) fail("measure job params are not a JSON object");
  MeasureRequest r;
  r.model = measure_param<std::string>(params, "model");
  r.types = measure_param<std::vector<std::string>>(params, "types");
  r.probes = measure_param<std::vector<std::string>>(params, "probes");
  const auto metric = measure_param<std::string>(params, "metric");
  const auto level = parse_metric_level(metric);
  if (!level) fail("measure job params: unknown metric '", metric, "'");
  r.metric = *level;
  r.text = measure_param<std::string>(params, "text");
  r.imatrix = measure_param<std::string>(params, "imatrix");
  r.tensor_regex = measure_param<std::string>(params, "tensors");
  parse_shard(measure_param<std::string>(params, "shard"), r.shard_index, r.shard_count);
  r.n_ctx = measure_param<int64_t>(params, "ctx");
  r.max_chunks = measure_param<int64_t>(params, "chunks");
  if (params.contains("device")) r.device = measure_param<std::string>(params, "device");
  if (params.contains("precision")) r.precision = measure_param<std::string>(params, "precision");
  return r;
}

CalibrationChunks read_calibration_chunks(const ModelSource &model, const MeasureRequest &request) {
  if (request.text.empty()) fail("no calibration text (--text) in the request");
  const TokenizedText text = tokenize_text_file(model, request.text, request.n_ctx);
  return CalibrationChunks(text.tokens, request.n_ctx, request.max_chunks, text.bos);
}

void parse_shard(const std::string &text, int &index, int &count) {
  const size_t slash = text.find('/');
  try {
    size_t used_i = 0, used_n = 0;
    if (slash == std::string::npos) throw std::invalid_argument("no slash");
    const int i = std::stoi(text.substr(0, slash), &used_i);
    const int n = std::stoi(text.substr(slash + 1), &used_n);
    if (used_i != slash || used_n != text.size() - slash - 1 || n < 1 || i < 1 || i > n)
      throw std::invalid_argument("range");
    index = i;
    count = n;
  } catch (const std::exception &) {
    fail("--shard: '", text, "' is not i/N with 1 <= i <= N (e.g. 2/8)");
  }
}

void MeasureRequest::validate_and_resolve() {
  if (metric != MetricLevel::proxy && text.empty())
    fail("--metric ", metric_level_name(metric), " runs the model on calibration text: pass --text F");
  if (n_ctx < 4) fail("--ctx: ", n_ctx, " tokens is too small (at least 4)");
  if (max_chunks == 0 || max_chunks < -1) fail("--chunks: ", max_chunks, " (use a positive count, or -1 for all)");
  if (shard_count < 1 || shard_index < 1 || shard_index > shard_count)
    fail("--shard: ", shard_index, "/", shard_count, " is not i/N with 1 <= i <= N");
  if (!tensor_regex.empty()) compile_tensor_regex(tensor_regex);
  if (!probes.empty() && metric != MetricLevel::kld) fail("--probes only applies to --metric kld");
  // The layer and kld levels run on a device; the proxy level is the CPU's whatever was asked (but
  // a word that is no device is refused either way).
  if (metric != MetricLevel::proxy) device = compute_device_name(parse_compute_device(device));
  else if (device != "auto" && device != "cuda") device = compute_device_name(parse_compute_device(device));
  if (metric == MetricLevel::proxy) device = "cpu";
  if (precision == "tf32" && metric == MetricLevel::proxy)
    fail("--precision ", precision, ": the proxy level multiplies no matrices on the GPU (use --metric layer or kld)");
  precision = product_precision_name(parse_product_precision(precision, parse_compute_device(device)));
  for (const auto &name : probes) {
    const QuantType &type = quant_type_by_name(name);
    if (!types.empty() && std::find_if(types.begin(), types.end(), [&](const std::string &t) {
          return &quant_type_by_name(t) == &type;
        }) == types.end())
      fail("--probes: ", type.name, " is not one of --types");
  }
  for (const auto &name : types) {
    const QuantType &type = quant_type_by_name(name);
    if (!type.is_quantized()) fail("--types: ", type.name, " is not a quantized type");
  }
  for (std::string *path : {&text, &imatrix}) {
    if (path->empty()) continue;
    if (!std::filesystem::exists(*path)) fail(*path, ": no such file");
    *path = std::filesystem::absolute(*path).lexically_normal().string();
  }
  if (std::filesystem::exists(model)) model = std::filesystem::absolute(model).lexically_normal().string();
}

std::vector<MeasurementUnit> plan_measurement_units(const MeasureRequest &request, const ModelSource &model,
                                                    const Imatrix *imatrix) {
  std::vector<const QuantType *> ladder;
  if (request.types.empty()) {
    for (const QuantType &t : all_quant_types())
      if (t.storage_candidate) ladder.push_back(&t);
  } else {
    for (const auto &name : request.types) {
      const QuantType *t = &quant_type_by_name(name);
      if (std::find(ladder.begin(), ladder.end(), t) == ladder.end()) ladder.push_back(t);
    }
  }
  std::stable_sort(ladder.begin(), ladder.end(),
                   [](const QuantType *a, const QuantType *b) { return a->bits_per_weight() > b->bits_per_weight(); });

  std::optional<std::regex> filter;
  if (!request.tensor_regex.empty()) filter = compile_tensor_regex(request.tensor_regex);
  std::vector<const SourceTensor *> tensors;
  for (const SourceTensor &t : model.tensors()) {
    if (!tensor_allows_quantization(t.name, t.shape)) continue;
    if (filter && !std::regex_search(t.name, *filter)) continue;
    tensors.push_back(&t);
  }
  const int n_layer = static_cast<int>(model.config().num_hidden_layers);
  std::stable_sort(tensors.begin(), tensors.end(), [n_layer](const SourceTensor *a, const SourceTensor *b) {
    return tensor_first_layer(a->name, n_layer) < tensor_first_layer(b->name, n_layer);
  });
  if (tensors.empty()) fail("no quantizable tensor of ", model.path().string(), " matches --tensors '", request.tensor_regex, "'");

  std::vector<MeasurementUnit> units;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (static_cast<int>(i % static_cast<size_t>(request.shard_count)) != request.shard_index - 1) continue;
    const SourceTensor &t = *tensors[i];
    for (const QuantType *type : ladder) {
      if (t.row_length() % type->block_size != 0) continue;
      if (type->needs_imatrix && !(imatrix && imatrix->find(t.name))) continue;
      MetricLevel level = request.metric;
      if (level == MetricLevel::kld && !request.probes.empty() &&
          std::none_of(request.probes.begin(), request.probes.end(),
                       [&](const std::string &p) { return &quant_type_by_name(p) == type; }))
        level = MetricLevel::layer;
      units.push_back({t.name, type, measurement_unit_key(t.name, type->name), level});
    }
  }
  return units;
}

}  // namespace qs
