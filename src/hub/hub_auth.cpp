// Endpoint, token and offline mode from flags, environment and huggingface_hub's token file.
#include "hub/hub_auth.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>

namespace qs {
namespace {

std::string env(const char *name) {
  const char *value = std::getenv(name);
  return value ? std::string(value) : std::string();
}

std::string trim(std::string s) {
  const auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

}  // namespace

std::string hub_endpoint() {
  std::string endpoint = trim(env("HF_ENDPOINT"));
  if (endpoint.empty()) endpoint = "https://huggingface.co";
  while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
  return endpoint;
}

std::filesystem::path hf_home_dir() {
  if (const std::string home = env("HF_HOME"); !home.empty()) return home;
  if (const std::string xdg = env("XDG_CACHE_HOME"); !xdg.empty()) return std::filesystem::path(xdg) / "huggingface";
  const std::string user_home = env("HOME");
  return std::filesystem::path(user_home.empty() ? "." : user_home) / ".cache" / "huggingface";
}

std::filesystem::path hub_token_file() {
  if (const std::string path = env("HF_TOKEN_PATH"); !path.empty()) return path;
  return hf_home_dir() / "token";
}

std::optional<std::string> resolve_hub_token(const std::string &token_flag) {
  if (std::string flag = trim(token_flag); !flag.empty()) return flag;
  if (std::string from_env = trim(env("HF_TOKEN")); !from_env.empty()) return from_env;
  std::ifstream file(hub_token_file());
  std::string line;
  if (file && std::getline(file, line) && !(line = trim(line)).empty()) return line;
  return std::nullopt;
}

bool hub_offline() {
  std::string value = trim(env("HF_HUB_OFFLINE"));
  std::transform(value.begin(), value.end(), value.begin(), [](unsigned char c) { return std::tolower(c); });
  return value == "1" || value == "true" || value == "yes" || value == "on";
}

std::string url_origin(const std::string &url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return {};
  std::string scheme = url.substr(0, scheme_end);
  const auto host_begin = scheme_end + 3;
  auto host_end = url.find_first_of("/?#", host_begin);
  if (host_end == std::string::npos) host_end = url.size();
  std::string authority = url.substr(host_begin, host_end - host_begin);
  if (const auto at = authority.rfind('@'); at != std::string::npos) authority.erase(0, at + 1);
  std::string lower = scheme + "://" + authority;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  // An explicit port unless one is given (IPv6 literals end in ']').
  const auto colon = lower.rfind(':');
  const auto bracket = lower.rfind(']');
  const bool has_port = colon != std::string::npos && colon > scheme_end + 2 && (bracket == std::string::npos || colon > bracket);
  if (!has_port) lower += scheme == "https" ? ":443" : ":80";
  return lower;
}

}  // namespace qs
