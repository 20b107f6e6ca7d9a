// The JSON of `types --json` and /api/types.
#include "quant/type_table_json.h"

#include "quant/types.h"

namespace qs {

nlohmann::json type_table_json() {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto &t : all_quant_types()) {
    rows.push_back({{"name", t.name},
                    {"id", static_cast<uint32_t>(t.id)},
                    {"block_size", t.block_size},
                    {"block_bytes", t.block_bytes},
                    {"bpw", t.bits_per_weight()},
                    {"needs_imatrix", t.needs_imatrix},
                    {"ladder", t.storage_candidate}});
  }
  return rows;
}

}  // namespace qs
