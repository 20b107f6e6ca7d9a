// Parsing byte sizes with units.
#include "core/byte_size.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <string>

#include "core/error.h"

namespace qs {

uint64_t parse_byte_size(std::string_view text, std::string_view flag) {
  const std::string s(text);
  const char *begin = s.c_str();
  char *end = nullptr;
  const double value = std::strtod(begin, &end);
  if (end == begin || !std::isfinite(value) || value < 0 || s.find_first_of("xXpP") != std::string::npos)
    fail(flag, ": '", text, "' is not a size (e.g. 4718592000, 4500MB, 4.2GiB)");
  std::string unit(end);
  while (!unit.empty() && unit.front() == ' ') unit.erase(unit.begin());
  for (char &c : unit) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  struct Unit {
    const char *name;
    double factor;
  };
  static constexpr Unit units[] = {{"", 1},          {"b", 1},
                                   {"kb", 1e3},      {"mb", 1e6},
                                   {"gb", 1e9},      {"tb", 1e12},
                                   {"kib", 1024.0},  {"mib", 1048576.0},
                                   {"gib", 1073741824.0}, {"tib", 1099511627776.0}};
  for (const Unit &u : units) {
    if (unit != u.name) continue;
    const long double bytes = static_cast<long double>(value) * u.factor;
    if (bytes >= 1.8e19L) fail(flag, ": '", text, "' is too large");
    return static_cast<uint64_t>(bytes);
  }
  if (unit == "k" || unit == "m" || unit == "g" || unit == "t")
    fail(flag, ": '", text, "': write ", static_cast<char>(std::toupper(unit[0])), "B (powers of 1000) or ",
         static_cast<char>(std::toupper(unit[0])), "iB (powers of 1024)");
  fail(flag, ": '", text, "': unknown unit '", std::string(end), "' (B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)");
}

}  // namespace qs
