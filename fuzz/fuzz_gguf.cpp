// libFuzzer target for the GGUF reader: any input must either parse or throw qs::Error.
#include "core/error.h"
#include "formats/gguf.h"
#include "memory_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  MemoryFile file(data, size);
  if (!file.ok()) return 0;
  try {
    const auto gguf = qs::gguf::GgufFile::open(file.path());
    for (const auto &t : gguf.tensors()) {
      const auto bytes = gguf.tensor_data(t);
      volatile uint8_t last = bytes.empty() ? 0 : bytes[bytes.size() - 1];  // touch the claimed range
      (void)last;
    }
  } catch (const qs::Error &) {
  }
  return 0;
}
