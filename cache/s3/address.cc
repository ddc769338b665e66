#include "cache/s3/address.h"

#include <cstdint>

#include "cache/s3/sigv4.h"

namespace pier::s3 {
namespace {

// Length of the UTF-8 sequence starting at s[i], 0 when invalid (overlong
// forms, surrogates and code points past U+10FFFF included).
size_t Utf8Length(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n;
  uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2, cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3, cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4, cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(k) & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b(k) & 0x3F);
  }
  if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF)) {
    return 0;
  }
  return n;
}

Status CheckText(std::string_view what, std::string_view s) {
  if (s.size() > kMaxKeyBytes) return Status::InvalidArgument(std::string(what) + " longer than 1024 bytes");
  for (size_t i = 0; i < s.size();) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7F) return Status::InvalidArgument(std::string(what) + " has a control character");
    const size_t n = Utf8Length(s, i);
    if (n == 0) return Status::InvalidArgument(std::string(what) + " is not valid UTF-8");
    i += n;
  }
  return Status::OK();
}

// No empty, "." or ".." segment; `trailing_slash_ok` for prefixes ("dir/").
Status CheckSegments(std::string_view what, std::string_view s, bool trailing_slash_ok) {
  size_t start = 0;
  while (true) {
    size_t slash = s.find('/', start);
    std::string_view seg = s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    const bool last = slash == std::string_view::npos;
    if (seg == "." || seg == "..") return Status::InvalidArgument(std::string(what) + " has a '.' or '..' segment");
    if (seg.empty() && !(last && trailing_slash_ok)) {
      return Status::InvalidArgument(std::string(what) + " has an empty segment (leading, trailing or double '/')");
    }
    if (last) return Status::OK();
    start = slash + 1;
  }
}

bool IsIpLiteral(std::string_view host) {
  if (host.find(':') != std::string_view::npos) return true;  // IPv6
  for (char c : host) {
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

}  // namespace

Status ValidateKey(std::string_view key) {
  if (key.empty()) return Status::InvalidArgument("S3 key is empty");
  PIER_TRY(CheckText("S3 key", key));
  return CheckSegments("S3 key", key, false);
}

Status ValidatePrefix(std::string_view prefix) {
  if (prefix.empty()) return Status::OK();
  PIER_TRY(CheckText("S3 prefix", prefix));
  return CheckSegments("S3 prefix", prefix, true);
}

Status ValidateBucket(std::string_view b) {
  const auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (b.size() < 3 || b.size() > 63 || !alnum(b.front()) || !alnum(b.back())) {
    return Status::InvalidArgument("bucket: 3 to 63 characters, starting and ending with a letter or digit");
  }
  for (char c : b) {
    if (!alnum(c) && c != '-' && c != '.') return Status::InvalidArgument("bucket: only a-z, 0-9, '-' and '.'");
  }
  if (b.find("..") != std::string_view::npos) return Status::InvalidArgument("bucket: no '..'");
  return Status::OK();
}

Result<Addressing> Addressing::Create(std::string_view endpoint, std::string_view bucket, bool path_style) {
  auto url = client::Url::Parse(endpoint);
  if (!url.ok()) return Status::InvalidArgument("endpoint: " + url.status().message());
  if (url->target != "/") return Status::InvalidArgument("endpoint: no path or query allowed");
  PIER_TRY(ValidateBucket(bucket));
  Addressing a;
  a.base_ = std::move(url).value();
  a.bucket_ = std::string(bucket);
  a.path_style_ = path_style;
  if (!path_style) {
    if (IsIpLiteral(a.base_.host)) {
      return Status::InvalidArgument("endpoint: virtual-hosted addressing (path_style false) needs a host name");
    }
    a.base_.host = a.bucket_ + "." + a.base_.host;
  }
  return a;
}

Target Addressing::For(std::string_view key, const Query& query) const {
  Target t;
  t.url = base_;
  t.sign_path = path_style_ ? "/" + bucket_ + (key.empty() ? "" : "/") : "/";
  t.sign_path += key;
  t.url.target = UriEncode(t.sign_path, true);
  char sep = '?';
  for (const auto& [k, v] : query) {
    t.url.target += sep;
    t.url.target += UriEncode(k, false);
    // A bare flag ("?uploads", "?delete") signs as "uploads=" either way.
    if (!v.empty()) t.url.target += "=" + UriEncode(v, false);
    sep = '&';
  }
  return t;
}

std::string Addressing::CopySource(std::string_view key) const {
  return "/" + bucket_ + "/" + UriEncode(key, true);
}

}  // namespace pier::s3
