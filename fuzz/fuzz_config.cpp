// libFuzzer target for the config.json parser, then the architecture table and the GGUF hparams
// built from whatever parses: each input is accepted or refused with qs::Error, never a crash.
#include <string>

#include "core/error.h"
#include "formats/hf_config.h"
#include "model/architectures.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    const qs::ModelConfig config =
        qs::parse_model_config(std::string(reinterpret_cast<const char *>(data), size), "fuzz/config.json");
    (void)qs::architecture_for(config);
    (void)qs::gguf_hparams(config);
  } catch (const qs::Error &) {
  }
  return 0;
}
