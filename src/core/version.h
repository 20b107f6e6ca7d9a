// quantscope's version, as `--version` prints it and the server's /api/info reports it.
#pragma once

namespace qs {

inline constexpr const char *kVersion = "0.1.0";

}  // namespace qs
