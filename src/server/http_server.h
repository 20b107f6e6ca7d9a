// The one class that knows the HTTP library (cpp-httplib): a route table of (method, pattern,
// handler), a gate that sees every request's headers before its body is read, JSON errors for
// every failure, and chunked streams for server-sent events. Nothing else includes httplib.h.
#pragma once

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace qs::server {

struct HttpRequest {
  std::string method;
  std::string path;         // without the query
  std::string body;
  std::map<std::string, std::string> path_params;  // the pattern's {name} parts
  std::multimap<std::string, std::string> query;
  std::vector<std::pair<std::string, std::string>> headers;

  // Header lookup ignores case; "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  std::string query_param(std::string_view name) const;  // "" when absent
  bool has_query(std::string_view name) const;
  const std::string &path_param(const std::string &name) const;
};

// What a stream step writes through; false once the client is gone.
using StreamWrite = std::function<bool(std::string_view text)>;
// Called again and again until it returns false (the stream then ends).
using StreamStep = std::function<bool(const StreamWrite &write)>;

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  StreamStep stream;  // set: the body is this chunked stream instead

  static HttpResponse json(const nlohmann::json &value, int status = 200);
  static HttpResponse ordered_json(const nlohmann::ordered_json &value, int status = 200);  // keys in order
};

// `{"error": {"message": ..., "field": ...}}` (field only when given).
nlohmann::json error_json(const std::string &message, const std::string &field = {});

using Handler = std::function<HttpResponse(const HttpRequest &request)>;
// Sees each request's method, path, query and headers before routing and before the body is read;
// throws (HttpError) to refuse it.
using Gate = std::function<void(const HttpRequest &request)>;

class HttpServer {
 public:
  HttpServer();
  ~HttpServer();
  HttpServer(const HttpServer &) = delete;
  HttpServer &operator=(const HttpServer &) = delete;

  // pattern: a literal path with {name} parts matching one path segment ("/api/jobs/{id}"), or
  // ending in "*" for any rest ("/*"). Routes are tried in the order they were added.
  void route(const std::string &method, const std::string &pattern, Handler handler);
  void set_gate(Gate gate);
  void set_max_body_bytes(size_t bytes);  // larger bodies: 413

  // Binds; returns the port (the chosen one when port is 0). Throws qs::Error when it cannot.
  int bind(const std::string &host, int port);
  void run();   // serves until stop(); returns once every connection has ended
  void stop();  // from any thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace qs::server
