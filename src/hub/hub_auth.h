// Where the Hugging Face Hub is and who we are to it, resolved the way huggingface_hub does:
// HF_ENDPOINT (default https://huggingface.co), the token from --token, else HF_TOKEN, else the
// token file `huggingface-cli login` writes (HF_TOKEN_PATH, else $HF_HOME/token, else
// ~/.cache/huggingface/token), and HF_HUB_OFFLINE. The token is never printed, logged or stored.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace qs {

// The endpoint without a trailing slash: "https://huggingface.co" or $HF_ENDPOINT.
std::string hub_endpoint();
// HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
std::filesystem::path hf_home_dir();
// The token file huggingface_hub reads and writes.
std::filesystem::path hub_token_file();
// flag (if not empty), else HF_TOKEN, else the token file's first line; nullopt when none.
std::optional<std::string> resolve_hub_token(const std::string &token_flag);
// HF_HUB_OFFLINE set to 1/true/yes/on: only the local cache may be used.
bool hub_offline();

// "scheme://host:port" of a URL, lower-cased with the default port made explicit, to decide
// whether a URL is the endpoint's host (the only one that may see the token).
std::string url_origin(const std::string &url);

}  // namespace qs
