// End to end: `quantscope perplexity` on the shipped model (our tokenizer + forward pass against
// HF's tokens of eval.txt run through the library), --save-logits / --kl-base round trips, a
// quantized GGUF against its base, and one-line errors with exit status 2 on bad input.
#include <gtest/gtest.h>

#include <cstring>

#include <nlohmann/json.hpp>

#include "cli/cli_runner.h"
#include "formats/safetensors.h"
#include "infer/perplexity.h"
#include "infer/transformer.h"
#include "model/model_source.h"

namespace qs::perplexity_command_test {
namespace {

using test::expect_one_line_error;
using test::run_quantscope;
using test::source_path;

const std::string kModel = source_path("models/kjv-llama");
const std::string kEval = source_path("models/kjv-llama/eval.txt");

TEST(CliPerplexity, MatchesTheLibraryOnHfTokens) {
  const auto r = run_quantscope("perplexity " + kModel + " --text " + kEval + " --ctx 128 --chunks 3 --threads 2 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n_ctx"], 128);
  EXPECT_EQ(j["n_chunks"], 3);
  EXPECT_EQ(j["n_tokens"], 48156);
  EXPECT_EQ(j["n_scored"], 3 * 63);

  // The same chunks from the tokens HF tokenizers produced (tests/data/reference).
  const auto tokens_file = SafetensorsModel::open(source_path("tests/data/reference/tokens_eval_kjv.safetensors"));
  const auto *t = tokens_file.find("tokens");
  std::vector<int32_t> tokens(static_cast<size_t>(t->n_elements()));
  std::memcpy(tokens.data(), t->bytes.data(), tokens.size() * 4);
  const auto source = ModelSource::open(kModel);
  const auto model = Transformer::load(*source, 2);
  PerplexityOptions options;
  options.n_ctx = 128;
  options.max_chunks = 3;
  options.bos_token = tokens[0];
  const auto expected = compute_perplexity(*model, tokens, options);
  EXPECT_DOUBLE_EQ(j["ppl"].get<double>(), expected.ppl.value);
  EXPECT_DOUBLE_EQ(j["ppl_error"].get<double>(), expected.ppl.error);
}

TEST(CliPerplexity, SavedLogitsGiveZeroKldAgainstThemselves) {
  test::ScratchDir dir;
  const std::string base = (dir.path() / "base.logprobs").string();
  const auto saved = run_quantscope("perplexity " + kModel + " --text " + kEval + " --ctx 64 --chunks 4 --save-logits " + base);
  ASSERT_EQ(saved.status, 0) << saved.err;
  EXPECT_NE(saved.out.find("PPL "), std::string::npos);
  const auto self = run_quantscope("perplexity " + kModel + " --kl-base " + base + " --json");
  ASSERT_EQ(self.status, 0) << self.err;
  const auto j = nlohmann::json::parse(self.out);
  EXPECT_EQ(j["n_scored"], 4 * 31);
  EXPECT_LT(std::abs(j["kld"]["mean"]["value"].get<double>()), 1e-5);
  EXPECT_EQ(j["kld"]["same_top"]["value"], 1.0);
  EXPECT_EQ(j["kld"]["ppl"]["value"], j["kld"]["base_ppl"]["value"]);
  // The table form prints llama.cpp's sections.
  const auto table = run_quantscope("perplexity " + kModel + " --text " + kEval + " --kl-base " + base);
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("Mean    KLD:"), std::string::npos);
  EXPECT_NE(table.out.find("Same top p:"), std::string::npos);
  EXPECT_NE(table.out.find("base PPL"), std::string::npos);
}

TEST(CliPerplexity, QuantizedGgufAgainstItsBase) {
  test::ScratchDir dir;
  const std::string base = (dir.path() / "base.logprobs").string();
  const std::string gguf = (dir.path() / "q8.gguf").string();
  ASSERT_EQ(run_quantscope("perplexity " + kModel + " --text " + kEval + " --ctx 64 --chunks 4 --save-logits " + base).status, 0);
  const auto q = run_quantscope("quantize " + kModel + " --type Q8_0 -o " + gguf);
  ASSERT_EQ(q.status, 0) << q.err;
  // The GGUF brings its own tokenizer; the text must tokenize as the base run's did.
  const auto r = run_quantscope("perplexity " + gguf + " --text " + kEval + " --kl-base " + base + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto k = nlohmann::json::parse(r.out)["kld"];
  EXPECT_GT(k["mean"]["value"].get<double>(), 1e-6);
  EXPECT_LT(k["mean"]["value"].get<double>(), 1e-2);
  EXPECT_GT(k["same_top"]["value"].get<double>(), 0.9);
}

TEST(CliPerplexity, BadInputIsOneLineAndStatusTwo) {
  test::ScratchDir dir;
  const auto empty = dir.write_text("empty.txt", "");
  expect_one_line_error(run_quantscope("perplexity " + kModel + " --text " + empty.string()), "empty");
  const auto short_text = dir.write_text("short.txt", "In the beginning God created the heaven and the earth.\n");
  expect_one_line_error(run_quantscope("perplexity " + kModel + " --text " + short_text.string()), "fewer than one context");
  expect_one_line_error(run_quantscope("perplexity " + kModel), "--text");
  // TF32 is refused on the CPU, never quietly fp32; the imatrix command shares the option.
  expect_one_line_error(run_quantscope("perplexity " + kModel + " --text " + kEval + " --device cpu --precision tf32"),
                        {"--precision tf32", "--device cuda"});
  expect_one_line_error(run_quantscope("imatrix " + kModel + " --text " + kEval + " -o " + (dir.path() / "i.gguf").string() +
                                       " --device cpu --precision tf32"),
                        {"--precision tf32", "--device cuda"});
  expect_one_line_error(run_quantscope("perplexity " + kModel + " --text " + kEval + " --precision half"),
                        "'half' is not one of fp32, tf32");
  const auto gpt2 = dir.path() / "gpt2";
  std::filesystem::create_directories(gpt2);
  dir.write_text("gpt2/config.json",
                 R"({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "hidden_size": 64,)"
                 R"( "num_hidden_layers": 2, "num_attention_heads": 4, "intermediate_size": 128,)"
                 R"( "vocab_size": 100})");
  // A valid, empty safetensors file (8-byte header length, then the JSON header "{}").
  dir.write("gpt2/model.safetensors", {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'});
  const auto r = run_quantscope("perplexity " + gpt2.string() + " --text " + kEval);
  expect_one_line_error(r, "GPT2LMHeadModel");
  const auto junk = dir.write_text("junk.logprobs", "not a log-prob file");
  expect_one_line_error(run_quantscope("perplexity " + kModel + " --kl-base " + junk.string()), "junk.logprobs");
}

}  // namespace
}  // namespace qs::perplexity_command_test
