// Outputs over inputs are refused, however the path is spelled.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/output_path.h"
#include "test_support.h"

namespace qs::output_path_test {
namespace {

TEST(OutputPath, RefusesAnInputFileAndAnythingInsideAnInputDirectory) {
  test::ScratchDir dir;
  std::filesystem::create_directories(dir / "model");
  const auto weights = dir.write_text("model/model.safetensors", "x");
  const auto text = dir.write_text("calibration.txt", "x");
  const std::vector<std::filesystem::path> inputs{dir / "model", text};

  test::expect_error_containing([&] { refuse_output_over_inputs(text, "-o", inputs); }, {"-o", "is an input"});
  test::expect_error_containing([&] { refuse_output_over_inputs(weights, "-o", inputs); },
                                {"inside the input model directory"});
  // A new file inside the model directory, another spelling, and a symlink to an input.
  test::expect_error_containing([&] { refuse_output_over_inputs(dir / "model/new.gguf", "-o", inputs); },
                                {"inside the input model directory"});
  test::expect_error_containing([&] { refuse_output_over_inputs(dir / "model/../calibration.txt", "--save-logits", inputs); },
                                {"--save-logits", "is an input"});
  std::filesystem::create_symlink(text, dir / "link.txt");
  test::expect_error_containing([&] { refuse_output_over_inputs(dir / "link.txt", "-o", inputs); }, {"is an input"});

  // Beside the inputs is fine, including a directory whose name starts like the model's.
  EXPECT_NO_THROW(refuse_output_over_inputs(dir / "out.gguf", "-o", inputs));
  EXPECT_NO_THROW(refuse_output_over_inputs(dir / "model-q4.gguf", "-o", inputs));
  EXPECT_NO_THROW(refuse_output_over_inputs(dir / "model.gguf", "-o", inputs));
  // Empty paths (an option not given) and inputs that do not exist (a repo id) are skipped.
  EXPECT_NO_THROW(refuse_output_over_inputs("", "-o", inputs));
  EXPECT_NO_THROW(refuse_output_over_inputs(dir / "out.gguf", "-o", {"", "org/name"}));
}

}  // namespace
}  // namespace qs::output_path_test
