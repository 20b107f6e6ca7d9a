// HttpServer over cpp-httplib. Every route runs inside one wrapper that turns exceptions into JSON
// errors, so handlers only parse, call and serialise.
#include "server/http_server.h"

#include <httplib.h>

#include <cstdio>
#include <regex>

#include "core/error.h"
#include "server/http_error.h"

namespace qs::server {
namespace {

// Enough workers for a few open event streams beside ordinary requests.
constexpr size_t kWorkerThreads = 32;

bool same_letters(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

struct CompiledPattern {
  std::string regex;
  std::vector<std::string> names;
};

// "/api/jobs/{id}" -> ^/api/jobs/([^/]+)$ with names {"id"}; a final "*" matches any rest.
CompiledPattern compile_pattern(const std::string &pattern) {
  CompiledPattern out;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '{') {
      const size_t close = pattern.find('}', i);
      if (close == std::string::npos) fail("route pattern '", pattern, "': '{' without '}'");
      out.names.push_back(pattern.substr(i + 1, close - i - 1));
      out.regex += "([^/]+)";
      i = close;
    } else if (c == '*' && i + 1 == pattern.size()) {
      out.regex += ".*";
    } else {
      if (std::string_view(".^$|()[]{}*+?\\").find(c) != std::string_view::npos) out.regex += '\\';
      out.regex += c;
    }
  }
  return out;
}

HttpRequest to_request(const httplib::Request &req, const std::vector<std::string> &names) {
  HttpRequest out;
  out.method = req.method;
  out.path = req.path;
  out.body = req.body;
  for (const auto &[key, value] : req.params) out.query.emplace(key, value);
  for (const auto &[key, value] : req.headers) out.headers.emplace_back(key, value);
  for (size_t i = 0; i < names.size() && i + 1 < req.matches.size(); ++i) out.path_params[names[i]] = req.matches[i + 1];
  return out;
}

void write_error(httplib::Response &res, int status, const std::string &message, const std::string &field = {}) {
  res.status = status;
  res.set_content(error_json(message, field).dump(), "application/json");
}

void write_response(httplib::Response &res, HttpResponse response) {
  res.status = response.status;
  for (const auto &[key, value] : response.headers) res.set_header(key.c_str(), value);
  if (!response.stream) {
    if (!response.content_type.empty() || !response.body.empty())  // a 304 has neither
      res.set_content(std::move(response.body), response.content_type.c_str());
    return;
  }
  res.set_chunked_content_provider(response.content_type.c_str(),
                                   [step = std::move(response.stream)](size_t, httplib::DataSink &sink) {
                                     const StreamWrite write = [&sink](std::string_view text) {
                                       return sink.is_writable() && sink.write(text.data(), text.size());
                                     };
                                     if (!step(write)) sink.done();
                                     return true;
                                   });
}

// The one place a failure becomes an answer: HttpError keeps its status, qs::Error is the client's
// fault (400), anything else is ours (500, without internals; the details go to stderr).
void answer_exception(httplib::Response &res, std::exception_ptr error) {
  try {
    std::rethrow_exception(error);
  } catch (const HttpError &e) {
    write_error(res, e.status(), e.what(), e.field());
  } catch (const Error &e) {
    write_error(res, 400, e.what());
  } catch (const std::exception &e) {
    std::fprintf(stderr, "quantscope serve: internal error: %s\n", e.what());
    write_error(res, 500, "internal server error");
  } catch (...) {
    write_error(res, 500, "internal server error");
  }
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  for (const auto &[key, value] : headers)
    if (same_letters(key, name)) return value;
  return {};
}

bool HttpRequest::has_header(std::string_view name) const {
  for (const auto &[key, value] : headers)
    if (same_letters(key, name)) return true;
  return false;
}

std::string HttpRequest::query_param(std::string_view name) const {
  const auto found = query.find(std::string(name));
  return found == query.end() ? std::string() : found->second;
}

bool HttpRequest::has_query(std::string_view name) const { return query.count(std::string(name)) > 0; }

const std::string &HttpRequest::path_param(const std::string &name) const {
  const auto found = path_params.find(name);
  if (found == path_params.end()) fail("route has no path parameter '", name, "'");
  return found->second;
}

HttpResponse HttpResponse::json(const nlohmann::json &value, int status) {
  HttpResponse r;
  r.status = status;
  r.body = value.dump();
  return r;
}

HttpResponse HttpResponse::ordered_json(const nlohmann::ordered_json &value, int status) {
  HttpResponse r;
  r.status = status;
  r.body = value.dump();
  return r;
}

nlohmann::json error_json(const std::string &message, const std::string &field) {
  nlohmann::json error = {{"message", message}};
  if (!field.empty()) error["field"] = field;
  return {{"error", error}};
}

struct HttpServer::Impl {
  httplib::Server server;
  Gate gate;
};

HttpServer::HttpServer() : impl_(std::make_unique<Impl>()) {
  auto &server = impl_->server;
  server.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
  server.set_pre_routing_handler([this](const httplib::Request &req, httplib::Response &res) {
    if (!impl_->gate) return httplib::Server::HandlerResponse::Unhandled;
    try {
      impl_->gate(to_request(req, {}));
      return httplib::Server::HandlerResponse::Unhandled;
    } catch (...) {
      answer_exception(res, std::current_exception());
      // The body was not read: the connection cannot carry another request.
      res.set_header("Connection", "close");
      return httplib::Server::HandlerResponse::Handled;
    }
  });
  // Answers the library gives itself (no route, body too large, unreadable request) as JSON too.
  server.set_error_handler(httplib::Server::HandlerWithResponse([](const httplib::Request &, httplib::Response &res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const std::string message = res.status == 404   ? "no such route"
                                : res.status == 413 ? "request body too large"
                                : res.status >= 500 ? "internal server error"
                                                    : "bad request";
    write_error(res, res.status, message);
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const httplib::Request &, httplib::Response &res, std::exception_ptr error) {
    answer_exception(res, error);
  });
}

HttpServer::~HttpServer() = default;

void HttpServer::route(const std::string &method, const std::string &pattern, Handler handler) {
  const CompiledPattern compiled = compile_pattern(pattern);
  auto wrapped = [handler = std::move(handler), names = compiled.names](const httplib::Request &req,
                                                                          httplib::Response &res) {
    try {
      write_response(res, handler(to_request(req, names)));
    } catch (...) {
      answer_exception(res, std::current_exception());
    }
  };
  auto &server = impl_->server;
  if (method == "GET") server.Get(compiled.regex, wrapped);
  else if (method == "POST") server.Post(compiled.regex, wrapped);
  else if (method == "PUT") server.Put(compiled.regex, wrapped);
  else if (method == "DELETE") server.Delete(compiled.regex, wrapped);
  else fail("route ", pattern, ": unsupported method '", method, "'");
}

void HttpServer::set_gate(Gate gate) { impl_->gate = std::move(gate); }

void HttpServer::set_max_body_bytes(size_t bytes) { impl_->server.set_payload_max_length(bytes); }

int HttpServer::bind(const std::string &host, int port) {
  const int bound = port == 0 ? impl_->server.bind_to_any_port(host)
                              : (impl_->server.bind_to_port(host, port) ? port : -1);
  if (bound < 0) fail("--host/--port: cannot listen on ", host, ":", port, " (in use, or not an address of this machine)");
  return bound;
}

void HttpServer::run() { impl_->server.listen_after_bind(); }

void HttpServer::stop() { impl_->server.stop(); }

}  // namespace qs::server
