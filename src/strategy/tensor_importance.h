// How much a tensor's inputs carry, from an importance matrix: the number the knee's
// importance-weighted threshold and the importance bins rank tensors by.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "formats/imatrix.h"

namespace qs {

// Per tensor that the imatrix has: the mean over its input columns (and experts) of the mean
// squared activation, i.e. the average importance weight its quantization would be given. An error
// of the same relative size costs more output energy where this is larger. Tensors the imatrix
// lacks (token_embd: a lookup, no matmul input) are absent from the map.
std::map<std::string, double> imatrix_tensor_importance(const Imatrix &imatrix, const std::vector<std::string> &tensors);

}  // namespace qs
