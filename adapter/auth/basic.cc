// Basic authorization header parsing (RFC 7617) and base64 decoding.
#include "adapter/auth/basic.h"

#include <openssl/crypto.h>

#include <utility>

#include "base/text.h"

namespace pier::auth {
namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

}  // namespace

BasicCredentials::~BasicCredentials() {
  if (!password.empty()) OPENSSL_cleanse(password.data(), password.size());
}

bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  size_t padding = 0;
  while (!in.empty() && in.back() == '=' && padding < 2) {
    in.remove_suffix(1);
    ++padding;
  }
  if (padding > 0 && (in.size() + padding) % 4 != 0) return false;
  if (in.size() % 4 == 1) return false;
  out->reserve(in.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = Base64Value(c);
    if (v < 0) {
      OPENSSL_cleanse(out->data(), out->size());
      out->clear();
      return false;
    }
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return true;
}

Result<BasicCredentials> ParseBasicAuthorization(std::string_view value) {
  value = TrimSpaces(value);
  size_t sp = 0;
  while (sp < value.size() && !IsSpaceOrTab(value[sp])) ++sp;
  if (!EqualsNoCase(value.substr(0, sp), "Basic")) {
    return Status::InvalidArgument("unsupported authorization scheme; only Basic is accepted");
  }
  std::string_view token = TrimSpaces(value.substr(sp));
  if (token.empty()) return Status::InvalidArgument("malformed Basic credentials: missing");
  for (char c : token) {
    if (IsSpaceOrTab(c)) return Status::InvalidArgument("malformed Basic credentials");
  }
  BasicCredentials creds;
  std::string decoded;
  if (!DecodeBase64(token, &decoded))
    return Status::InvalidArgument("malformed Basic credentials: bad base64");
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) {
    OPENSSL_cleanse(decoded.data(), decoded.size());
    return Status::InvalidArgument("malformed Basic credentials: expected user:password");
  }
  creds.user.assign(decoded, 0, colon);
  creds.password.assign(decoded, colon + 1, std::string::npos);
  OPENSSL_cleanse(decoded.data(), decoded.size());
  return creds;
}

}  // namespace pier::auth
