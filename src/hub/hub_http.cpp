// libcurl behind HubHttp: one easy handle per request, redirects followed here (never by curl) so
// that each hop decides again whether it may carry the token.
#include "hub/hub_http.h"

#include <curl/curl.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "core/error.h"
#include "hub/hub_auth.h"

namespace qs {
namespace {

constexpr int kMaxRedirects = 10;
constexpr size_t kMaxErrorBody = 64 * 1024;

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

double env_number(const char *name, double fallback) {
  const char *value = std::getenv(name);
  if (!value || !*value) return fallback;
  char *end = nullptr;
  const double parsed = std::strtod(value, &end);
  if (end == value || *end != '\0' || parsed < 0) fail(name, "=", value, ": expected a number >= 0");
  return parsed;
}

struct Transfer {
  CURL *curl = nullptr;
  HttpResponse *response = nullptr;
  const std::function<bool(long, const char *, size_t)> *on_body = nullptr;
  const std::function<bool()> *should_abort = nullptr;
  bool write_failed = false;
  bool aborted = false;
};

size_t on_header(char *data, size_t size, size_t n, void *user) {
  auto *t = static_cast<Transfer *>(user);
  std::string line(data, size * n);
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
  if (line.rfind("HTTP/", 0) == 0) {
    t->response->headers.clear();  // a new response (e.g. after "100 Continue")
  } else if (const auto colon = line.find(':'); colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t"));
    t->response->headers[name] = value;
  }
  return size * n;
}

size_t on_write(char *data, size_t size, size_t n, void *user) {
  auto *t = static_cast<Transfer *>(user);
  const size_t bytes = size * n;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  if (status >= 200 && status < 300 && *t->on_body) {
    if (!(*t->on_body)(status, data, bytes)) {
      t->write_failed = true;
      return 0;  // curl stops with CURLE_WRITE_ERROR
    }
  } else if (status >= 200 && status < 300) {
    t->response->body.append(data, bytes);
  } else if (t->response->body.size() < kMaxErrorBody) {  // an error page: its start is enough
    t->response->body.append(data, std::min(bytes, kMaxErrorBody - t->response->body.size()));
  }
  return bytes;
}

int on_progress(void *user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto *t = static_cast<Transfer *>(user);
  if (*t->should_abort && (*t->should_abort)()) {
    t->aborted = true;
    return 1;
  }
  return 0;
}

}  // namespace

HubClientOptions HubClientOptions::from_environment() {
  HubClientOptions options;
  options.timeout_seconds = env_number("QUANTSCOPE_HUB_TIMEOUT_SECONDS", options.timeout_seconds);
  options.max_retries = static_cast<int>(env_number("QUANTSCOPE_HUB_RETRIES", options.max_retries));
  options.backoff_seconds = env_number("QUANTSCOPE_HUB_BACKOFF_SECONDS", options.backoff_seconds);
  return options;
}

bool http_status_retryable(long status) { return status == 429 || (status >= 500 && status <= 599); }

HubHttp::HubHttp(std::string endpoint, std::optional<std::string> token, HubClientOptions options)
    : endpoint_(std::move(endpoint)), endpoint_origin_(url_origin(endpoint_)), token_(std::move(token)),
      options_(options) {
  global_init();
}

double HubHttp::backoff_before(int attempt) const {
  double wait = options_.backoff_seconds;
  for (int i = 1; i < attempt; ++i) wait *= 2;
  return std::min(wait, 30.0);
}

HttpResponse HubHttp::request(const std::string &method, const std::string &url, int64_t range_from,
                              const std::function<bool(long status, const char *, size_t)> &on_body,
                              const std::function<bool()> &should_abort, std::optional<TransferFailure> &failure,
                              bool follow_cross_host) const {
  failure.reset();
  std::string current = url;
  HttpResponse response;
  for (int hop = 0; hop <= kMaxRedirects; ++hop) {
    response = HttpResponse{};
    response.url = current;
    CURL *curl = curl_easy_init();
    if (!curl) fail("libcurl could not start a transfer");
    Transfer t{curl, &response, &on_body, &should_abort};
    curl_slist *headers = nullptr;
    // The token goes to the endpoint's own host only: an LFS download redirects to a CDN.
    const bool send_token = token_ && url_origin(current) == endpoint_origin_;
    std::string auth;
    if (send_token) {
      auth = "Authorization: Bearer " + *token_;
      headers = curl_slist_append(headers, auth.c_str());
    }
    headers = curl_slist_append(headers, "Accept-Encoding: identity");  // byte offsets must be the file's
    std::string range;
    if (range_from > 0) {
      range = "Range: bytes=" + std::to_string(range_from) + "-";
      headers = curl_slist_append(headers, range.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_URL, current.c_str());
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "quantscope/0.1");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    if (method == "HEAD") curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    const long timeout = std::max(1L, static_cast<long>(options_.timeout_seconds + 0.5));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);  // less than a byte a second for `timeout`: stalled
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, timeout);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, &t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    const CURLcode code = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    char *location = nullptr;
    std::string next;
    if (curl_easy_getinfo(curl, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location) next = location;
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);

    if (code != CURLE_OK) {
      TransferFailure f;
      f.aborted = t.aborted;
      f.write_failed = t.write_failed;
      f.timed_out = code == CURLE_OPERATION_TIMEDOUT;
      // The URL is safe to name (it holds no token); the message is curl's.
      f.what = cat(method, " ", current, ": ", f.timed_out ? "timed out (no data for " + std::to_string(timeout) + " s)"
                                                           : std::string(curl_easy_strerror(code)));
      failure = f;
      return response;
    }
    const bool redirect = response.status >= 300 && response.status < 400 && !next.empty();
    if (!redirect) return response;
    if (!follow_cross_host && url_origin(next) != url_origin(current)) return response;
    current = next;
  }
  fail(method, " ", url, ": more than ", kMaxRedirects, " redirects");
}

HttpResponse HubHttp::get_text(const std::string &url) const {
  for (int attempt = 0;; ++attempt) {
    std::optional<TransferFailure> failure;
    HttpResponse response = request("GET", url, 0, {}, {}, failure);
    const bool retry = failure ? true : http_status_retryable(response.status);
    if (!retry || attempt >= options_.max_retries) {
      if (failure) fail(failure->what, " (after ", attempt + 1, " attempts)");
      return response;
    }
    std::this_thread::sleep_for(std::chrono::duration<double>(backoff_before(attempt + 1)));
  }
}

}  // namespace qs
