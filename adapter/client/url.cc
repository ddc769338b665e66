#include "adapter/client/url.h"

#include <charconv>
#include <vector>

#include "base/text.h"

namespace pier::client {
namespace {

uint16_t DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// A host name or IPv4 address (RFC 3986 reg-name without sub-delims), or,
// when `ipv6`, the inside of an IPv6 literal. Anything else ("][::1",
// "[name]", a space, CR/LF) would not survive str() and HostHeader() (found
// by tests/fuzz).
bool IsHostText(std::string_view host, bool ipv6) {
  if (ipv6 && host.find(':') == std::string_view::npos) return false;  // "[name]" is no literal
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
              (ipv6 ? c == ':' || c == '%' : c == '-' || c == '_' || c == '~');
    if (!ok) return false;
  }
  return true;
}

// Removes "." and ".." segments (RFC 3986 section 5.2.4).
std::string RemoveDotSegments(std::string_view path) {
  std::vector<std::string_view> out;
  size_t i = 0;
  bool absolute = !path.empty() && path[0] == '/';
  if (absolute) i = 1;
  bool trailing = false;
  while (i <= path.size()) {
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    std::string_view seg = path.substr(i, j - i);
    trailing = false;
    if (seg == ".") {
      trailing = true;
    } else if (seg == "..") {
      if (!out.empty()) out.pop_back();
      trailing = true;
    } else {
      out.push_back(seg);
    }
    i = j + 1;
  }
  std::string result = absolute ? "/" : "";
  for (size_t k = 0; k < out.size(); ++k) {
    if (k) result += '/';
    result += out[k];
  }
  if (trailing && (result.empty() || result.back() != '/')) result += '/';
  return result;
}

}  // namespace

Result<Url> Url::Parse(std::string_view text) {
  size_t colon = text.find("://");
  if (colon == std::string_view::npos)
    return Status::InvalidArgument("URL without scheme: " + std::string(text));
  Url u;
  u.scheme = AsciiLower(text.substr(0, colon));
  if (u.scheme != "http" && u.scheme != "https") {
    return Status::InvalidArgument("URL scheme must be http or https: " + std::string(text));
  }
  std::string_view rest = text.substr(colon + 3);
  size_t end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, end);
  std::string_view target = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return Status::InvalidArgument("URL with user-info is not accepted (give credentials separately)");
  }
  std::string_view host = authority;
  std::string_view port;
  if (!authority.empty() && authority[0] == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("URL with unclosed IPv6 literal");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') return Status::InvalidArgument("URL with junk after IPv6 literal");
      port = after.substr(1);
    }
  } else if (size_t c = authority.rfind(':'); c != std::string_view::npos) {
    host = authority.substr(0, c);
    port = authority.substr(c + 1);
  }
  if (host.empty()) return Status::InvalidArgument("URL without host: " + std::string(text));
  if (!IsHostText(host, !authority.empty() && authority[0] == '['))
    return Status::InvalidArgument("URL with a malformed host: " + std::string(text));
  u.host = AsciiLower(host);
  u.port = DefaultPort(u.scheme);
  if (!port.empty()) {
    unsigned p = 0;
    auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || ptr != port.data() + port.size() || p == 0 || p > 65535) {
      return Status::InvalidArgument("URL with bad port: " + std::string(text));
    }
    u.port = static_cast<uint16_t>(p);
  }
  if (size_t hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  if (target.empty() || target[0] == '?') {
    u.target = "/" + std::string(target);
  } else {
    u.target = std::string(target);
  }
  return u;
}

Result<Url> Url::Resolve(std::string_view ref) const {
  if (size_t hash = ref.find('#'); hash != std::string_view::npos) ref = ref.substr(0, hash);
  if (ref.empty()) return Status::InvalidArgument("empty URL reference");
  // A scheme is letters/digits/+-. before the first ':' that precedes any '/', '?'.
  size_t colon = ref.find(':');
  size_t delim = ref.find_first_of("/?");
  if (colon != std::string_view::npos && (delim == std::string_view::npos || colon < delim) && colon > 0) {
    return Parse(ref);
  }
  if (ref.substr(0, 2) == "//") return Parse(scheme + ":" + std::string(ref));
  Url out = *this;
  std::string_view base_path = path();
  if (ref[0] == '/') {
    size_t q = ref.find('?');
    std::string p = RemoveDotSegments(ref.substr(0, q));
    out.target = p + (q == std::string_view::npos ? std::string() : std::string(ref.substr(q)));
    return out;
  }
  if (ref[0] == '?') {
    out.target = std::string(base_path) + std::string(ref);
    return out;
  }
  // Relative path: merge with the base path's directory.
  size_t q = ref.find('?');
  std::string_view rel = ref.substr(0, q);
  size_t slash = base_path.rfind('/');
  std::string merged = std::string(base_path.substr(0, slash == std::string_view::npos ? 0 : slash + 1));
  if (merged.empty()) merged = "/";
  merged += rel;
  out.target =
      RemoveDotSegments(merged) + (q == std::string_view::npos ? std::string() : std::string(ref.substr(q)));
  return out;
}

std::string Url::Origin() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return scheme + "://" + h + ":" + std::to_string(port);
}

std::string Url::HostHeader() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port != DefaultPort(scheme)) h += ":" + std::to_string(port);
  return h;
}

std::string Url::str() const { return scheme + "://" + HostHeader() + target; }

std::string_view Url::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::string_view Url::query() const {
  std::string_view t = target;
  size_t q = t.find('?');
  return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

void Url::AddQuery(std::string_view key, std::string_view value) {
  if (target.find('?') == std::string::npos) {
    target += '?';
  } else if (target.back() != '?' && target.back() != '&') {
    target += '&';
  }
  target += QueryEscape(key);
  target += '=';
  target += QueryEscape(value);
}

std::string QueryEscape(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace pier::client
