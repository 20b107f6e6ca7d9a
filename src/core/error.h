// The one error type of quantscope: every failure caused by input (a file, a flag, a tensor)
// is thrown as qs::Error with a message naming what was wrong; the CLI prints it and exits 2.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace qs {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates any streamable values into one string (g++ 12 has no <format>).
template <class... Parts>
std::string cat(Parts &&...parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

template <class... Parts>
[[noreturn]] void fail(Parts &&...parts) {
  throw Error(cat(std::forward<Parts>(parts)...));
}

}  // namespace qs
