// Sizes as people write them on a command line: "4718592000", "4500MB", "4.2GiB".
#pragma once

#include <cstdint>
#include <string_view>

namespace qs {

// Bytes, with an optional unit: B, KB/MB/GB/TB (powers of 1000) or KiB/MiB/GiB/TiB (powers of
// 1024), case-insensitive, a space allowed before it. A bare "K", "M" or "G" is refused: tools
// disagree on whether it means 1000 or 1024, and a budget must not depend on the guess. `flag`
// names the option in errors. Fractions round down to whole bytes.
uint64_t parse_byte_size(std::string_view text, std::string_view flag);

}  // namespace qs
