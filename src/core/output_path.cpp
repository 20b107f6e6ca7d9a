// Refusing outputs that would overwrite inputs.
#include "core/output_path.h"

#include "core/error.h"

namespace qs {

namespace {

// The absolute path with symlinks of its existing part resolved.
std::filesystem::path resolved(const std::filesystem::path &path) {
  std::error_code ec;
  auto r = std::filesystem::weakly_canonical(std::filesystem::absolute(path), ec);
  return ec ? std::filesystem::absolute(path).lexically_normal() : r;
}

bool is_within(const std::filesystem::path &inner, const std::filesystem::path &outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

}  // namespace

void refuse_output_over_inputs(const std::filesystem::path &output, std::string_view flag,
                               const std::vector<std::filesystem::path> &inputs) {
  if (output.empty()) return;
  const auto out = resolved(output);
  // The exact input first: "is an input" says more than "inside its model directory".
  for (const auto &input : inputs) {
    if (input.empty() || !std::filesystem::exists(input)) continue;
    if (out == resolved(input))
      fail(flag, " ", output.string(), " is an input of this command (", input.string(), "): refusing to overwrite it");
  }
  for (const auto &input : inputs) {
    if (input.empty() || !std::filesystem::is_directory(input)) continue;
    if (is_within(out, resolved(input)))
      fail(flag, " ", output.string(), " lies inside the input model directory ", input.string(),
           ": refusing to write there (it could replace the model's own files)");
  }
}

}  // namespace qs
