// Listing a repo at a revision and explaining the Hub's error answers.
#include "hub/hub_api.h"

#include <cctype>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "core/error.h"

namespace qs {

void check_repo_id(const std::string &repo_id) {
  const auto slash = repo_id.find('/');
  bool ok = !repo_id.empty() && repo_id.find("..") == std::string::npos && repo_id.front() != '/' &&
            repo_id.back() != '/' && (slash == std::string::npos || repo_id.find('/', slash + 1) == std::string::npos);
  for (const unsigned char c : repo_id) ok = ok && (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '/');
  if (!ok) fail("'", repo_id, "' is not a Hugging Face repo id (expected org/name)");
}

std::string percent_encode(const std::string &text, bool keep_slashes) {
  std::string out;
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || (keep_slashes && c == '/')) {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

std::string repo_api_url(const std::string &endpoint, const std::string &repo_id, const std::string &revision) {
  return endpoint + "/api/models/" + repo_id + "/revision/" + percent_encode(revision, false) + "?blobs=true";
}

std::string file_resolve_url(const std::string &endpoint, const std::string &repo_id, const std::string &commit,
                             const std::string &path) {
  return endpoint + "/" + repo_id + "/resolve/" + percent_encode(commit, false) + "/" + percent_encode(path, true);
}

std::string normalize_etag(std::string etag) {
  if (etag.rfind("W/", 0) == 0) etag.erase(0, 2);
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  return etag;
}

void fail_hub_response(const HttpResponse &response, const std::string &endpoint, const std::string &repo_id,
                       const std::string &revision, const std::string &file) {
  const std::string code = response.header("x-error-code");
  const std::string what = file.empty() ? cat(repo_id, " at revision ", revision) : cat(file, " of ", repo_id, " at ", revision);
  const long status = response.status;
  // The Hub answers a gated repo's files with 401 (no token) or 403 (not accepted), both with
  // X-Error-Code GatedRepo.
  if (code == "GatedRepo" || status == 403)
    fail(status, status == 401 ? " Unauthorized: " : " Forbidden: ", repo_id, " is a gated repo: accept its conditions at ",
         endpoint, "/", repo_id, " and use a token of that account (", status == 401 ? "no valid token was sent" :
         "this token's account has not accepted them, or the token lacks read access", ")");
  if (status == 401 && code != "RepoNotFound")
    fail("401 Unauthorized for ", what, ": the token is missing or not valid (pass --token, set HF_TOKEN, or run "
         "`huggingface-cli login`)");
  if (status == 404 || code == "RepoNotFound" || code == "RevisionNotFound" || code == "EntryNotFound") {
    if (code == "RevisionNotFound") fail("404 Not Found: ", repo_id, " has no revision '", revision, "'");
    if (code == "EntryNotFound" || (!file.empty() && code != "RepoNotFound"))
      fail("404 Not Found: ", repo_id, " at revision ", revision, " has no file '", file, "'");
    // huggingface.co answers 401 RepoNotFound for a private repo asked for without a token.
    fail(status == 401 ? "401 Unauthorized" : "404 Not Found", ": no model repo '", repo_id, "' on ", endpoint,
         " (check the id; a private repo needs a token with access to it)");
  }
  fail("HTTP ", status, " from ", endpoint, " for ", what);
}

RepoListing fetch_repo_listing(const HubHttp &http, const std::string &repo_id, const std::string &revision) {
  check_repo_id(repo_id);
  const HttpResponse response = http.get_text(repo_api_url(http.endpoint(), repo_id, revision));
  if (response.status != 200) fail_hub_response(response, http.endpoint(), repo_id, revision, "");
  RepoListing listing;
  try {
    const auto json = nlohmann::json::parse(response.body);
    listing.commit = json.at("sha").get<std::string>();
    for (const auto &sibling : json.at("siblings")) {
      HubFile file;
      file.path = sibling.at("rfilename").get<std::string>();
      if (sibling.contains("size") && sibling["size"].is_number_integer()) file.size = sibling["size"].get<int64_t>();
      if (sibling.contains("blobId") && sibling["blobId"].is_string()) file.etag = sibling["blobId"].get<std::string>();
      if (sibling.contains("lfs") && sibling["lfs"].is_object()) {
        const auto &lfs = sibling["lfs"];
        file.sha256 = lfs.at("sha256").get<std::string>();
        file.etag = file.sha256;  // the Hub's X-Linked-Etag of an LFS file is its sha256
        if (lfs.contains("size")) file.size = lfs["size"].get<int64_t>();
      }
      listing.files.push_back(std::move(file));
    }
  } catch (const nlohmann::json::exception &e) {
    fail(http.endpoint(), ": the listing of ", repo_id, " at ", revision, " is not the expected JSON (", e.what(), ")");
  }
  // The commit and every path become cache paths: refuse anything that could escape the cache.
  bool commit_ok = !listing.commit.empty();
  for (const unsigned char c : listing.commit) commit_ok = commit_ok && std::isxdigit(c);
  if (!commit_ok) fail(http.endpoint(), ": ", repo_id, " at ", revision, " resolved to a malformed commit '", listing.commit, "'");
  for (const auto &file : listing.files) {
    const std::string wrapped = "/" + file.path + "/";
    if (file.path.empty() || file.path.front() == '/' || wrapped.find("/../") != std::string::npos ||
        wrapped.find("/./") != std::string::npos || file.path.find('\\') != std::string::npos)
      fail(http.endpoint(), ": ", repo_id, " lists an unsafe file path '", file.path, "'");
    for (const unsigned char c : file.etag)
      if (!std::isalnum(c) && c != '-') fail(http.endpoint(), ": ", repo_id, " gives ", file.path, " a malformed blob id");
  }
  return listing;
}

}  // namespace qs
