// The small pure checks that keep the API to the person who started the server: which host names
// mean "this machine", whose Origin may write, the access token, the body's content type. The
// request gate (request_gate.h) applies them; tests call them directly.
#pragma once

#include <string>
#include <string_view>

namespace qs::server {

// A bind address that only this machine can reach: 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(std::string_view host);

// A Host header naming this machine by a loopback name (localhost, 127.0.0.1, [::1]), with any
// port or none. A server bound to loopback answers only these: a page of another site whose name
// was re-pointed at 127.0.0.1 (DNS rebinding) sends its own name.
bool is_loopback_host_header(std::string_view host_header);

// Whether an Origin header is the server's own origin, "http://" + the Host the browser used.
bool is_own_origin(std::string_view origin, std::string_view host_header);

// Compares in time independent of where the strings differ (the length still shows).
bool constant_time_equal(std::string_view a, std::string_view b);

// The token of "Bearer <token>" (scheme in any case), or "" for anything else.
std::string bearer_token(std::string_view authorization);

// "application/json", with or without parameters ("; charset=utf-8"), in any case.
bool is_json_content_type(std::string_view content_type);

// 32 hex digits from /dev/urandom. Throws qs::Error when it cannot be read.
std::string random_token();

// The address to open: http://host:port/ and, with a token, #token=<token> (a fragment never
// leaves the browser, so the token is not in any server log or Referer).
std::string browser_url(const std::string &host, int port, const std::string &token);

}  // namespace qs::server
