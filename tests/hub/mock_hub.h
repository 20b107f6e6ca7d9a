// A mock Hugging Face Hub for the download tests: a cpp-httplib server on 127.0.0.1 (a port of
// its own, in a thread) serving one model repo the way huggingface.co does:
//   GET /api/models/<repo>/revision/<rev>?blobs=true   the listing, with blob ids and LFS sha256
//   GET /<repo>/resolve/<commit>/<path>                small files directly (ETag = git blob id);
//       LFS files redirect (302, X-Linked-Etag, X-Linked-Size) to /cdn/<sha256> on "localhost",
//       a second host name for the same server, which must never see the token
// and the Hub's error answers (401, 403 GatedRepo, 404 RepoNotFound/RevisionNotFound). Knobs make
// it slow, drop connections, or serve wrong bytes; it counts every byte of file content it sends.
#pragma once

#include <httplib.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/sha256.h"

namespace qs::test {

struct MockRepoFile {
  std::string path;
  std::string bytes;
  bool lfs = false;
};

// The git blob id (sha1 of "blob <size>\0" + bytes), what the Hub gives a non-LFS file as ETag.
inline std::string git_blob_id(const std::string &bytes) {
  const std::string object = "blob " + std::to_string(bytes.size()) + std::string(1, '\0') + bytes;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  EVP_Digest(object.data(), object.size(), digest, &n, EVP_sha1(), nullptr);
  return lower_hex(digest, n);
}

struct MockRequest {
  std::string host, path, authorization, range;
  int64_t content_bytes_sent = 0;  // of a file's content, in this response
};

class MockHub {
 public:
  static constexpr const char *kCommit = "0123456789abcdef0123456789abcdef01234567";

  MockHub(std::string repo_id, std::vector<MockRepoFile> files) : repo_id_(std::move(repo_id)), files_(std::move(files)) {
    server_.Get(R"(/api/models/(.+)/revision/([^/]+))", [this](const httplib::Request &req, httplib::Response &res) {
      record(req);
      if (listing_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(listing_delay_ms.load()));
      if (refuse(req, res, req.matches[1])) return;
      const std::string revision = req.matches[2];
      if (revision != "main" && revision != kCommit) return error(res, 404, "RevisionNotFound");
      nlohmann::json siblings = nlohmann::json::array();
      for (const auto &f : files_) {
        nlohmann::json s = {{"rfilename", f.path}, {"size", f.bytes.size()}, {"blobId", git_blob_id(f.bytes)}};
        if (f.lfs) s["lfs"] = {{"sha256", sha256_hex(f.bytes)}, {"size", f.bytes.size()}, {"pointerSize", 134}};
        siblings.push_back(s);
      }
      res.set_content(nlohmann::json{{"id", repo_id_}, {"sha", kCommit}, {"siblings", siblings}}.dump(), "application/json");
    });
    server_.Get(R"(/cdn/([0-9a-f]+))", [this](const httplib::Request &req, httplib::Response &res) {
      const size_t index = record(req);
      for (const auto &f : files_)
        if (f.lfs && sha256_hex(f.bytes) == std::string(req.matches[1])) return serve(f, res, index);
      res.status = 404;
    });
    server_.Get(R"(/(.+)/resolve/([^/]+)/(.+))", [this](const httplib::Request &req, httplib::Response &res) {
      const size_t index = record(req);
      if (unavailable_answers > 0) {
        --unavailable_answers;
        return error(res, 503, "");
      }
      if (refuse(req, res, req.matches[1])) return;
      if (gated_files) return error(res, 403, "GatedRepo");
      if (std::string(req.matches[2]) != kCommit) return error(res, 404, "RevisionNotFound");
      for (const auto &f : files_) {
        if (f.path != std::string(req.matches[3])) continue;
        res.set_header("X-Repo-Commit", kCommit);
        if (f.lfs) {
          const std::string sha = sha256_hex(f.bytes);
          res.set_header("X-Linked-Etag", "\"" + sha + "\"");
          res.set_header("X-Linked-Size", std::to_string(f.bytes.size()));
          res.set_redirect("http://localhost:" + std::to_string(port_) + "/cdn/" + sha, 302);
          return;
        }
        res.set_header("ETag", "\"" + git_blob_id(f.bytes) + "\"");
        return serve(f, res, index);
      }
      error(res, 404, "EntryNotFound");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~MockHub() {
    server_.stop();
    thread_.join();
  }

  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::vector<MockRepoFile> &files() const { return files_; }
  const MockRepoFile &file(const std::string &path) const {
    for (const auto &f : files_)
      if (f.path == path) return f;
    throw std::runtime_error("no mock file " + path);
  }

  // --- knobs ---
  std::string required_token;        // when set, the endpoint host answers 401 without "Bearer <it>"
  std::atomic<bool> gated{false};    // 403 GatedRepo for the repo's files and listing
  std::atomic<bool> gated_files{false};  // 403 GatedRepo for the files only (huggingface.co lists gated repos)
  std::atomic<int> listing_delay_ms{0};
  std::atomic<int64_t> drop_after_bytes{-1};  // the next file response closes after this many bytes (once)
  std::atomic<int> corrupt_serves{0};         // the next n LFS responses flip a byte
  std::atomic<int> chunk_delay_ms{0};         // sleep between 4 KiB chunks (a slow server)
  std::atomic<int> unavailable_answers{0};    // the next n resolve requests get 503

  // --- what happened ---
  std::atomic<int64_t> content_bytes_sent{0};
  std::vector<MockRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  int64_t bytes_sent_of(const std::string &path) {
    std::lock_guard lock(mutex_);
    return bytes_per_file_[path];
  }

 private:
  size_t record(const httplib::Request &req) {
    std::lock_guard lock(mutex_);
    requests_.push_back({req.get_header_value("Host"), req.path, req.get_header_value("Authorization"),
                         req.get_header_value("Range")});
    return requests_.size() - 1;
  }
  static void error(httplib::Response &res, int status, const std::string &code) {
    res.status = status;
    res.set_header("X-Error-Code", code);
    res.set_content("{\"error\":\"" + code + "\"}", "application/json");
  }
  bool refuse(const httplib::Request &req, httplib::Response &res, const std::string &repo) {
    if (!required_token.empty() && req.get_header_value("Authorization") != "Bearer " + required_token) {
      error(res, 401, "");
      return true;
    }
    if (repo != repo_id_) {
      error(res, 404, "RepoNotFound");
      return true;
    }
    if (gated) {
      error(res, 403, "GatedRepo");
      return true;
    }
    return false;
  }
  void count(const std::string &path, size_t request_index, int64_t n) {
    content_bytes_sent += n;
    std::lock_guard lock(mutex_);
    bytes_per_file_[path] += n;
    requests_[request_index].content_bytes_sent += n;
  }
  // The file through a content provider, so cpp-httplib answers Range requests (206) and every
  // byte sent is counted; drops and slowness happen here.
  void serve(const MockRepoFile &f, httplib::Response &res, size_t request_index) {
    std::string bytes = f.bytes;
    if (f.lfs && corrupt_serves > 0) {
      --corrupt_serves;
      bytes[bytes.size() / 2] ^= 0x5a;
    }
    const int64_t drop_at = drop_after_bytes.exchange(-1);
    const std::string path = f.path;
    res.set_content_provider(bytes.size(), "application/octet-stream",
                             [this, bytes, drop_at, path, request_index, sent = int64_t{0}](size_t offset, size_t length,
                                                                             httplib::DataSink &sink) mutable {
                               if (drop_at >= 0 && sent >= drop_at) return false;  // the connection drops
                               if (chunk_delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(chunk_delay_ms.load()));
                               size_t n = std::min<size_t>(length, 4096);
                               if (drop_at >= 0) n = std::min<size_t>(n, static_cast<size_t>(drop_at - sent));
                               // Counted before the write: a client that has every byte has been counted.
                               count(path, request_index, static_cast<int64_t>(n));
                               if (!sink.write(bytes.data() + offset, n)) {
                                 count(path, request_index, -static_cast<int64_t>(n));
                                 return false;
                               }
                               sent += static_cast<int64_t>(n);
                               return true;
                             });
  }

  std::string repo_id_;
  std::vector<MockRepoFile> files_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::vector<MockRequest> requests_;
  std::map<std::string, int64_t> bytes_per_file_;
};

// A tiny safetensors file: one F32 tensor of n_floats values 0, 1, 2, ...
inline std::string tiny_safetensors(size_t n_floats) {
  const std::string header = "{\"w\":{\"dtype\":\"F32\",\"shape\":[" + std::to_string(n_floats) +
                             "],\"data_offsets\":[0," + std::to_string(4 * n_floats) + "]}}";
  std::string out(8, '\0');
  uint64_t length = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  out += header;
  for (size_t i = 0; i < n_floats; ++i) {
    const float v = static_cast<float>(i);
    out.append(reinterpret_cast<const char *>(&v), 4);
  }
  return out;
}

}  // namespace qs::test
