// Wall-clock time as the job database stores it: Unix seconds with a fraction. Leases compare
// these across processes (and hosts), so it must be the system clock, not a steady one.
#pragma once

#include <chrono>

namespace qs {

inline double unix_now_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace qs
