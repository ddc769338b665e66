#pragma once
// Absolute http(s) URLs as the registry client needs them: parsing the
// registry's base URL, resolving Location and Link values (absolute,
// scheme-relative, absolute-path or relative) against the URL of the request
// that returned them, and adding query parameters to URLs that may already
// carry a query (registry:2 upload URLs end in `?_state=...`).
#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace pier::client {

struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // lower-cased; an IPv6 literal without brackets
  uint16_t port = 0;   // always set (80/443 when the URL omits it)
  std::string target;  // path + optional "?query", starting with '/'; no fragment

  // Parses an absolute http or https URL. InvalidArgument when the scheme is
  // missing or another, the host is empty, the port is not a number in
  // 1..65535, or user-info ("user:pass@") is present.
  static Result<Url> Parse(std::string_view text);

  // Resolves a URI reference (RFC 3986 section 5) against this URL:
  // "https://h/x", "//h/x", "/x", "x", "../x", "?q". InvalidArgument when the
  // reference is absolute but not http(s), or empty.
  Result<Url> Resolve(std::string_view reference) const;

  // "https://host:port" with the port always present: the key for connection
  // pooling and for deciding where credentials may be sent.
  std::string Origin() const;
  // The Host header value: host, bracketed when IPv6, with ":port" unless
  // the port is the scheme's default.
  std::string HostHeader() const;
  // The whole URL (default ports omitted).
  std::string str() const;
  // Path and query separately ("/a/b", "x=1&y=2"; query without '?').
  std::string_view path() const;
  std::string_view query() const;
  bool tls() const { return scheme == "https"; }

  // Appends `key=value` (value percent-encoded) with '?' or '&' as needed.
  void AddQuery(std::string_view key, std::string_view value);
};

// Percent-encodes everything but RFC 3986 unreserved characters.
std::string QueryEscape(std::string_view s);

}  // namespace pier::client
