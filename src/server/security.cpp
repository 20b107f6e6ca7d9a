// The server's security checks, as pure functions.
#include "server/security.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <fstream>

#include "core/error.h"

namespace qs::server {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// "host:port" -> "host"; "[::1]:8080" -> "[::1]". False when the port part is not digits.
bool split_host_port(std::string_view host_header, std::string &host) {
  size_t colon = std::string_view::npos;
  if (!host_header.empty() && host_header.front() == '[') {
    const size_t close = host_header.find(']');
    if (close == std::string_view::npos) return false;
    if (close + 1 < host_header.size()) {
      if (host_header[close + 1] != ':') return false;
      colon = close + 1;
    }
  } else {
    colon = host_header.find(':');
  }
  host = lower(host_header.substr(0, colon));
  if (colon == std::string_view::npos) return true;
  const std::string_view port = host_header.substr(colon + 1);
  return !port.empty() && port.size() <= 5 &&
         std::all_of(port.begin(), port.end(), [](unsigned char c) { return std::isdigit(c); });
}

}  // namespace

bool is_loopback_host(std::string_view host) {
  const std::string h = lower(host);
  if (h == "localhost" || h == "::1" || h == "[::1]") return true;
  // 127.0.0.0/8, written as a dotted quad.
  unsigned a = 0, b = 0, c = 0, d = 0;
  char tail = 0;
  return std::sscanf(h.c_str(), "%u.%u.%u.%u%c", &a, &b, &c, &d, &tail) == 4 && a == 127 && b < 256 && c < 256 && d < 256;
}

bool is_loopback_host_header(std::string_view host_header) {
  std::string host;
  if (!split_host_port(trim(host_header), host)) return false;
  return host == "localhost" || host == "127.0.0.1" || host == "[::1]";
}

bool is_own_origin(std::string_view origin, std::string_view host_header) {
  return !host_header.empty() && lower(trim(origin)) == "http://" + lower(trim(host_header));
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Walk the expected length whatever the input, so the time says nothing about a prefix.
  unsigned char difference = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < b.size(); ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    difference |= static_cast<unsigned char>(x ^ static_cast<unsigned char>(b[i]));
  }
  return difference == 0;
}

std::string bearer_token(std::string_view authorization) {
  authorization = trim(authorization);
  if (authorization.size() < 7 || lower(authorization.substr(0, 7)) != "bearer ") return {};
  return std::string(trim(authorization.substr(7)));
}

bool is_json_content_type(std::string_view content_type) {
  const std::string_view media = trim(content_type.substr(0, content_type.find(';')));
  return lower(media) == "application/json";
}

std::string random_token() {
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[16];
  if (!urandom.read(reinterpret_cast<char *>(bytes), sizeof bytes))
    fail("cannot read /dev/urandom to make an access token: pass --token");
  static const char kHex[] = "0123456789abcdef";
  std::string token;
  for (unsigned char byte : bytes) {
    token += kHex[byte >> 4];
    token += kHex[byte & 15];
  }
  return token;
}

std::string browser_url(const std::string &host, int port, const std::string &token) {
  const bool ipv6 = host.find(':') != std::string::npos;
  std::string url = cat("http://", ipv6 ? "[" + host + "]" : host, ":", port, "/");
  if (!token.empty()) url += "#token=" + token;
  return url;
}

}  // namespace qs::server
