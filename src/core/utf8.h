// UTF-8 validation (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF), used on
// every name read from a file so that later JSON output and lookups never see broken text.
#pragma once

#include <string_view>

namespace qs {

bool is_valid_utf8(std::string_view s);

}  // namespace qs
