// What a measurement job measures: its request (stored as the job's params, so that `jobs resume`
// rebuilds exactly the same unit list) and the ordered (tensor, type) units it expands to.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "formats/imatrix.h"
#include "measure/calibration.h"
#include "measure/metric_level.h"
#include "model/model_source.h"
#include "quant/types.h"

namespace qs {

struct MeasureRequest {
  std::string model;               // a path (stored absolute) or a cached repo id
  std::vector<std::string> types;  // empty: every type on the ladder (`quantscope types`)
  MetricLevel metric = MetricLevel::proxy;
  // With metric kld: only these types get the (costly) kld level, the others stop at layer; the
  // KLD predictor fills them in from these probes. Empty: every type gets kld.
  std::vector<std::string> probes;
  std::string text;                // calibration text; needed for layer and kld
  std::string imatrix;             // optional
  std::string tensor_regex;        // ECMAScript regex searched in GGUF names; empty: all
  int shard_index = 1, shard_count = 1;  // --shard i/N: the tensors whose position % N == i - 1
  int64_t n_ctx = 512;
  int64_t max_chunks = 8;
  // Where the layer and kld levels run: auto (the GPU when there is one), cpu or cuda; resolved to
  // cpu or cuda by validate_and_resolve. Stored only when cuda (a job's params name its device).
  std::string device = "cpu";
  // fp32 or tf32 (the GPU's products; infer/compute_device.h). Stored only when tf32: a job's
  // params say when its KLDs came from TF32 products, and jobs made before the option read as fp32.
  std::string precision = "fp32";

  nlohmann::json to_json() const;
  // Throws qs::Error naming the field for a missing or mistyped one.
  static MeasureRequest from_json(const nlohmann::json &params);
  // Checks the fields that do not need the model: metric vs text, shard range, regex, context,
  // type names. Paths are made absolute.
  void validate_and_resolve();
};

// The request's calibration text, tokenized by the model, cut into its chunks as the sweep and a
// whole-mix measurement both read it. Throws qs::Error when there is no text or too little of it.
CalibrationChunks read_calibration_chunks(const ModelSource &model, const MeasureRequest &request);

// Parses "i/N" (1 <= i <= N); throws qs::Error otherwise.
void parse_shard(const std::string &text, int &index, int &count);

struct MeasurementUnit {
  std::string tensor;
  const QuantType *type = nullptr;
  std::string key;  // measurement_unit_key(tensor, type)
  MetricLevel level = MetricLevel::proxy;  // how far this unit goes (probes: kld, others: layer)
};

// Every (tensor, type) to measure, layer by layer (the token embedding first, the output matrix
// last) so a sweep moves its cached hidden states forward only; within a tensor, types from most
// to fewest bits. A tensor takes a type when llama.cpp would quantize it, its row length fits the
// type's blocks, and, for types that need one, the imatrix has an entry for it.
std::vector<MeasurementUnit> plan_measurement_units(const MeasureRequest &request, const ModelSource &model,
                                                    const Imatrix *imatrix);

}  // namespace qs
