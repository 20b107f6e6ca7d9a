// The default file choice and the --include/--exclude globs.
#include <gtest/gtest.h>

#include <algorithm>

#include "hub/hub_file_selection.h"

namespace qs::hub_file_selection_test {
namespace {

std::vector<std::string> paths(const std::vector<HubFile> &files) {
  std::vector<std::string> out;
  for (const auto &f : files) out.push_back(f.path);
  return out;
}

std::vector<HubFile> repo(std::vector<std::string> names) {
  std::vector<HubFile> files;
  for (auto &n : names) files.push_back({n, 1, "e", ""});
  return files;
}

const std::vector<HubFile> kLlamaRepo = repo({".gitattributes", "README.md", "config.json", "generation_config.json",
                                               "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                               "model.safetensors.index.json", "pytorch_model.bin", "original/consolidated.00.pth",
                                               "original/params.json", "original/tokenizer.model", "special_tokens_map.json",
                                               "tokenizer.json", "tokenizer_config.json", "model.gguf"});

TEST(HubFileSelection, DefaultSkipsDuplicateWeightsWhenSafetensorsExist) {
  EXPECT_EQ(paths(select_hub_files(kLlamaRepo, {}, {})),
            (std::vector<std::string>{".gitattributes", "README.md", "config.json", "generation_config.json",
                                      "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                      "model.safetensors.index.json", "special_tokens_map.json", "tokenizer.json",
                                      "tokenizer_config.json"}));
}

TEST(HubFileSelection, WithoutSafetensorsTheOtherWeightsStay) {
  const auto files = repo({"config.json", "pytorch_model.bin", "original/params.json"});
  EXPECT_EQ(paths(select_hub_files(files, {}, {})), (std::vector<std::string>{"config.json", "pytorch_model.bin", "original/params.json"}));
}

TEST(HubFileSelection, IncludeReplacesTheDefaultAndExcludeDrops) {
  EXPECT_EQ(paths(select_hub_files(kLlamaRepo, {"original/*"}, {"*.pth"})),
            (std::vector<std::string>{"original/params.json", "original/tokenizer.model"}));
  EXPECT_EQ(paths(select_hub_files(kLlamaRepo, {"*.gguf", "config.json"}, {})),
            (std::vector<std::string>{"config.json", "model.gguf"}));
  EXPECT_EQ(paths(select_hub_files(kLlamaRepo, {}, {"*.md", ".git*", "model-*"})),
            (std::vector<std::string>{"config.json", "generation_config.json", "model.safetensors.index.json",
                                      "special_tokens_map.json", "tokenizer.json", "tokenizer_config.json"}));
}

TEST(HubFileSelection, StarCrossesFoldersAndTrailingSlashMeansTheFolder) {
  EXPECT_TRUE(hub_glob_match("*.json", "original/params.json"));  // as fnmatch in huggingface_hub
  EXPECT_TRUE(hub_glob_match("original/", "original/params.json"));
  EXPECT_FALSE(hub_glob_match("original/", "config.json"));
}

}  // namespace
}  // namespace qs::hub_file_selection_test
