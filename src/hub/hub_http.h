// The one place quantscope speaks HTTP (libcurl): GET and HEAD with redirects followed by hand,
// so the token (Authorization: Bearer) only ever goes to the configured endpoint's host and never
// to the CDN an LFS file redirects to; connect and stall timeouts; retries with backoff on 5xx,
// 429 and dropped connections.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

namespace qs {

struct HubClientOptions {
  double timeout_seconds = 30;  // connect timeout, and the longest a transfer may stall
  int max_retries = 5;          // after the first attempt, on 5xx/429 and dropped connections
  double backoff_seconds = 1;   // the first wait; doubled after each retry, at most 30 s
  // From QUANTSCOPE_HUB_TIMEOUT_SECONDS, QUANTSCOPE_HUB_RETRIES, QUANTSCOPE_HUB_BACKOFF_SECONDS.
  static HubClientOptions from_environment();
};

struct HttpResponse {
  long status = 0;
  std::string url;                             // the last URL, after redirects
  std::map<std::string, std::string> headers;  // of the last response; names lower-cased
  std::string body;                            // for non-2xx answers and for text requests
  std::string header(const std::string &lower_name) const {
    const auto found = headers.find(lower_name);
    return found == headers.end() ? std::string() : found->second;
  }
};

// A transfer that failed below HTTP (connection refused or dropped, timeout): worth retrying.
struct TransferFailure {
  std::string what;
  bool timed_out = false;
  bool aborted = false;  // the caller's should_abort said stop
  bool write_failed = false;
};

class HubHttp {
 public:
  // `endpoint` is the only origin that gets `token`.
  HubHttp(std::string endpoint, std::optional<std::string> token, HubClientOptions options);

  const std::string &endpoint() const { return endpoint_; }
  const HubClientOptions &options() const { return options_; }

  // GET or HEAD, redirects followed, the body of a 2xx answer passed to `on_body` (when given; else
  // kept in the response). `range_from` > 0 asks for "Range: bytes=<from>-". `follow_cross_host`
  // false stops at a redirect to another host and returns that 3xx (HEAD metadata, as
  // huggingface_hub does). One attempt: a TransferFailure comes back in `failure`.
  HttpResponse request(const std::string &method, const std::string &url, int64_t range_from,
                       const std::function<bool(long status, const char *, size_t)> &on_body,
                       const std::function<bool()> &should_abort, std::optional<TransferFailure> &failure,
                       bool follow_cross_host = true) const;

  // A small GET (API JSON), retried on 5xx/429 and dropped connections; throws qs::Error when
  // every attempt failed below HTTP.
  HttpResponse get_text(const std::string &url) const;

  // The wait before retry `attempt` (1-based), and the sleep itself.
  double backoff_before(int attempt) const;

 private:
  std::string endpoint_;
  std::string endpoint_origin_;
  std::optional<std::string> token_;
  HubClientOptions options_;
};

bool http_status_retryable(long status);  // 5xx and 429

}  // namespace qs
