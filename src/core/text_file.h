// Whole text files: read in one go, and written so that the path never holds a half-written
// file (path.tmp, flushed, renamed over path; on any failure the old file stays as it was).
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

namespace qs {

// Throws qs::Error naming the path for a file that cannot be read or is larger than max_bytes
// (`what` names the kind of file in that message: "a strategy").
std::string read_text_file(const std::filesystem::path &path, uint64_t max_bytes, std::string_view what);

// Throws qs::Error naming the path when any step fails (a full disk, a missing directory); the
// temporary file is removed then.
void write_file_atomically(const std::filesystem::path &path, const std::string &text);

}  // namespace qs
