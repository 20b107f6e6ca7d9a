// The quant type table as JSON: what `quantscope types --json` prints and /api/types answers.
#pragma once

#include <nlohmann/json.hpp>

namespace qs {

// [{name, id, block_size, block_bytes, bpw, needs_imatrix, ladder}] in table order.
nlohmann::json type_table_json();

}  // namespace qs
