// The local Hugging Face cache (huggingface_hub's layout): HF_HUB_CACHE, else HF_HOME/hub, else
// ~/.cache/huggingface/hub, holding models--<org>--<name>/{refs/<revision>, snapshots/<commit>/}.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace qs {

std::filesystem::path hf_hub_cache_dir();
// The cache folder of a repo id ("org/name" -> .../models--org--name).
std::filesystem::path hf_repo_cache_dir(const std::string &repo_id);
// The snapshot directory of `repo_id` at `revision` (a branch/tag name in refs/, or a commit
// hash), if it is in the cache.
std::optional<std::filesystem::path> find_cached_snapshot(const std::string &repo_id, const std::string &revision = "main");
// Throws qs::Error naming the first file of the snapshot whose link points at no blob (a download
// that was interrupted, or a blob deleted by hand), so a cached model never opens half there.
void check_cached_snapshot_complete(const std::filesystem::path &snapshot, const std::string &repo_id);

}  // namespace qs
