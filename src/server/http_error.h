// Errors a handler throws to answer with a status other than 400: the route wrapper
// (http_server.cpp) turns each into `{"error": {"message", "field"}}` with its status. A plain
// qs::Error is a 400 (bad input); any other exception a 500 with a generic message.
#pragma once

#include <string>
#include <utility>

#include "core/error.h"

namespace qs::server {

class HttpError : public Error {
 public:
  HttpError(int status, std::string message, std::string field = {})
      : Error(std::move(message)), status_(status), field_(std::move(field)) {}
  int status() const { return status_; }
  const std::string &field() const { return field_; }  // empty when no one field is at fault

 private:
  int status_;
  std::string field_;
};

// Named by what went wrong, so a handler reads as the contract (docs/api.md, "Conventions").
inline HttpError bad_request(std::string message, std::string field = {}) {
  return HttpError(400, std::move(message), std::move(field));
}
inline HttpError unauthorized(std::string message) { return HttpError(401, std::move(message)); }
inline HttpError forbidden(std::string message, std::string field = {}) {
  return HttpError(403, std::move(message), std::move(field));
}
inline HttpError not_found(std::string message, std::string field = {}) {
  return HttpError(404, std::move(message), std::move(field));
}
inline HttpError conflict(std::string message) { return HttpError(409, std::move(message)); }
inline HttpError payload_too_large(std::string message) { return HttpError(413, std::move(message)); }
inline HttpError unsupported_media_type(std::string message) { return HttpError(415, std::move(message)); }

}  // namespace qs::server
