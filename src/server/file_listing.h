// The files under the server's roots a request may name, by what they are for, so the UI can offer
// them in a picker instead of asking for typed paths.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace qs::server {

enum class FileKind { model, text, imatrix, strategy, gguf };
std::optional<FileKind> parse_file_kind(std::string_view name);

struct ListedFile {
  std::filesystem::path path;  // absolute
  uint64_t bytes = 0;          // a model directory: the sum of its files
};

// What counts as each kind: model, a directory holding config.json and a .safetensors file, or a
// .gguf file; text, a .txt file; imatrix, a .dat file or a .gguf file whose name holds "imatrix";
// strategy, a .yaml, .yml or .json file (but config/tokenizer JSON of a model directory); gguf, a
// .gguf file. Searched to depth 4 below each root, hidden entries skipped, symlinks not followed;
// sorted by path, at most `limit` entries.
std::vector<ListedFile> list_files(const std::vector<std::filesystem::path> &roots, FileKind kind,
                                   size_t limit = 2000);

}  // namespace qs::server
