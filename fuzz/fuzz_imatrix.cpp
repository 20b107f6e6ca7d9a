// libFuzzer target for the imatrix reader (GGUF and legacy .dat layouts): parse or qs::Error.
#include "core/error.h"
#include "formats/imatrix.h"
#include "memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MemoryFile file(data, size);
  if (!file.ok()) return 0;
  try {
    const qs::Imatrix imatrix = qs::read_imatrix(file.path());
    for (const auto &[name, entry] : imatrix.entries) {
      for (int64_t m = 0; m < entry.n_mat; ++m) {
        try {
          (void)imatrix.importance(name, entry.n_cols, m);
        } catch (const qs::Error &) {
        }
      }
    }
  } catch (const qs::Error &) {
  }
  return 0;
}
